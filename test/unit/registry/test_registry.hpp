// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_TEST_UNIT_REGISTRY_TEST_REGISTRY_HPP
#define PIER_TEST_UNIT_REGISTRY_TEST_REGISTRY_HPP

// The registry under test, served on 127.0.0.1 over real sockets, and the content the
// tests push: random layers, configs and manifests of every kind, built here.

#include "http_client.hpp"

#include <pier/core/digest.hpp>
#include <pier/core/media_type.hpp>
#include <pier/http/server.hpp>
#include <pier/registry/v2.hpp>

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace pier_test {

namespace mt = pier::media_types;

/// A server running `make_v2_handler(blobs, meta, opts)` on its own thread.
class registry_server {
public:
  template <class Blobs, class Meta>
  registry_server(Blobs& blobs, Meta& meta, pier::registry::v2_options opts = {})
      : registry_server(pier::registry::make_v2_handler(blobs, meta, opts)) {}

  /// A server running `h`: the registry behind something else (the auth gate, say).
  explicit registry_server(pier::http::handler h) {
    pier::http::server_options so;
    so.address = "127.0.0.1";
    so.port = 0;
    so.threads = 1;
    so.linger_timeout = std::chrono::milliseconds(500);
    server_ = std::make_unique<pier::http::server>(so, std::move(h));
    thread_ = std::thread([this] { server_->run(); });
  }
  ~registry_server() {
    server_->stop();
    thread_.join();
  }
  registry_server(registry_server const&) = delete;
  registry_server& operator=(registry_server const&) = delete;

  http_client client() const { return http_client(server_->port()); }

private:
  std::unique_ptr<pier::http::server> server_;
  std::thread thread_;
};

inline std::string random_bytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (char& c : s)
    c = static_cast<char>(rng());
  return s;
}

/// Bytes and their digest.
struct content {
  std::string bytes;
  pier::digest digest;
  std::string media_type;

  content() = default;
  content(std::string b, std::string_view type)
      : bytes(std::move(b)), digest(pier::digest_of(bytes)), media_type(type) {}

  /// The descriptor of this content, with `extra` JSON members appended.
  std::string descriptor(std::string_view extra = {}) const {
    std::string d = R"({"mediaType":")" + media_type + R"(","digest":")" + digest.str() +
                    R"(","size":)" + std::to_string(bytes.size());
    if (!extra.empty())
      d.append(",").append(extra);
    return d + "}";
  }
};

inline content layer(std::size_t size, std::uint64_t seed,
                     std::string_view type = mt::oci_layer_tar_gzip) {
  return content(random_bytes(size, seed), type);
}

inline content config(std::uint64_t seed, std::string_view type = mt::oci_config) {
  return content(R"({"architecture":"amd64","os":"linux","seed":)" + std::to_string(seed) + "}",
                 type);
}

/// An image manifest of the given kind (OCI or Docker schema 2) over `cfg` and `layers`;
/// `extra` JSON members are added at the end (subject, artifactType, annotations).
inline content image_manifest(content const& cfg, std::vector<content> const& layers,
                              std::string_view type = mt::oci_manifest,
                              std::string_view extra = {}) {
  std::string m = R"({"schemaVersion":2,"mediaType":")" + std::string(type) + R"(","config":)" +
                  cfg.descriptor() + R"(,"layers":[)";
  for (std::size_t i = 0; i < layers.size(); ++i)
    m.append(i ? "," : "").append(layers[i].descriptor());
  m += "]";
  if (!extra.empty())
    m.append(",").append(extra);
  return content(m + "}", type);
}

/// An index (OCI) or manifest list (Docker) of `children`, each for a platform.
inline content index_manifest(std::vector<content> const& children,
                              std::string_view type = mt::oci_index, std::string_view extra = {}) {
  std::string m = R"({"schemaVersion":2,"mediaType":")" + std::string(type) + R"(","manifests":[)";
  for (std::size_t i = 0; i < children.size(); ++i) {
    std::string const platform =
        R"("platform":{"architecture":"arch)" + std::to_string(i) + R"(","os":"linux"})";
    m.append(i ? "," : "").append(children[i].descriptor(platform));
  }
  m += "]";
  if (!extra.empty())
    m.append(",").append(extra);
  return content(m + "}", type);
}

/// Docker schema 1, unsigned, over `layers` (fsLayers, newest first).
inline content schema1_manifest(std::vector<content> const& layers, std::string_view name,
                                std::string_view tag) {
  std::string m = R"({"schemaVersion":1,"name":")" + std::string(name) + R"(","tag":")" +
                  std::string(tag) + R"(","architecture":"amd64","fsLayers":[)";
  std::string history;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    m.append(i ? "," : "").append(R"({"blobSum":")" + layers[i].digest.str() + R"("})");
    history.append(i ? "," : "")
        .append(R"({"v1Compatibility":"{\"id\":\")" + std::to_string(i) + R"(\"}"})");
  }
  m += R"(],"history":[)" + history + "]}";
  return content(m, mt::docker_manifest_v1);
}

inline std::string base64url(std::string_view in) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += alphabet[(acc >> bits) & 63U];
    }
  }
  if (bits > 0)
    out += alphabet[(acc << (6 - bits)) & 63U];
  return out;
}

/// The same manifest signed the way Docker signs schema 1 (a JWS whose protected header
/// says how to rebuild the payload; the signature itself is not checked). Its digest is
/// that of the payload, the manifest without `signatures`.
inline content signed_schema1(content const& unsigned_manifest, pier::digest* payload_digest) {
  std::string const& u = unsigned_manifest.bytes;
  std::string const body = u.substr(0, u.size() - 1); // without the closing brace
  std::string const tail = "}";
  std::string const protected_header = R"({"formatLength":)" + std::to_string(body.size()) +
                                       R"(,"formatTail":")" + base64url(tail) +
                                       R"(","time":"2015-04-08T18:52:59Z"})";
  std::string const s = body +
                        R"(,"signatures":[{"header":{"alg":"ES256"},"signature":"c2lnbmF0dXJl",)"
                        R"("protected":")" +
                        base64url(protected_header) + R"("}]})";
  *payload_digest = pier::digest_of(body + tail);
  return content(s, mt::docker_manifest_v1_signed);
}

/// An image: config, layers and the manifest over them.
struct image {
  content cfg;
  std::vector<content> layers;
  content manifest;

  image(content c, std::vector<content> l)
      : cfg(std::move(c)), layers(std::move(l)), manifest(image_manifest(cfg, layers)) {}
  /// With a config of its own, made from `seed`.
  image(std::uint64_t seed, std::vector<content> l) : image(config(seed), std::move(l)) {}

  /// The config and the layers.
  std::vector<content const*> blobs() const {
    std::vector<content const*> out{&cfg};
    for (content const& l : layers)
      out.push_back(&l);
    return out;
  }
  /// The bytes of the config and the layers.
  std::uint64_t size() const {
    std::uint64_t n = 0;
    for (content const* b : blobs())
      n += b->bytes.size();
    return n;
  }
};

// --- paths -------------------------------------------------------------------------------------

inline std::string uploads(std::string_view repo) {
  return "/v2/" + std::string(repo) + "/blobs/uploads/";
}
inline std::string blob_path(std::string_view repo, pier::digest const& d) {
  return "/v2/" + std::string(repo) + "/blobs/" + d.str();
}
inline std::string manifest_path(std::string_view repo, std::string_view ref) {
  return "/v2/" + std::string(repo) + "/manifests/" + std::string(ref);
}

// --- pushing with the client ---------------------------------------------------------------

/// Starts an upload session and returns its Location (empty when refused).
inline std::string start(http_client const& c, std::string_view repo) {
  reply const r = c.request("POST", uploads(repo));
  EXPECT_EQ(r.status, 202) << r.body;
  return r.header_or_empty("Location");
}

/// Monolithic single-POST upload; expects 201.
inline void push_blob(http_client const& c, std::string_view repo, content const& b) {
  reply const r = c.request("POST", uploads(repo) + "?digest=" + b.digest.str(),
                            {{"Content-Type", "application/octet-stream"}}, b.bytes);
  ASSERT_EQ(r.status, 201) << r.body;
}

inline reply put_manifest(http_client const& c, std::string_view repo, std::string_view ref,
                          content const& m, std::string_view content_type = {}) {
  std::string const type = content_type.empty() ? m.media_type : std::string(content_type);
  return c.request("PUT", manifest_path(repo, ref), {{"Content-Type", type}}, m.bytes);
}

/// Pushes the blobs of an image and its manifest under `tag`; expects 201.
inline void push_image(http_client const& c, std::string_view repo, std::string_view tag,
                       content const& cfg, std::vector<content> const& layers,
                       content const& manifest) {
  push_blob(c, repo, cfg);
  for (content const& l : layers)
    push_blob(c, repo, l);
  reply const r = put_manifest(c, repo, tag, manifest);
  ASSERT_EQ(r.status, 201) << r.body;
}

/// The `code` of the first error of an error body ("" when there is none).
inline std::string error_code(reply const& r) {
  std::size_t const at = r.body.find(R"("code":")");
  if (at == std::string::npos)
    return {};
  std::size_t const start = at + 8;
  return r.body.substr(start, r.body.find('"', start) - start);
}

} // namespace pier_test

#endif // PIER_TEST_UNIT_REGISTRY_TEST_REGISTRY_HPP
