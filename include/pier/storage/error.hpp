// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_STORAGE_ERROR_HPP
#define PIER_STORAGE_ERROR_HPP

/// @file
/// Why a storage operation failed, as a `std::error_code` that maps to the OCI error code
/// a registry answers with.
///
/// @code
/// std::error_code ec = pier::storage::storage_error::tag_unknown;
/// assert(pier::to_oci_error(ec) == pier::oci_error::manifest_unknown);
/// @endcode
///
/// A blob whose content does not match the digest given at commit fails with
/// `pier::digest_error::mismatch` (DIGEST_INVALID), the code digest checks use everywhere.
/// I/O failures are `std::errc` codes (`std::generic_category`), which map to
/// `oci_error::unknown`: they are not the client's fault. A full filesystem is the
/// exception that `is_out_of_space` recognises.

#include <pier/config.hpp>
#include <pier/core/error.hpp>

#include <system_error>

PIER_BEGIN_NAMESPACE
namespace storage {

/// What a store could not find or refused, each mapped to one OCI error code.
enum class storage_error {
  blob_unknown = 1,       ///< no such blob (or not linked in the repository): BLOB_UNKNOWN
  upload_unknown,         ///< no such upload, or a malformed id: BLOB_UPLOAD_UNKNOWN
  upload_offset_mismatch, ///< a chunk does not start where the upload ends: RANGE_INVALID
  size_mismatch,          ///< committed size differs from the size claimed: SIZE_INVALID
  range_invalid,          ///< `open` at an offset past the end of the blob: RANGE_INVALID
  manifest_unknown,       ///< no such manifest in the repository: MANIFEST_UNKNOWN
  tag_unknown,            ///< no such tag in the repository: MANIFEST_UNKNOWN
  name_unknown,           ///< no such repository: NAME_UNKNOWN
  manifest_blob_unknown, ///< a manifest references what the repository lacks: MANIFEST_BLOB_UNKNOWN
  corrupt,               ///< stored data could not be decoded: UNKNOWN
  user_unknown,          ///< no such user: DENIED (never says which names exist)
  org_unknown,           ///< no such organisation: NAME_UNKNOWN
  name_taken,            ///< a user or organisation already has the name: DENIED
  member_unknown,        ///< the user is not a member of the organisation: NAME_UNKNOWN
  token_unknown,         ///< no such access token: DENIED
  quota_exceeded,        ///< linking a blob (upload commit, mount, manifest) would take its namespace over its quota: DENIED
  name_reserved,      ///< the namespace holds repositories or records, or was a deleted account's: DENIED
  namespace_in_use,   ///< an account whose namespace holds repositories cannot go: DENIED
  last_admin,         ///< the change would leave an organisation or the registry without an admin: DENIED
  invitation_unknown, ///< no such invitation to the organisation: NAME_UNKNOWN
  org_limit_reached,  ///< the user created as many organisations as they may: DENIED
  no_space,              ///< the filesystem is full (ENOSPC), or too full to write safely: UNAVAILABLE
  space_reserved,        ///< an upload would eat into the free space kept for metadata: UNAVAILABLE
};

/// Whether `ec` says that the storage has no room: `no_space`, `space_reserved`, or ENOSPC
/// or EDQUOT from the system. The registry answers these with 507 Insufficient Storage
/// (not the client's fault, and not a fault of the registry either: an operator frees
/// space, and writes work again).
bool is_out_of_space(std::error_code ec) noexcept;

/// The category of `storage_error`, named "pier.storage".
std::error_category const& storage_category() noexcept;

inline std::error_code make_error_code(storage_error e) noexcept {
  return {static_cast<int>(e), storage_category()};
}

} // namespace storage
PIER_END_NAMESPACE

template <>
struct std::is_error_code_enum<pier::storage::storage_error> : std::true_type {};

#include <pier/storage/impl/error.hpp>

#endif // PIER_STORAGE_ERROR_HPP
