// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_STORAGE_IMPL_ERROR_HPP
#define PIER_STORAGE_IMPL_ERROR_HPP

#include <cerrno>
#include <string>

PIER_BEGIN_NAMESPACE
namespace storage {
namespace detail {

struct storage_error_info {
  char const* message;
  oci_error oci;
};

constexpr storage_error_info storage_error_table(storage_error e) noexcept {
  switch (e) {
  case storage_error::blob_unknown: return {"blob unknown", oci_error::blob_unknown};
  case storage_error::upload_unknown:
    return {"blob upload unknown", oci_error::blob_upload_unknown};
  case storage_error::upload_offset_mismatch:
    return {"chunk does not start at the end of the upload", oci_error::range_invalid};
  case storage_error::size_mismatch:
    return {"blob size differs from the size given", oci_error::size_invalid};
  case storage_error::range_invalid:
    return {"range starts past the end of the blob", oci_error::range_invalid};
  case storage_error::manifest_unknown:
    return {"manifest unknown in this repository", oci_error::manifest_unknown};
  case storage_error::tag_unknown:
    return {"tag unknown in this repository", oci_error::manifest_unknown};
  case storage_error::name_unknown: return {"repository unknown", oci_error::name_unknown};
  case storage_error::manifest_blob_unknown:
    return {"manifest references a blob or manifest the repository does not hold",
            oci_error::manifest_blob_unknown};
  case storage_error::corrupt: return {"stored data is corrupt", oci_error::unknown};
  case storage_error::user_unknown: return {"user unknown", oci_error::denied};
  case storage_error::org_unknown: return {"organisation unknown", oci_error::name_unknown};
  case storage_error::name_taken:
    return {"a user or organisation has this name", oci_error::denied};
  case storage_error::member_unknown:
    return {"not a member of the organisation", oci_error::name_unknown};
  case storage_error::token_unknown: return {"access token unknown", oci_error::denied};
  case storage_error::quota_exceeded: return {"quota of the namespace exceeded", oci_error::denied};
  case storage_error::name_reserved:
    return {"the namespace of this name is in use or reserved", oci_error::denied};
  case storage_error::namespace_in_use:
    return {"the namespace still holds repositories", oci_error::denied};
  case storage_error::last_admin: return {"the last admin cannot go", oci_error::denied};
  case storage_error::invitation_unknown:
    return {"no invitation to the organisation", oci_error::name_unknown};
  case storage_error::org_limit_reached:
    return {"the user may create no more organisations", oci_error::denied};
  case storage_error::no_space:
    return {"no space left on the registry's data filesystem (ENOSPC); writes resume once "
            "space is freed",
            oci_error::unavailable};
  case storage_error::space_reserved:
    return {"free space of the registry's data filesystem is below the floor kept for "
            "metadata: uploads are refused until space is freed",
            oci_error::unavailable};
  }
  return {"unknown storage error", oci_error::unknown};
}

class storage_category_impl final : public std::error_category {
public:
  char const* name() const noexcept override { return "pier.storage"; }
  std::string message(int ev) const override {
    return storage_error_table(static_cast<storage_error>(ev)).message;
  }
  std::error_condition default_error_condition(int ev) const noexcept override {
    return {static_cast<int>(storage_error_table(static_cast<storage_error>(ev)).oci),
            oci_category()};
  }
};

} // namespace detail

inline std::error_category const& storage_category() noexcept {
  static detail::storage_category_impl const instance;
  return instance;
}

inline bool is_out_of_space(std::error_code ec) noexcept {
  if (ec.category() == storage_category())
    return ec == storage_error::no_space || ec == storage_error::space_reserved;
  std::error_condition const c = ec.default_error_condition();
  return c == std::errc::no_space_on_device || c == std::error_condition(EDQUOT, std::generic_category());
}

} // namespace storage
PIER_END_NAMESPACE

#endif // PIER_STORAGE_IMPL_ERROR_HPP
