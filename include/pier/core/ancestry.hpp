// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_CORE_ANCESTRY_HPP
#define PIER_CORE_ANCESTRY_HPP

/// @file
/// The Docker v1 image model: v1 image JSON, ancestry chains, and the layer ChainIDs and
/// synthetic v1 image IDs derived from a v2 image, so that v2 images can be served over
/// the v1 API.
///
/// @code
/// pier::result<pier::v1_image> img = pier::parse_v1_image(
///     R"({"id":"2b0fcb1d4c2ac07a8e1e2ab6b5b63d1d3e1e09a5f7d6b7c8f9a0b1c2d3e4f5a6","Size":0})");
/// assert(img && img->parent.empty() && img->size == 0);
/// @endcode
///
/// See https://github.com/moby/moby/blob/v1.9.1/image/spec/v1.md and
/// https://github.com/opencontainers/image-spec/blob/v1.1.0/config.md#layer-chainid

#include <pier/config.hpp>
#include <pier/core/digest.hpp>
#include <pier/core/hasher.hpp>
#include <pier/core/error.hpp>
#include <pier/core/result.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

PIER_BEGIN_NAMESPACE

/// Why v1 image JSON, an ancestry chain or a v2 image config is not acceptable.
///
/// `unknown_image` and `missing_parent` map to `oci_error::blob_unknown` (the registry
/// does not have an image it was asked for or that another image needs); the others to
/// `oci_error::manifest_invalid`.
enum class ancestry_error {
  invalid_json = 1,     ///< not JSON, or not a JSON object
  invalid_id,           ///< `id` missing or not 64 lower-case hex characters
  invalid_parent,       ///< `parent` not 64 lower-case hex characters
  invalid_created,      ///< `created` not an RFC 3339 date-time
  invalid_size,         ///< `Size` negative, fractional or too large
  invalid_field,        ///< another known member has the wrong JSON type
  duplicate_id,         ///< two images of one set have the same id
  unknown_image,        ///< the image whose ancestry was asked for is not known
  missing_parent,       ///< an image names a parent that is not known
  cycle,                ///< following parents leads back to an image already seen
  invalid_config,       ///< a v2 image config without valid `rootfs.diff_ids` or `history`
  layer_count_mismatch, ///< layers, `rootfs.diff_ids` and non-empty history entries disagree
};

/// The category of `ancestry_error`, named "pier.ancestry".
std::error_category const& ancestry_category() noexcept;

inline std::error_code make_error_code(ancestry_error e) noexcept {
  return {static_cast<int>(e), ancestry_category()};
}

/// Whether `id` is a v1 image id: exactly 64 lower-case hex characters, no algorithm.
///
/// @code
/// static_assert(!pier::is_v1_image_id("sha256:2b0fcb1d"));
/// @endcode
constexpr bool is_v1_image_id(std::string_view id) noexcept;

/// The JSON document of a Docker v1 image (`GET /v1/images/<id>/json`, and the
/// `v1Compatibility` strings of schema 1 manifests).
///
/// Empty strings and null JSON values stand for absent members and are not written back.
/// Members pier does not know are kept in `extra`, so parsing and serialising again loses
/// nothing but member order and insignificant whitespace.
///
/// See https://github.com/moby/moby/blob/v1.9.1/image/spec/v1.md#image-json-description
struct v1_image {
  std::string id;                      ///< 64 lower-case hex characters
  std::string parent;                  ///< the parent's id; empty for a root image
  std::string created;                 ///< RFC 3339 date-time; empty when absent
  std::string comment;                 ///<
  std::string author;                  ///<
  std::string container;               ///< id of the container the image was committed from
  boost::json::value container_config; ///< object or null; the container's config, as JSON
  boost::json::value config;           ///< object or null; defaults for containers, as JSON
  std::string docker_version;          ///<
  std::string architecture;            ///<
  std::string variant;                 ///<
  std::string os;                      ///<
  std::optional<std::int64_t> size;    ///< `Size`: bytes of the layer, when known
  std::string checksum;                ///< e.g. "tarsum+sha256:…", as old registries kept it
  bool throwaway = false;              ///< the layer is empty (a v2 `empty_layer` entry)
  boost::json::object extra;           ///< members not listed above

  friend bool operator==(v1_image const&, v1_image const&) = default;
};

/// Parses and validates v1 image JSON; never throws on bad input.
///
/// @code
/// auto bad = pier::parse_v1_image(R"({"id":"ABC"})");
/// assert(bad.error() == pier::ancestry_error::invalid_id);
/// @endcode
///
/// See https://github.com/moby/moby/blob/v1.9.1/image/spec/v1.md#image-json-description
result<v1_image> parse_v1_image(std::string_view json);

/// The same from an already parsed JSON object.
result<v1_image> parse_v1_image(boost::json::object const& json);

/// The image as a JSON object, in the member order Docker wrote, then `extra`.
boost::json::object to_json(v1_image const& image);

/// The image as compact JSON text.
std::string serialize(v1_image const& image);

/// The ancestry of an image: its id, its parent's, its grandparent's, … up to the root,
/// as `GET /v1/images/<id>/ancestry` returns it.
///
/// `lookup(id)` returns the image with that id, or null when there is none; the pointers
/// must stay valid until `ancestry` returns. Fails with `unknown_image` when `id` is not
/// known, `missing_parent` when an ancestor is not, and `cycle` when the parents loop.
///
/// @code
/// std::map<std::string, pier::v1_image, std::less<>> store = load();
/// auto ids = pier::ancestry(id, [&](std::string_view k) -> pier::v1_image const* {
///   auto it = store.find(k);
///   return it == store.end() ? nullptr : &it->second;
/// });
/// @endcode
template <class Lookup>
requires std::is_invocable_r_v<v1_image const*, Lookup&, std::string_view>
    result<std::vector<std::string>> ancestry(std::string_view id, Lookup&& lookup);

/// The ancestry of `id` within a set of images; also fails with `duplicate_id` when two
/// images of the set share an id.
///
/// @code
/// std::vector<pier::v1_image> images = {child, root};
/// assert(pier::ancestry(child.id, images).value() ==
///        (std::vector<std::string>{child.id, root.id}));
/// @endcode
result<std::vector<std::string>> ancestry(std::string_view id, std::span<v1_image const> images);

/// The ChainID of a layer on top of the stack `parent`: `diff_id` itself for the bottom
/// layer (`parent` empty), otherwise "sha256:" + SHA256hex(parent + " " + diff_id), where
/// both are written as "algorithm:hex" strings.
///
/// See https://github.com/opencontainers/image-spec/blob/v1.1.0/config.md#layer-chainid
digest chain_id(digest_view parent, digest_view diff_id);

/// The ChainIDs of every prefix of a layer stack, bottom layer first: for diff IDs
/// `[A, B, C]`, `[A, ChainID(A|B), ChainID(A|B|C)]`.
///
/// @code
/// std::vector<pier::digest> diff_ids = {pier::digest_of("layer 0"), pier::digest_of("layer 1")};
/// std::vector<pier::digest> chain = pier::chain_ids(diff_ids);
/// assert(chain[0] == diff_ids[0] && chain[1] == pier::chain_id(diff_ids[0], diff_ids[1]));
/// @endcode
///
/// See https://github.com/opencontainers/image-spec/blob/v1.1.0/config.md#layer-chainid
std::vector<digest> chain_ids(std::span<digest const> diff_ids);

/// The digest of `gzipped_empty_tar()`, the layer blob of v1 images made for `empty_layer`
/// history entries. Registries that convert v2 images to v1 must be able to serve it.
inline constexpr std::string_view gzipped_empty_tar_digest =
    "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4";

/// 32 bytes: a gzip stream of an empty tar archive (1024 zero bytes), byte for byte the
/// one Docker's registry uses, so that its digest is the same everywhere.
std::span<std::byte const> gzipped_empty_tar() noexcept;

/// One v1 image made from a v2 image.
struct v1_history_entry {
  v1_image image;  ///< `id` and `parent` set; the top entry carries the image config
  digest layer;    ///< the blob to serve as this image's layer
  digest chain_id; ///< ChainID of the layers up to this entry's; empty below the first layer
};

/// The v1 images that stand for a v2 image, root first, one per `history` entry of its
/// config, with the synthetic v1 ids the Docker registry gives them when it converts a
/// schema 2 manifest to schema 1, so that pier and the reference registry agree on ids.
///
/// `config_json` are the exact bytes of the image config blob (the top id hashes them);
/// `layers` are the digests of the manifest's layer descriptors, bottom first. For
/// history entry i, with blobsum its layer digest (or `gzipped_empty_tar_digest` for an
/// `empty_layer` entry) and parent the previous entry's v1 id ("" for the first):
///
/// - every entry but the top: id = SHA256hex(hex(blobsum) + " " + parent)
/// - the top entry:           id = SHA256hex(hex(blobsum) + " " + parent + " " + config_json)
///
/// The top image is the config without `rootfs` and `history`; the others carry their
/// history entry's `created` (Go's zero time when absent), `author`, `comment`,
/// `created_by` as `container_config.Cmd[0]`, and `throwaway` for empty layers. A config
/// without history is treated as one entry per layer (the Docker registry refuses it);
/// Windows `rootfs.base_layer` is not supported.
///
/// @code
/// auto v1 = pier::v1_history_from_v2(config_bytes, layer_digests);
/// if (v1) serve_v1(v1->back().image.id); // the id a v1 client pulls
/// @endcode
///
/// See https://github.com/distribution/distribution/blob/v2.8.3/manifest/schema1/config_builder.go
result<std::vector<v1_history_entry>> v1_history_from_v2(std::string_view config_json,
                                                         std::span<digest const> layers);

PIER_END_NAMESPACE

template <>
struct std::is_error_code_enum<pier::ancestry_error> : std::true_type {};

#include <pier/core/impl/ancestry.hpp>

#endif // PIER_CORE_ANCESTRY_HPP
