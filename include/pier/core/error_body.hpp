// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_CORE_ERROR_BODY_HPP
#define PIER_CORE_ERROR_BODY_HPP

/// @file
/// The JSON error body of the OCI Distribution Specification.
///
/// @code
/// std::string body = pier::error_body(pier::oci_error::manifest_unknown, "no such tag");
/// // {"errors":[{"code":"MANIFEST_UNKNOWN","message":"no such tag","detail":null}]}
/// @endcode
///
/// See https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#error-codes

#include <pier/config.hpp>
#include <pier/core/error.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <span>
#include <string>
#include <string_view>

PIER_BEGIN_NAMESPACE

/// One entry of an error body.
struct error_entry {
  oci_error code = oci_error::unknown;
  std::string message; ///< empty: the code's default message
  boost::json::value detail = nullptr;
};

/// `{"errors":[{"code":…,"message":…,"detail":…}]}` for one error.
std::string error_body(oci_error code, std::string_view message = {},
                       boost::json::value detail = nullptr);

/// The same for several errors at once (the spec allows a list).
std::string error_body(std::span<error_entry const> errors);

PIER_END_NAMESPACE

#include <pier/core/impl/error_body.hpp>

#endif // PIER_CORE_ERROR_BODY_HPP
