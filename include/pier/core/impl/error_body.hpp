// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_CORE_IMPL_ERROR_BODY_HPP
#define PIER_CORE_IMPL_ERROR_BODY_HPP

PIER_BEGIN_NAMESPACE

inline std::string error_body(std::span<error_entry const> errors) {
  boost::json::array list;
  list.reserve(errors.size());
  for (error_entry const& e : errors) {
    boost::json::object o;
    o["code"] = code_string(e.code);
    o["message"] = e.message.empty() ? default_message(e.code) : std::string_view(e.message);
    o["detail"] = e.detail;
    list.emplace_back(std::move(o));
  }
  boost::json::object body;
  body["errors"] = std::move(list);
  return boost::json::serialize(body);
}

inline std::string error_body(oci_error code, std::string_view message, boost::json::value detail) {
  error_entry const e{code, std::string(message), std::move(detail)};
  return error_body(std::span<error_entry const>(&e, 1));
}

PIER_END_NAMESPACE

#endif // PIER_CORE_IMPL_ERROR_BODY_HPP
