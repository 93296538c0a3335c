// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_CORE_ERROR_HPP
#define PIER_CORE_ERROR_HPP

/// @file
/// The error codes of the OCI Distribution Specification as a `std::error_code`
/// category, each with its HTTP status. The JSON error body the spec prescribes is
/// pier/core/error_body.hpp (it needs Boost.JSON; this header does not).
///
/// Other pier domains (reference, digest, manifest, ...) have their own error enums;
/// their categories map each value to one of these codes through
/// `default_error_condition`, so `pier::to_oci_error(ec)` works for any pier error.
///
/// @code
/// std::error_code ec = pier::oci_error::manifest_unknown;
/// assert(pier::http_status(pier::to_oci_error(ec)) == 404);
/// @endcode
///
/// See https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#error-codes

#include <pier/config.hpp>

#include <string>
#include <string_view>
#include <system_error>

PIER_BEGIN_NAMESPACE

/// Error codes of the OCI distribution spec (code-1 … code-14) and the few that Docker's
/// Registry HTTP API V2 added and clients still understand.
enum class oci_error {
  blob_unknown = 1,      ///< BLOB_UNKNOWN, 404
  blob_upload_invalid,   ///< BLOB_UPLOAD_INVALID, 400
  blob_upload_unknown,   ///< BLOB_UPLOAD_UNKNOWN, 404
  digest_invalid,        ///< DIGEST_INVALID, 400
  manifest_blob_unknown, ///< MANIFEST_BLOB_UNKNOWN, 400
  manifest_invalid,      ///< MANIFEST_INVALID, 400
  manifest_unknown,      ///< MANIFEST_UNKNOWN, 404
  name_invalid,          ///< NAME_INVALID, 400
  name_unknown,          ///< NAME_UNKNOWN, 404
  size_invalid,          ///< SIZE_INVALID, 400
  unauthorized,          ///< UNAUTHORIZED, 401
  denied,                ///< DENIED, 403
  unsupported,           ///< UNSUPPORTED, 405
  too_many_requests,     ///< TOOMANYREQUESTS, 429
  // Docker Registry HTTP API V2 additions.
  tag_invalid,               ///< TAG_INVALID, 400
  manifest_unverified,       ///< MANIFEST_UNVERIFIED, 400
  range_invalid,             ///< RANGE_INVALID, 416
  pagination_number_invalid, ///< PAGINATION_NUMBER_INVALID, 400
  unavailable,               ///< UNAVAILABLE, 503
  unknown,                   ///< UNKNOWN, 500: anything that is not the client's fault
};

/// The code string used in JSON error bodies, e.g. "BLOB_UNKNOWN".
constexpr std::string_view code_string(oci_error e) noexcept;

/// The spec's short description of the code, used as the default message.
constexpr std::string_view default_message(oci_error e) noexcept;

/// The HTTP status a response carrying this code has.
constexpr int http_status(oci_error e) noexcept;

/// The category of `oci_error`.
std::error_category const& oci_category() noexcept;

inline std::error_code make_error_code(oci_error e) noexcept {
  return {static_cast<int>(e), oci_category()};
}

/// Maps any pier error code to the OCI code it corresponds to; `oci_error::unknown` for
/// codes from other categories (I/O errors and the like: not the client's fault).
oci_error to_oci_error(std::error_code ec) noexcept;

PIER_END_NAMESPACE

template <>
struct std::is_error_code_enum<pier::oci_error> : std::true_type {};

#include <pier/core/impl/error.hpp>

#endif // PIER_CORE_ERROR_HPP
