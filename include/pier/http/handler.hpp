// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_HTTP_HANDLER_HPP
#define PIER_HTTP_HANDLER_HPP

/// @file
/// The one thing the server calls: a coroutine that turns a request into a response.
///
/// @code
/// pier::http::handler hello = [](pier::http::request& req) ->
/// asio::awaitable<pier::http::response> {
///   co_return pier::http::response::text(200, "hello from " + std::string(req.target()));
/// };
/// @endcode
///
/// A handler may read the request body (`req.body()`), leave it unread (the server then
/// drains a little or closes the connection), or throw: the server answers 500, logs, and
/// goes on serving. The request and its body reader are valid until the coroutine ends.

#include <pier/config.hpp>
#include <pier/http/request.hpp>
#include <pier/http/response.hpp>

#include <asio/awaitable.hpp>

#include <functional>

PIER_BEGIN_NAMESPACE
namespace http {

/// Turns a request into a response; runs on the connection's executor.
using handler = std::function<asio::awaitable<response>(request&)>;

} // namespace http
PIER_END_NAMESPACE

#endif // PIER_HTTP_HANDLER_HPP
