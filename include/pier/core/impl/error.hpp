// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_CORE_IMPL_ERROR_HPP
#define PIER_CORE_IMPL_ERROR_HPP

PIER_BEGIN_NAMESPACE

namespace detail {

struct oci_error_info {
  std::string_view code;
  std::string_view message;
  int status;
};

constexpr oci_error_info oci_error_table(oci_error e) noexcept {
  switch (e) {
  case oci_error::blob_unknown: return {"BLOB_UNKNOWN", "blob unknown to registry", 404};
  case oci_error::blob_upload_invalid: return {"BLOB_UPLOAD_INVALID", "blob upload invalid", 400};
  case oci_error::blob_upload_unknown:
    return {"BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry", 404};
  case oci_error::digest_invalid:
    return {"DIGEST_INVALID", "provided digest did not match uploaded content", 400};
  case oci_error::manifest_blob_unknown:
    return {"MANIFEST_BLOB_UNKNOWN", "manifest references a manifest or blob unknown to registry",
            400};
  case oci_error::manifest_invalid: return {"MANIFEST_INVALID", "manifest invalid", 400};
  case oci_error::manifest_unknown:
    return {"MANIFEST_UNKNOWN", "manifest unknown to registry", 404};
  case oci_error::name_invalid: return {"NAME_INVALID", "invalid repository name", 400};
  case oci_error::name_unknown:
    return {"NAME_UNKNOWN", "repository name not known to registry", 404};
  case oci_error::size_invalid:
    return {"SIZE_INVALID", "provided length did not match content length", 400};
  case oci_error::unauthorized: return {"UNAUTHORIZED", "authentication required", 401};
  case oci_error::denied: return {"DENIED", "requested access to the resource is denied", 403};
  case oci_error::unsupported: return {"UNSUPPORTED", "the operation is unsupported", 405};
  case oci_error::too_many_requests: return {"TOOMANYREQUESTS", "too many requests", 429};
  case oci_error::tag_invalid: return {"TAG_INVALID", "manifest tag did not match URI", 400};
  case oci_error::manifest_unverified:
    return {"MANIFEST_UNVERIFIED", "manifest failed signature verification", 400};
  case oci_error::range_invalid: return {"RANGE_INVALID", "invalid content range", 416};
  case oci_error::pagination_number_invalid:
    return {"PAGINATION_NUMBER_INVALID", "invalid number of results requested", 400};
  case oci_error::unavailable: return {"UNAVAILABLE", "service unavailable", 503};
  case oci_error::unknown: break;
  }
  return {"UNKNOWN", "unknown error", 500};
}

class oci_category_impl final : public std::error_category {
public:
  char const* name() const noexcept override { return "pier.oci"; }
  std::string message(int ev) const override {
    return std::string(oci_error_table(static_cast<oci_error>(ev)).message);
  }
};

} // namespace detail

constexpr std::string_view code_string(oci_error e) noexcept {
  return detail::oci_error_table(e).code;
}

constexpr std::string_view default_message(oci_error e) noexcept {
  return detail::oci_error_table(e).message;
}

constexpr int http_status(oci_error e) noexcept { return detail::oci_error_table(e).status; }

inline std::error_category const& oci_category() noexcept {
  static detail::oci_category_impl const instance;
  return instance;
}

inline oci_error to_oci_error(std::error_code ec) noexcept {
  if (ec.category() == oci_category())
    return static_cast<oci_error>(ec.value());
  std::error_condition const cond = ec.default_error_condition();
  if (cond.category() == oci_category())
    return static_cast<oci_error>(cond.value());
  return oci_error::unknown;
}

PIER_END_NAMESPACE

#endif // PIER_CORE_IMPL_ERROR_HPP
