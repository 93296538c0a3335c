// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_CORE_MANIFEST_HPP
#define PIER_CORE_MANIFEST_HPP

/// @file
/// Validation of image manifests and indexes (OCI image-spec v1.1, Docker schema 2 and
/// schema 1) and extraction of what a registry needs from them: the kind, the descriptors,
/// the blobs and manifests they reference, `subject`, `artifactType` and annotations.
///
/// pier never re-serialises a manifest: the bytes a client pushed are what is stored and
/// served. JSON is parsed only to validate and extract.
///
/// @code
/// std::string_view bytes = R"({"schemaVersion":2,
///   "mediaType":"application/vnd.oci.image.manifest.v1+json",
///   "config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":2,
///     "digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},
///   "layers":[]})";
/// pier::result<pier::manifest> m =
///     pier::parse_manifest(bytes, "application/vnd.oci.image.manifest.v1+json");
/// assert(m && m->kind() == pier::manifest_kind::oci_manifest);
/// assert(m->referenced_blobs().size() == 1);
/// @endcode
///
/// See https://github.com/opencontainers/image-spec/blob/v1.1.0/manifest.md,
/// https://github.com/opencontainers/image-spec/blob/v1.1.0/image-index.md and
/// https://github.com/distribution/distribution/blob/v2.8.3/docs/spec/manifest-v2-2.md

#include <pier/config.hpp>
#include <pier/core/digest.hpp>
#include <pier/core/error.hpp>
#include <pier/core/media_type.hpp>
#include <pier/core/result.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

PIER_BEGIN_NAMESPACE

/// Why bytes are not a manifest pier accepts.
///
/// Every value maps to `oci_error::manifest_invalid` (MANIFEST_INVALID, 400), so
/// `to_oci_error(ec)` gives the code the registry answers a bad push with. The
/// `parse_manifest` overload with a `detail` argument also says where: "layers[1].digest".
enum class manifest_error {
  invalid_json = 1,           ///< not JSON, not UTF-8, or bytes after the document
  too_deep,                   ///< nested deeper than `manifest_max_depth`
  duplicate_key,              ///< an object has the same key twice
  not_an_object,              ///< the document is not a JSON object
  unsupported_schema_version, ///< `schemaVersion` is neither 1 nor 2
  missing_field,              ///< a required field is absent
  wrong_type,                 ///< a field has the wrong JSON type
  invalid_media_type,         ///< a `mediaType` or `artifactType` breaks RFC 6838
  media_type_mismatch,        ///< `Content-Type`, `mediaType` and `schemaVersion` disagree
  unsupported_media_type,     ///< the manifest's own media type is not a kind pier stores
  ambiguous_manifest,         ///< fields of an index and of an image manifest together
  invalid_descriptor,         ///< a descriptor's `urls` or `data` are malformed
  invalid_digest,             ///< a digest that `parse_digest` rejects
  invalid_size,               ///< a size that is not an integer in [0, 2^63)
  invalid_annotation,         ///< an annotation value that is not a string
  artifact_type_required,     ///< config is the empty descriptor but `artifactType` is absent
  layer_count_mismatch,       ///< schema 1: `history` and `fsLayers` differ in length
  invalid_v1_compatibility,   ///< schema 1: a `v1Compatibility` is not a JSON object
  invalid_signature,          ///< schema 1: `signatures` is not a well-formed JWS envelope
};

/// The category of `manifest_error`, named "pier.manifest".
std::error_category const& manifest_category() noexcept;

inline std::error_code make_error_code(manifest_error e) noexcept {
  return {static_cast<int>(e), manifest_category()};
}

/// How deeply arrays and objects may nest in a manifest. Real manifests need 6 levels;
/// the limit keeps hostile input from exhausting the stack of the recursive JSON parser.
inline constexpr std::size_t manifest_max_depth = 64;

/// String-to-string annotations. Transparent: look up with a `std::string_view`.
using annotation_map = std::map<std::string, std::string, std::less<>>;

/// The platform an index entry runs on.
///
/// See https://github.com/opencontainers/image-spec/blob/v1.1.0/image-index.md
struct platform {
  std::string architecture;             ///< required, e.g. "amd64"
  std::string os;                       ///< required, e.g. "linux"
  std::string os_version;               ///< `os.version`, e.g. "10.0.17763.1040"
  std::vector<std::string> os_features; ///< `os.features`, e.g. {"win32k"}
  std::string variant;                  ///< e.g. "v8"
  std::vector<std::string> features;    ///< reserved by OCI; Docker lists use it

  friend bool operator==(platform const&, platform const&) = default;
};

/// A validated content descriptor.
///
/// `media_type` may carry parameters (`text/plain; charset=utf-8`): RFC 6838 asks for
/// none, but such artifacts exist and registries store them. `data`, when present, is
/// checked to be base64 but not kept: pier reads blobs from the blob store.
///
/// See https://github.com/opencontainers/image-spec/blob/v1.1.0/descriptor.md
struct descriptor {
  std::string media_type;
  pier::digest digest;
  std::int64_t size = 0;
  std::vector<std::string> urls; ///< each an RFC 3986 URI
  annotation_map annotations;
  std::optional<std::string> artifact_type;
  std::optional<pier::platform> platform; ///< only in index entries

  friend bool operator==(descriptor const&, descriptor const&) = default;
};

/// Whether `referenced_blobs` lists layers that clients fetch from their `urls`.
enum class foreign_layers { include, exclude };

namespace detail {
struct manifest_parser;
}

/// A validated manifest of any kind, with what a registry needs to know about it.
///
/// Which members are filled depends on `kind()`:
/// - OCI image manifest: `config`, `layers`, `subject`, `artifact_type`, `annotations`;
/// - OCI image index: `manifests`, `subject`, `artifact_type`, `annotations`;
/// - Docker schema 2 manifest: `config`, `layers`; manifest list: `manifests`;
/// - Docker schema 1: `name`, `tag`, `architecture`, `fs_layers`, `history`, and for the
///   signed form `signed_payload`.
///
/// @code
/// pier::manifest const m = pier::parse_manifest(bytes, content_type).value();
/// // Every one of these must be in the repository before the push is accepted.
/// std::vector<pier::digest> const needed = m.referenced_blobs(pier::foreign_layers::exclude);
/// std::optional<std::string> oci_subject; // the OCI-Subject response header
/// if (m.subject())
///   oci_subject = m.subject()->digest.str();
/// @endcode
class manifest {
public:
  manifest() = default;

  manifest_kind kind() const noexcept { return kind_; }

  /// The manifest's media type, to send as `Content-Type` when it is pulled: its
  /// `mediaType` field, else the `Content-Type` it was pushed with (without parameters)
  /// when that names its kind (for schema 1: either schema 1 type, signed or not), else
  /// the canonical type of its kind.
  std::string const& media_type() const noexcept { return media_type_; }

  /// The config descriptor of an OCI or Docker schema 2 image manifest.
  std::optional<descriptor> const& config() const noexcept { return config_; }
  std::vector<descriptor> const& layers() const noexcept { return layers_; }
  /// The entries of an index or manifest list.
  std::vector<descriptor> const& manifests() const noexcept { return manifests_; }
  /// The manifest this one refers to (OCI 1.1 referrers); registries must not require
  /// it to exist.
  std::optional<descriptor> const& subject() const noexcept { return subject_; }
  std::optional<std::string> const& artifact_type() const noexcept { return artifact_type_; }
  annotation_map const& annotations() const noexcept { return annotations_; }

  /// Schema 1 only.
  std::string const& name() const noexcept { return name_; }
  std::string const& tag() const noexcept { return tag_; }
  std::string const& architecture() const noexcept { return architecture_; }
  /// `fsLayers[].blobSum`, newest layer first, duplicates kept.
  std::vector<pier::digest> const& fs_layers() const noexcept { return fs_layers_; }
  /// `history[].v1Compatibility`, each a JSON object as text, in `fs_layers` order.
  std::vector<std::string> const& history() const noexcept { return history_; }
  /// For signed schema 1: the bytes the JWS signatures cover, i.e. the manifest without
  /// its `signatures` (the first `formatLength` bytes plus `formatTail`). Docker computes
  /// a signed manifest's digest over these bytes. Empty for every other kind.
  std::string const& signed_payload() const noexcept { return signed_payload_; }

  /// The blobs this manifest needs: config then layers for image manifests, `fsLayers`
  /// for schema 1, nothing for indexes. Each digest once, in first-seen order. With
  /// `foreign_layers::exclude`, non-distributable layers that have `urls` are left out:
  /// clients never push them.
  std::vector<pier::digest> referenced_blobs(foreign_layers which = foreign_layers::include) const;

  /// The manifests an index or manifest list refers to, each once, in order. `subject`
  /// is not among them: it is a weak reference.
  std::vector<pier::digest> referenced_manifests() const;

private:
  friend struct detail::manifest_parser;

  manifest_kind kind_ = manifest_kind::unknown;
  std::string media_type_;
  std::optional<descriptor> config_;
  std::vector<descriptor> layers_;
  std::vector<descriptor> manifests_;
  std::optional<descriptor> subject_;
  std::optional<std::string> artifact_type_;
  annotation_map annotations_;
  std::string name_;
  std::string tag_;
  std::string architecture_;
  std::vector<pier::digest> fs_layers_;
  std::vector<std::string> history_;
  std::string signed_payload_;
};

/// Validates `bytes` as a manifest and extracts its contents.
///
/// The kind comes from the manifest's `mediaType` field, else from `content_type` (the
/// request's `Content-Type`; parameters ignored), else from `schemaVersion` and structure:
/// schema 1, or for schema 2 an OCI index when there is a `manifests` key and an OCI image
/// manifest when there is `config` or `layers` (Docker schema 2 requires `mediaType`).
/// An empty or `application/json` content type declares nothing. A `content_type` that
/// differs from a present `mediaType` is `media_type_mismatch`, as the distribution spec
/// requires clients to send the `mediaType` value.
///
/// Stricter than the reference registry on purpose: duplicate keys are rejected (JSON
/// parsers disagree on which one wins, so a registry and a client could see different
/// layers), as are manifests with both index and image fields (CVE-2021-41190), and
/// `artifactType` is required when the config is the empty descriptor (image-spec v1.1).
/// Empty `layers` are accepted (a SHOULD in the spec, and the conformance suite pushes
/// them). Unknown fields are ignored; JSON `null` counts as absent for optional fields.
///
/// Schema 1 signatures are checked for shape only (JWS JSON with `protected` headers that
/// agree on `formatLength`/`formatTail`); they are not verified cryptographically. Fields
/// are read from the signed payload.
///
/// Throws only `std::bad_alloc`.
///
/// @code
/// auto m = pier::parse_manifest(R"({"schemaVersion":3})");
/// assert(m.error() == pier::manifest_error::unsupported_schema_version);
/// assert(pier::to_oci_error(m.error()) == pier::oci_error::manifest_invalid);
/// @endcode
///
/// See https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#pushing-manifests
result<manifest> parse_manifest(std::string_view bytes, std::string_view content_type = {});

/// The same, and on failure sets `*detail` (when not null) to where the manifest is
/// wrong, as a JSON path such as "layers[1].digest" or "manifests[0].platform.os"
/// (empty for errors about the whole document).
///
/// @code
/// std::string where;
/// auto m = pier::parse_manifest(R"({"schemaVersion":2,"layers":[]})", {}, &where);
/// assert(m.error() == pier::manifest_error::missing_field && where == "config");
/// @endcode
result<manifest> parse_manifest(std::string_view bytes, std::string_view content_type,
                                std::string* detail);

PIER_END_NAMESPACE

template <>
struct std::is_error_code_enum<pier::manifest_error> : std::true_type {};

#include <pier/core/impl/manifest.hpp>

#endif // PIER_CORE_MANIFEST_HPP
