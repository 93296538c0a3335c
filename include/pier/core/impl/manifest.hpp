// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_CORE_IMPL_MANIFEST_HPP
#define PIER_CORE_IMPL_MANIFEST_HPP

#include <pier/core/detail/strict_json.hpp>

#include <boost/json/monotonic_resource.hpp>
#include <boost/url/parse.hpp>

#include <limits>
#include <unordered_set>

#include <pier/core/detail/ascii.hpp>
#include <pier/core/detail/base64.hpp>

PIER_BEGIN_NAMESPACE

namespace detail {

class manifest_category_impl final : public std::error_category {
public:
  char const* name() const noexcept override { return "pier.manifest"; }
  std::string message(int ev) const override {
    switch (static_cast<manifest_error>(ev)) {
    case manifest_error::invalid_json: return "manifest is not valid JSON";
    case manifest_error::too_deep: return "manifest JSON is nested too deeply";
    case manifest_error::duplicate_key: return "manifest JSON has a duplicate key";
    case manifest_error::not_an_object: return "manifest is not a JSON object";
    case manifest_error::unsupported_schema_version: return "unsupported manifest schemaVersion";
    case manifest_error::missing_field: return "manifest lacks a required field";
    case manifest_error::wrong_type: return "manifest field has the wrong JSON type";
    case manifest_error::invalid_media_type: return "invalid media type in manifest";
    case manifest_error::media_type_mismatch:
      return "Content-Type, mediaType and schemaVersion of the manifest disagree";
    case manifest_error::unsupported_media_type: return "unsupported manifest media type";
    case manifest_error::ambiguous_manifest:
      return "manifest has fields of both an index and an image manifest";
    case manifest_error::invalid_descriptor: return "invalid urls or data in a descriptor";
    case manifest_error::invalid_digest: return "invalid digest in manifest";
    case manifest_error::invalid_size: return "invalid size in manifest";
    case manifest_error::invalid_annotation: return "annotation value is not a string";
    case manifest_error::artifact_type_required:
      return "artifactType is required when the config is the empty descriptor";
    case manifest_error::layer_count_mismatch:
      return "schema 1 manifest has different numbers of fsLayers and history entries";
    case manifest_error::invalid_v1_compatibility:
      return "schema 1 v1Compatibility is not a JSON object";
    case manifest_error::invalid_signature: return "malformed schema 1 manifest signature";
    }
    return "unknown manifest error";
  }
  // Whatever is wrong with a pushed manifest, the distribution spec's answer is the same.
  std::error_condition default_error_condition(int) const noexcept override {
    return {static_cast<int>(oci_error::manifest_invalid), oci_category()};
  }
};

} // namespace detail

namespace detail::manifest_rules {

// Decodes RFC 4648 base64 into `out` (when given). The standard alphabet must be padded;
// padding is optional with the URL alphabet because JWS leaves it out.
inline bool decode_base64(std::string_view s, bool url_alphabet, std::string* out) {
  namespace b64 = ::pier::detail::base64;
  std::string scratch;
  return b64::decode(s, url_alphabet ? b64::alphabet::url : b64::alphabet::standard,
                     url_alphabet ? b64::padding::optional : b64::padding::required, false,
                     out ? *out : scratch);
}

// A position in the document, kept on the stack while walking it and rendered only when
// something is wrong there, so that success costs nothing.
struct json_path {
  json_path const* parent = nullptr;
  std::string_view key;
  std::size_t index = 0;
  bool is_index = false;

  json_path field(std::string_view k) const noexcept { return {this, k, 0, false}; }
  json_path at(std::size_t i) const noexcept { return {this, {}, i, true}; }

  void render(std::string& out) const {
    if (parent != nullptr)
      parent->render(out);
    if (is_index) {
      out += '[';
      out += std::to_string(index);
      out += ']';
    } else if (!key.empty()) {
      if (!out.empty())
        out += '.';
      out += key;
    }
  }
};

inline std::string_view as_view(boost::json::string const& s) noexcept {
  return {s.data(), s.size()};
}

} // namespace detail::manifest_rules

namespace detail {

struct manifest_parser {
  using json_path = manifest_rules::json_path;
  using object = boost::json::object;
  using value = boost::json::value;

  std::string_view bytes;
  std::string* where;
  boost::json::storage_ptr storage;

  std::error_code fail(json_path const& at, manifest_error e) const {
    if (where != nullptr) {
      where->clear();
      at.render(*where);
    }
    return e;
  }

  // The value under `key`, JSON null included; nullptr when there is no such key.
  static value const* raw(object const& o, std::string_view key) noexcept {
    auto const it = o.find(key);
    return it == o.end() ? nullptr : &it->value();
  }

  // The value under `key` for an optional field: null counts as absent, as Go's
  // encoding/json (which wrote most manifests) treats it.
  static value const* optional(object const& o, std::string_view key) noexcept {
    value const* v = raw(o, key);
    return v != nullptr && !v->is_null() ? v : nullptr;
  }

  std::error_code required_string(object const& o, std::string_view key, json_path const& at,
                                  std::string_view& out) const {
    value const* v = raw(o, key);
    if (v == nullptr)
      return fail(at.field(key), manifest_error::missing_field);
    if (!v->is_string())
      return fail(at.field(key), manifest_error::wrong_type);
    out = manifest_rules::as_view(v->get_string());
    return {};
  }

  std::error_code optional_string(object const& o, std::string_view key, json_path const& at,
                                  std::optional<std::string_view>& out) const {
    value const* v = optional(o, key);
    if (v == nullptr)
      return {};
    if (!v->is_string())
      return fail(at.field(key), manifest_error::wrong_type);
    out = manifest_rules::as_view(v->get_string());
    return {};
  }

  std::error_code optional_string(object const& o, std::string_view key, json_path const& at,
                                  std::string& out) const {
    std::optional<std::string_view> s;
    if (auto ec = optional_string(o, key, at, s))
      return ec;
    if (s)
      out.assign(*s);
    return {};
  }

  std::error_code string_array(value const& v, json_path const& at,
                               std::vector<std::string>& out) const {
    if (!v.is_array())
      return fail(at, manifest_error::wrong_type);
    auto const& a = v.get_array();
    out.reserve(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!a[i].is_string())
        return fail(at.at(i), manifest_error::wrong_type);
      out.emplace_back(manifest_rules::as_view(a[i].get_string()));
    }
    return {};
  }

  // mediaType and artifactType: RFC 6838 names; parameters tolerated (see descriptor).
  std::error_code check_type(std::string_view s, json_path const& at) const {
    if (!validate_content_type(s) || detail::ascii::trim_ows(s).size() != s.size())
      return fail(at, manifest_error::invalid_media_type);
    return {};
  }

  std::error_code annotations(value const& v, json_path const& at, annotation_map& out) const {
    if (!v.is_object())
      return fail(at, manifest_error::wrong_type);
    for (auto const& kv : v.get_object()) {
      std::string_view const key(kv.key().data(), kv.key().size());
      if (!kv.value().is_string())
        return fail(at.field(key), manifest_error::invalid_annotation);
      out.emplace(std::string(key), std::string(manifest_rules::as_view(kv.value().get_string())));
    }
    return {};
  }

  std::error_code digest_field(object const& o, std::string_view key, json_path const& at,
                               pier::digest& out) const {
    std::string_view s;
    if (auto ec = required_string(o, key, at, s))
      return ec;
    auto d = parse_digest_view(s);
    if (!d)
      return fail(at.field(key), manifest_error::invalid_digest);
    out = pier::digest(*d);
    return {};
  }

  std::error_code size_field(object const& o, json_path const& at, std::int64_t& out) const {
    value const* v = raw(o, "size");
    if (v == nullptr)
      return fail(at.field("size"), manifest_error::missing_field);
    // Boost.JSON keeps integers that fit in int64 as int64, larger ones as uint64 and
    // anything with a fraction or exponent as double: only the first kind is a size.
    if (v->is_int64() && v->get_int64() >= 0) {
      out = v->get_int64();
      return {};
    }
    if (v->is_number())
      return fail(at.field("size"), manifest_error::invalid_size);
    return fail(at.field("size"), manifest_error::wrong_type);
  }

  std::error_code parse_platform(value const& v, json_path const& at, pier::platform& out) const {
    if (!v.is_object())
      return fail(at, manifest_error::wrong_type);
    object const& o = v.get_object();
    std::string_view s;
    if (auto ec = required_string(o, "architecture", at, s))
      return ec;
    out.architecture.assign(s);
    if (auto ec = required_string(o, "os", at, s))
      return ec;
    out.os.assign(s);
    if (auto ec = optional_string(o, "os.version", at, out.os_version))
      return ec;
    if (auto ec = optional_string(o, "variant", at, out.variant))
      return ec;
    if (value const* f = optional(o, "os.features"))
      if (auto ec = string_array(*f, at.field("os.features"), out.os_features))
        return ec;
    if (value const* f = optional(o, "features"))
      if (auto ec = string_array(*f, at.field("features"), out.features))
        return ec;
    return {};
  }

  std::error_code parse_descriptor(value const& v, json_path const& at, descriptor& out,
                                   bool in_index) const {
    if (!v.is_object())
      return fail(at, manifest_error::wrong_type);
    object const& o = v.get_object();

    std::string_view type;
    if (auto ec = required_string(o, "mediaType", at, type))
      return ec;
    if (auto ec = check_type(type, at.field("mediaType")))
      return ec;
    out.media_type.assign(type);
    if (auto ec = digest_field(o, "digest", at, out.digest))
      return ec;
    if (auto ec = size_field(o, at, out.size))
      return ec;

    if (value const* urls = optional(o, "urls")) {
      json_path const urls_at = at.field("urls");
      if (auto ec = string_array(*urls, urls_at, out.urls))
        return ec;
      for (std::size_t i = 0; i < out.urls.size(); ++i)
        if (!boost::urls::parse_uri(out.urls[i]))
          return fail(urls_at.at(i), manifest_error::invalid_descriptor);
    }
    if (value const* a = optional(o, "annotations"))
      if (auto ec = annotations(*a, at.field("annotations"), out.annotations))
        return ec;

    std::optional<std::string_view> artifact;
    if (auto ec = optional_string(o, "artifactType", at, artifact))
      return ec;
    if (artifact) {
      if (auto ec = check_type(*artifact, at.field("artifactType")))
        return ec;
      out.artifact_type.emplace(*artifact);
    }

    std::optional<std::string_view> data;
    if (auto ec = optional_string(o, "data", at, data))
      return ec;
    if (data && !manifest_rules::decode_base64(*data, false, nullptr))
      return fail(at.field("data"), manifest_error::invalid_descriptor);

    // Outside an index "platform" is an unknown field, and unknown fields are ignored.
    if (in_index)
      if (value const* p = optional(o, "platform"))
        if (auto ec = parse_platform(*p, at.field("platform"), out.platform.emplace()))
          return ec;
    return {};
  }

  std::error_code descriptor_array(object const& o, std::string_view key, json_path const& at,
                                   std::vector<descriptor>& out, bool in_index) const {
    value const* v = raw(o, key);
    json_path const here = at.field(key);
    if (v == nullptr)
      return fail(here, manifest_error::missing_field);
    if (!v->is_array())
      return fail(here, manifest_error::wrong_type);
    auto const& a = v->get_array();
    out.resize(a.size());
    for (std::size_t i = 0; i < a.size(); ++i)
      if (auto ec = parse_descriptor(a[i], here.at(i), out[i], in_index))
        return ec;
    return {};
  }

  // subject, artifactType and annotations: the OCI 1.1 additions shared by manifest and index.
  std::error_code oci_extras(object const& o, json_path const& at, manifest& m) const {
    if (value const* s = optional(o, "subject"))
      if (auto ec = parse_descriptor(*s, at.field("subject"), m.subject_.emplace(), false))
        return ec;
    std::optional<std::string_view> artifact;
    if (auto ec = optional_string(o, "artifactType", at, artifact))
      return ec;
    if (artifact) {
      if (auto ec = check_type(*artifact, at.field("artifactType")))
        return ec;
      m.artifact_type_.emplace(*artifact);
    }
    if (value const* a = optional(o, "annotations"))
      if (auto ec = annotations(*a, at.field("annotations"), m.annotations_))
        return ec;
    return {};
  }

  std::error_code parse_image(object const& o, json_path const& at, manifest& m) const {
    // A document that is both an index and an image manifest would be read differently
    // by different clients (CVE-2021-41190).
    if (optional(o, "manifests") != nullptr)
      return fail(at.field("manifests"), manifest_error::ambiguous_manifest);
    value const* config = raw(o, "config");
    if (config == nullptr)
      return fail(at.field("config"), manifest_error::missing_field);
    if (auto ec = parse_descriptor(*config, at.field("config"), m.config_.emplace(), false))
      return ec;
    if (auto ec = descriptor_array(o, "layers", at, m.layers_, false))
      return ec;
    if (m.kind_ != manifest_kind::oci_manifest)
      return {}; // Docker schema 2 has no subject, artifactType or annotations
    if (auto ec = oci_extras(o, at, m))
      return ec;
    if (!m.artifact_type_ && media_type_equal(m.config_->media_type, media_types::oci_empty))
      return fail(at.field("artifactType"), manifest_error::artifact_type_required);
    return {};
  }

  std::error_code parse_index(object const& o, json_path const& at, manifest& m) const {
    if (optional(o, "config") != nullptr)
      return fail(at.field("config"), manifest_error::ambiguous_manifest);
    if (optional(o, "layers") != nullptr)
      return fail(at.field("layers"), manifest_error::ambiguous_manifest);
    if (auto ec = descriptor_array(o, "manifests", at, m.manifests_, true))
      return ec;
    if (m.kind_ == manifest_kind::oci_index)
      return oci_extras(o, at, m);
    return {};
  }

  std::error_code parse_schema1_fields(object const& o, json_path const& at, manifest& m) const {
    if (auto ec = optional_string(o, "name", at, m.name_))
      return ec;
    if (auto ec = optional_string(o, "tag", at, m.tag_))
      return ec;
    if (auto ec = optional_string(o, "architecture", at, m.architecture_))
      return ec;

    value const* layers = raw(o, "fsLayers");
    json_path const layers_at = at.field("fsLayers");
    if (layers == nullptr)
      return fail(layers_at, manifest_error::missing_field);
    if (!layers->is_array())
      return fail(layers_at, manifest_error::wrong_type);
    auto const& la = layers->get_array();
    m.fs_layers_.resize(la.size());
    for (std::size_t i = 0; i < la.size(); ++i) {
      if (!la[i].is_object())
        return fail(layers_at.at(i), manifest_error::wrong_type);
      if (auto ec = digest_field(la[i].get_object(), "blobSum", layers_at.at(i), m.fs_layers_[i]))
        return ec;
    }

    value const* history = raw(o, "history");
    json_path const history_at = at.field("history");
    if (history == nullptr)
      return fail(history_at, manifest_error::missing_field);
    if (!history->is_array())
      return fail(history_at, manifest_error::wrong_type);
    auto const& ha = history->get_array();
    m.history_.reserve(ha.size());
    for (std::size_t i = 0; i < ha.size(); ++i) {
      if (!ha[i].is_object())
        return fail(history_at.at(i), manifest_error::wrong_type);
      std::string_view v1;
      if (auto ec = required_string(ha[i].get_object(), "v1Compatibility", history_at.at(i), v1))
        return ec;
      value parsed;
      if (strict_json::parse(v1, parsed, storage, manifest_max_depth) != strict_json::status::ok ||
          !parsed.is_object())
        return fail(history_at.at(i).field("v1Compatibility"),
                    manifest_error::invalid_v1_compatibility);
      m.history_.emplace_back(v1);
    }
    if (m.history_.size() != m.fs_layers_.size())
      return fail(history_at, manifest_error::layer_count_mismatch);
    return {};
  }

  // Checks the JWS JSON envelope of a signed schema 1 manifest and rebuilds the payload
  // its signatures cover. Every signature must describe the same payload.
  std::error_code signed_payload(value const& v, json_path const& at, std::string& payload) const {
    if (!v.is_array())
      return fail(at, manifest_error::wrong_type);
    auto const& sigs = v.get_array();
    if (sigs.empty())
      return fail(at, manifest_error::invalid_signature);
    std::int64_t format_length = -1;
    std::string format_tail;
    std::string decoded;
    for (std::size_t i = 0; i < sigs.size(); ++i) {
      json_path const sig_at = at.at(i);
      if (!sigs[i].is_object())
        return fail(sig_at, manifest_error::wrong_type);
      object const& sig = sigs[i].get_object();
      value const* header = raw(sig, "header");
      if (header == nullptr)
        return fail(sig_at.field("header"), manifest_error::missing_field);
      if (!header->is_object())
        return fail(sig_at.field("header"), manifest_error::wrong_type);
      std::string_view signature;
      if (auto ec = required_string(sig, "signature", sig_at, signature))
        return ec;
      if (signature.empty() || !manifest_rules::decode_base64(signature, true, nullptr))
        return fail(sig_at.field("signature"), manifest_error::invalid_signature);
      std::string_view protected_header;
      if (auto ec = required_string(sig, "protected", sig_at, protected_header))
        return ec;

      json_path const protected_at = sig_at.field("protected");
      decoded.clear();
      value header_json;
      if (!manifest_rules::decode_base64(protected_header, true, &decoded) ||
          strict_json::parse(decoded, header_json, storage, manifest_max_depth) !=
              strict_json::status::ok ||
          !header_json.is_object())
        return fail(protected_at, manifest_error::invalid_signature);
      object const& ph = header_json.get_object();
      value const* length = raw(ph, "formatLength");
      value const* tail = raw(ph, "formatTail");
      if (length == nullptr || !length->is_int64() || length->get_int64() < 0 ||
          static_cast<std::uint64_t>(length->get_int64()) > bytes.size() || tail == nullptr ||
          !tail->is_string())
        return fail(protected_at, manifest_error::invalid_signature);
      std::string this_tail;
      if (!manifest_rules::decode_base64(manifest_rules::as_view(tail->get_string()), true,
                                         &this_tail))
        return fail(protected_at, manifest_error::invalid_signature);
      if (i == 0) {
        format_length = length->get_int64();
        format_tail = std::move(this_tail);
      } else if (length->get_int64() != format_length || this_tail != format_tail) {
        return fail(protected_at, manifest_error::invalid_signature);
      }
    }
    payload.assign(bytes.substr(0, static_cast<std::size_t>(format_length)));
    payload += format_tail;
    return {};
  }

  std::error_code parse_schema1(object const& o, json_path const& at, manifest& m) const {
    value const* sigs = optional(o, "signatures");
    if (sigs == nullptr) {
      m.kind_ = manifest_kind::docker_v1;
      return parse_schema1_fields(o, at, m);
    }
    m.kind_ = manifest_kind::docker_v1_signed;
    if (auto ec = signed_payload(*sigs, at.field("signatures"), m.signed_payload_))
      return ec;
    // What the signatures cover is what the manifest says: read the fields from there, so
    // nothing outside the signed bytes can change them.
    value payload;
    if (strict_json::parse(m.signed_payload_, payload, storage, manifest_max_depth) !=
            strict_json::status::ok ||
        !payload.is_object())
      return fail(at.field("signatures"), manifest_error::invalid_signature);
    return parse_schema1_fields(payload.get_object(), at, m);
  }

  result<manifest> run(std::string_view content_type) const {
    json_path const top;
    value root;
    switch (strict_json::parse(bytes, root, storage, manifest_max_depth)) {
    case strict_json::status::ok: break;
    case strict_json::status::invalid: return fail(top, manifest_error::invalid_json);
    case strict_json::status::too_deep: return fail(top, manifest_error::too_deep);
    case strict_json::status::duplicate_key: return fail(top, manifest_error::duplicate_key);
    }
    if (!root.is_object())
      return fail(top, manifest_error::not_an_object);
    object const& o = root.get_object();

    value const* version_value = raw(o, "schemaVersion");
    if (version_value == nullptr)
      return fail(top.field("schemaVersion"), manifest_error::missing_field);
    if (!version_value->is_int64() && !version_value->is_uint64())
      return fail(top.field("schemaVersion"), manifest_error::wrong_type);
    std::int64_t const version = version_value->is_int64() ? version_value->get_int64() : -1;
    if (version != 1 && version != 2)
      return fail(top.field("schemaVersion"), manifest_error::unsupported_schema_version);

    std::optional<std::string_view> body_type;
    if (auto ec = optional_string(o, "mediaType", top, body_type))
      return ec;
    if (body_type && !validate_media_type(*body_type))
      return fail(top.field("mediaType"), manifest_error::invalid_media_type);

    // application/json is what curl-era tools and schema 1 pushes send: it declares nothing.
    std::string_view const declared = media_type_essence(content_type);
    bool const declares =
        !declared.empty() && !detail::ascii::iequals(declared, "application/json");
    if (body_type && declares && !detail::ascii::iequals(declared, *body_type))
      return fail(top.field("mediaType"), manifest_error::media_type_mismatch);

    manifest m;
    std::string_view type; // what m.media_type() will say, when not the kind's canonical type
    if (body_type) {
      m.kind_ = classify_media_type(*body_type);
      if (m.kind_ == manifest_kind::unknown)
        return fail(top.field("mediaType"), manifest_error::unsupported_media_type);
      type = *body_type;
    } else if (declares) {
      m.kind_ = classify_media_type(declared);
      if (m.kind_ != manifest_kind::unknown)
        type = declared;
    }
    bool const schema1_type =
        m.kind_ == manifest_kind::docker_v1 || m.kind_ == manifest_kind::docker_v1_signed;

    if (version == 1) {
      if (m.kind_ != manifest_kind::unknown && !schema1_type)
        return fail(top.field("schemaVersion"), manifest_error::media_type_mismatch);
      if (auto ec = parse_schema1(o, top, m))
        return ec;
    } else {
      if (schema1_type)
        return fail(top.field("schemaVersion"), manifest_error::media_type_mismatch);
      if (m.kind_ == manifest_kind::unknown) {
        // Nothing names the type: OCI manifests may omit mediaType, so tell them apart by
        // their required fields. Docker schema 2 always carries mediaType.
        bool const has_manifests = optional(o, "manifests") != nullptr;
        bool const has_image_fields =
            optional(o, "config") != nullptr || optional(o, "layers") != nullptr;
        if (has_manifests && has_image_fields)
          return fail(top.field("manifests"), manifest_error::ambiguous_manifest);
        if (has_manifests)
          m.kind_ = manifest_kind::oci_index;
        else if (has_image_fields)
          m.kind_ = manifest_kind::oci_manifest;
        else
          return fail(top.field("mediaType"), manifest_error::missing_field);
      } else if (!body_type &&
                 (m.kind_ == manifest_kind::docker_v2 || m.kind_ == manifest_kind::docker_list)) {
        return fail(top.field("mediaType"), manifest_error::missing_field);
      }
      std::error_code const ec =
          is_index(m.kind_) ? parse_index(o, top, m) : parse_image(o, top, m);
      if (ec)
        return ec;
    }
    m.media_type_.assign(type.empty() ? media_type_of(m.kind_) : type);
    return m;
  }
};

} // namespace detail

inline std::error_category const& manifest_category() noexcept {
  static detail::manifest_category_impl const instance;
  return instance;
}

inline std::vector<pier::digest> manifest::referenced_blobs(foreign_layers which) const {
  std::vector<pier::digest> out;
  std::unordered_set<digest_view> seen;
  auto add = [&](pier::digest const& d) {
    if (seen.insert(d.view()).second)
      out.push_back(d);
  };
  if (kind_ == manifest_kind::docker_v1 || kind_ == manifest_kind::docker_v1_signed) {
    for (pier::digest const& d : fs_layers_)
      add(d);
    return out;
  }
  if (config_)
    add(config_->digest);
  for (descriptor const& layer : layers_) {
    if (which == foreign_layers::exclude && !layer.urls.empty() &&
        is_non_distributable(layer.media_type))
      continue;
    add(layer.digest);
  }
  return out;
}

inline std::vector<pier::digest> manifest::referenced_manifests() const {
  std::vector<pier::digest> out;
  std::unordered_set<digest_view> seen;
  for (descriptor const& d : manifests_)
    if (seen.insert(d.digest.view()).second)
      out.push_back(d.digest);
  return out;
}

inline result<manifest> parse_manifest(std::string_view bytes, std::string_view content_type,
                                       std::string* where) {
  if (where != nullptr)
    where->clear();
  // Manifests are small and the DOM lives only while they are checked: a bump allocator
  // that starts on the stack makes most parses allocation-free until extraction.
  unsigned char buffer[4096];
  boost::json::monotonic_resource resource(buffer, sizeof buffer);
  detail::manifest_parser const parser{bytes, where, &resource};
  return parser.run(content_type);
}

inline result<manifest> parse_manifest(std::string_view bytes, std::string_view content_type) {
  return parse_manifest(bytes, content_type, nullptr);
}

PIER_END_NAMESPACE

#endif // PIER_CORE_IMPL_MANIFEST_HPP
