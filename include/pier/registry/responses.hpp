// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_REGISTRY_RESPONSES_HPP
#define PIER_REGISTRY_RESPONSES_HPP

/// @file
/// The answers the registry's APIs give, for APIs added beside them (auth's accounts API,
/// and later ones) so that every JSON API of a server answers alike: OCI error bodies with
/// their status (a store's error mapped as the registry maps it: 507 for a full disk, 503
/// when out of descriptors, 500 for what is not the client's fault), 405 with `Allow`, a body
/// that could not be read, and the paging values (`n`, a `Link`'s query values).
///
/// @code
/// pier::http::response r = pier::registry::error_response(pier::oci_error::name_unknown,
///                                                         "no such user");
/// assert(r.status() == 404);
/// assert(pier::registry::parse_page_size("20") == 20u);
/// assert(pier::registry::query_encode("ctr/tiny") == "ctr%2Ftiny");
/// @endcode

#include <pier/config.hpp>
#include <pier/core/error.hpp>
#include <pier/http/response.hpp>
#include <pier/registry/detail/responses.hpp>

#include <boost/json/value.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

PIER_BEGIN_NAMESPACE
namespace registry {

/// `{"errors":[{"code","message","detail"}]}` with the code's status unless `status` says
/// otherwise.
inline http::response error_response(oci_error code, std::string_view message = {},
                                     boost::json::value detail = nullptr, int status = 0) {
  return detail::error(code, message, std::move(detail), status);
}

/// The answer to a store's or the core's error, as the registry gives it.
inline http::response error_response(std::error_code ec) { return detail::error(ec); }

/// 405 UNSUPPORTED with `Allow: <allow>`.
inline http::response method_not_allowed(std::string_view allow) {
  return detail::method_not_allowed(allow);
}

/// A request body that could not be read (408 stalled, 413 too large, ...), with `code`.
inline http::response body_failure(std::error_code ec, oci_error code) {
  return detail::body_failure(ec, code);
}

/// `n` of a paged listing: digits only, saturating at SIZE_MAX; nothing when invalid.
inline std::optional<std::size_t> parse_page_size(std::string_view s) noexcept {
  return detail::parse_page_size(s);
}

/// A query value percent-encoded as the reference registry writes `Link` values.
inline std::string query_encode(std::string_view s) { return detail::query_encode(s); }

} // namespace registry
PIER_END_NAMESPACE

#endif // PIER_REGISTRY_RESPONSES_HPP
