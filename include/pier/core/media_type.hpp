// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_CORE_MEDIA_TYPE_HPP
#define PIER_CORE_MEDIA_TYPE_HPP

/// @file
/// Media types of manifests, configs and layers (OCI and Docker), classification of a
/// `Content-Type`, the RFC 6838 grammar, and `Accept` negotiation for manifest GETs.
///
/// @code
/// using namespace pier;
/// assert(classify_media_type("application/vnd.oci.image.index.v1+json; charset=utf-8") ==
///        manifest_kind::oci_index);
/// assert(is_acceptable("application/vnd.oci.image.manifest.v1+json, */*;q=0.1",
///                      media_types::docker_manifest_v2));
/// @endcode
///
/// See https://github.com/opencontainers/image-spec/blob/v1.1.0/media-types.md and
/// https://www.rfc-editor.org/rfc/rfc6838#section-4.2

#include <pier/config.hpp>
#include <pier/core/error.hpp>
#include <pier/core/result.hpp>

#include <span>
#include <string_view>
#include <system_error>

PIER_BEGIN_NAMESPACE

/// The media types pier knows by name.
namespace media_types {

// OCI image-spec v1.1
inline constexpr std::string_view oci_manifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view oci_index = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view oci_config = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view oci_layer_tar = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view oci_layer_tar_gzip =
    "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view oci_layer_tar_zstd =
    "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view oci_layer_nondistributable_tar =
    "application/vnd.oci.image.layer.nondistributable.v1.tar";
inline constexpr std::string_view oci_layer_nondistributable_tar_gzip =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
inline constexpr std::string_view oci_layer_nondistributable_tar_zstd =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
/// The `{}` blob that artifacts use as config or layer when they have none.
inline constexpr std::string_view oci_empty = "application/vnd.oci.empty.v1+json";
inline constexpr std::string_view oci_descriptor = "application/vnd.oci.descriptor.v1+json";
inline constexpr std::string_view oci_layout_header = "application/vnd.oci.layout.header.v1+json";

// Docker Image Manifest V2, Schema 2 and Schema 1
inline constexpr std::string_view docker_manifest_v2 =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view docker_manifest_list =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view docker_manifest_v1 =
    "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view docker_manifest_v1_signed =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
inline constexpr std::string_view docker_container_config =
    "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view docker_layer =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// A layer that clients fetch from its `urls` (Windows base layers), not from the registry.
inline constexpr std::string_view docker_foreign_layer =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
inline constexpr std::string_view docker_plugin_config = "application/vnd.docker.plugin.v1+json";

} // namespace media_types

/// The kinds of manifest a registry stores.
enum class manifest_kind {
  oci_manifest,     ///< application/vnd.oci.image.manifest.v1+json
  oci_index,        ///< application/vnd.oci.image.index.v1+json
  docker_v2,        ///< application/vnd.docker.distribution.manifest.v2+json
  docker_list,      ///< application/vnd.docker.distribution.manifest.list.v2+json
  docker_v1,        ///< application/vnd.docker.distribution.manifest.v1+json
  docker_v1_signed, ///< application/vnd.docker.distribution.manifest.v1+prettyjws
  unknown,          ///< anything else
};

/// Why a string is not a media type.
///
/// Every value maps to `oci_error::manifest_invalid`: media types are checked while a
/// manifest is validated.
enum class media_type_error {
  empty = 1,         ///< nothing but whitespace
  missing_slash,     ///< no '/' between type and subtype
  invalid_type,      ///< the type is not an RFC 6838 restricted-name
  invalid_subtype,   ///< the subtype is not an RFC 6838 restricted-name
  too_long,          ///< type or subtype longer than 127 characters
  invalid_parameter, ///< a parameter is not `token "=" (token / quoted-string)`
};

/// The category of `media_type_error`, named "pier.media_type".
std::error_category const& media_type_category() noexcept;

inline std::error_code make_error_code(media_type_error e) noexcept {
  return {static_cast<int>(e), media_type_category()};
}

/// The `type/subtype` part of a media type or `Content-Type` value: parameters and the
/// whitespace around them are cut off, case is kept.
///
/// @code
/// assert(pier::media_type_essence(" text/plain ; charset=utf-8") == "text/plain");
/// @endcode
constexpr std::string_view media_type_essence(std::string_view content_type) noexcept;

/// Whether two media types name the same type: essences compared without regard to case
/// (RFC 6838 section 4.2), parameters ignored.
///
/// @code
/// assert(pier::media_type_equal("Application/JSON; charset=utf-8", "application/json"));
/// @endcode
constexpr bool media_type_equal(std::string_view a, std::string_view b) noexcept;

/// The manifest kind a `Content-Type` or `mediaType` value names; `unknown` when it names
/// none (including `application/json`, which says nothing about the schema).
///
/// @code
/// assert(pier::classify_media_type("APPLICATION/vnd.docker.distribution.manifest.v2+json") ==
///        pier::manifest_kind::docker_v2);
/// @endcode
constexpr manifest_kind classify_media_type(std::string_view content_type) noexcept;

/// The canonical media type of a kind; empty for `manifest_kind::unknown`.
constexpr std::string_view media_type_of(manifest_kind k) noexcept;

/// True for the kinds that reference other manifests (OCI index, Docker manifest list).
///
/// @code
/// assert(pier::is_index(pier::manifest_kind::docker_list));
/// @endcode
constexpr bool is_index(manifest_kind k) noexcept;

/// True for the kinds that describe one image: a config and layers (or schema 1 fsLayers).
constexpr bool is_image_manifest(manifest_kind k) noexcept;

/// True for layer types that may live outside the registry: Docker foreign layers and
/// OCI non-distributable layers. Registries do not require these blobs to be pushed.
///
/// See https://github.com/opencontainers/image-spec/blob/v1.1.0/layer.md#non-distributable-layers
constexpr bool is_non_distributable(std::string_view media_type) noexcept;

/// Checks that `s` is `type "/" subtype` with both names RFC 6838 restricted-names
/// (1-127 characters of `A-Za-z0-9!#$&-^_.+`, starting with a letter or digit).
/// Parameters are not allowed.
///
/// @code
/// assert(pier::validate_media_type("application/vnd.oci.image.manifest.v1+json"));
/// assert(pier::validate_media_type("application/json; charset=utf-8").error() ==
///        pier::media_type_error::invalid_subtype);
/// @endcode
///
/// See https://www.rfc-editor.org/rfc/rfc6838#section-4.2
result<void> validate_media_type(std::string_view s) noexcept;

/// Checks a media type that may carry parameters, as `Content-Type` values and some
/// descriptors do: a valid `validate_media_type` essence followed by
/// `*( OWS ";" OWS token "=" ( token / quoted-string ) )` (RFC 9110 section 8.3.1).
///
/// @code
/// assert(pier::validate_content_type("text/plain; charset=utf-8"));
/// assert(!pier::validate_content_type("text/plain; charset"));
/// @endcode
///
/// See https://www.rfc-editor.org/rfc/rfc9110#section-8.3.1
result<void> validate_content_type(std::string_view s) noexcept;

/// How much an `Accept` header value wants `media_type`, in thousandths (the qvalue
/// times 1000): 0 means "not acceptable", 1000 is the most.
///
/// The most specific matching range decides (`type/subtype` over `type/*` over `*/*`,
/// case-insensitive); parameters other than `q` are ignored, and elements that do not
/// parse are skipped. An empty or blank value accepts everything with 1000, as an absent
/// header does. Several `Accept` header lines must be joined with "," first.
///
/// @code
/// std::string_view accept = "application/vnd.oci.image.index.v1+json;q=0.9, application/*;q=0.2";
/// assert(pier::accept_quality(accept, pier::media_types::oci_index) == 900);
/// assert(pier::accept_quality(accept, pier::media_types::docker_manifest_v2) == 200);
/// assert(pier::accept_quality(accept, "text/plain") == 0);
/// @endcode
///
/// See https://www.rfc-editor.org/rfc/rfc9110#section-12.5.1
constexpr int accept_quality(std::string_view accept, std::string_view media_type) noexcept;

/// Whether the `Accept` header value admits `media_type` (`accept_quality(...) > 0`).
///
/// @code
/// assert(!pier::is_acceptable("application/vnd.docker.distribution.manifest.v2+json",
///                             pier::media_types::oci_manifest));
/// @endcode
constexpr bool is_acceptable(std::string_view accept, std::string_view media_type) noexcept;

/// The entry of `offered` that the `Accept` value wants most; on a tie the earlier one.
/// Empty when none is acceptable.
///
/// @code
/// std::string_view offered[] = {pier::media_types::docker_manifest_v2,
///                               pier::media_types::oci_manifest};
/// assert(pier::best_match("application/vnd.oci.image.manifest.v1+json", offered) ==
///        pier::media_types::oci_manifest);
/// @endcode
constexpr std::string_view best_match(std::string_view accept,
                                      std::span<std::string_view const> offered) noexcept;

PIER_END_NAMESPACE

template <>
struct std::is_error_code_enum<pier::media_type_error> : std::true_type {};

#include <pier/core/impl/media_type.hpp>

#endif // PIER_CORE_MEDIA_TYPE_HPP
