#include <pier/http/router.hpp>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace router_test {

using namespace pier::http;

// Runs one request through `r`: method, target; the response.
inline response call(router const& r, std::string method, std::string target) {
  asio::io_context io;
  string_body_reader body;
  request_head head;
  head.set_method(std::move(method));
  head.set_target(std::move(target));
  request req(std::move(head), body, "127.0.0.1");
  auto f = asio::co_spawn(io, r.handle(req), asio::use_future);
  io.run();
  return f.get();
}

// The body of a response that has a string body.
inline std::string text_of(response const& r) {
  auto const* s = std::get_if<std::string>(&r.body());
  return s ? *s : std::string();
}

// A handler that answers 200 with `tag` and the route's parameters, `k=v;`.
inline route_handler echo(std::string tag) {
  return [tag](context& c) -> asio::awaitable<response> {
    std::string body = tag + ":";
    for (char const* k : {"name", "digest", "id", "reference"})
      if (!c.param(k).empty())
        body.append(k).append("=").append(c.param(k)).append(";");
    co_return response::text(200, body);
  };
}

inline std::optional<std::vector<std::pair<std::string, std::string>>>
match(std::string_view pattern, std::string_view target) {
  auto t = parse_target(target);
  if (!t)
    return std::nullopt;
  return path_pattern(pattern).match(t->segments);
}

TEST(http_target, segments_are_decoded_one_by_one_and_the_query_kept_encoded) {
  auto t = parse_target("/v2/a%2Fb/tags/list?n=1&last=x%2By");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->segments, (std::vector<std::string>{"v2", "a/b", "tags", "list"}));
  EXPECT_EQ(t->query, "n=1&last=x%2By");
  EXPECT_TRUE(t->has_query);
  auto abs = parse_target("http://host:5000/v2/");
  ASSERT_TRUE(abs);
  EXPECT_EQ(abs->segments, (std::vector<std::string>{"v2", ""}));
  EXPECT_FALSE(abs->has_query);
  EXPECT_FALSE(parse_target("*"));
  EXPECT_FALSE(parse_target("/v2/%zz"));
  EXPECT_FALSE(parse_target("v2/"));
}

TEST(http_path_pattern, literals_one_segment_and_rest_parameters) {
  EXPECT_TRUE(match("/v2/", "/v2/"));
  EXPECT_FALSE(match("/v2/", "/v2"));
  EXPECT_TRUE(match("/v2", "/v2"));
  EXPECT_FALSE(match("/v2", "/v2/"));

  auto m = match("/v2/{name*}/blobs/{digest}", "/v2/a/b/c/blobs/sha256:1");
  ASSERT_TRUE(m);
  EXPECT_EQ(*m, (std::vector<std::pair<std::string, std::string>>{{"name", "a/b/c"},
                                                                   {"digest", "sha256:1"}}));
  // The rest takes one segment at least, empty ones too; a one-segment parameter is never
  // empty.
  EXPECT_FALSE(match("/v2/{name*}/tags/list", "/v2/tags/list"));
  auto empty = match("/v2/{name*}/tags/list", "/v2/a//b/tags/list");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->front().second, "a//b");
  EXPECT_FALSE(match("/v2/{name*}/blobs/{digest}", "/v2/a/blobs/"));
  EXPECT_TRUE(match("/v2/{name*}/blobs/uploads/", "/v2/a/blobs/uploads/"));
  // Decoded segments are compared: an encoded '/' inside the name stays one segment.
  auto enc = match("/v2/{name*}/manifests/{reference}", "/v2/a%2Fb/manifests/v1");
  ASSERT_TRUE(enc);
  EXPECT_EQ(enc->front().second, "a/b");

  EXPECT_THROW(path_pattern("v2/"), std::invalid_argument);
  EXPECT_THROW(path_pattern("/{a*}/{b*}"), std::invalid_argument);
  EXPECT_THROW(path_pattern("/{}"), std::invalid_argument);
  EXPECT_THROW(path_pattern("/{a"), std::invalid_argument);
}

TEST(http_router, the_first_matching_endpoint_decides_and_other_methods_are_405) {
  router r;
  r.add("/v2/{name*}/blobs/uploads", {{"POST", access_need::push, echo("start")}});
  r.add("/v2/{name*}/blobs/{digest}",
        {{"GET", access_need::pull, echo("blob")}, {"DELETE", access_need::remove, echo("delete")}});
  EXPECT_EQ(text_of(call(r, "GET", "/v2/a/b/blobs/sha256:1")), "blob:name=a/b;digest=sha256:1;");
  EXPECT_EQ(text_of(call(r, "POST", "/v2/a/blobs/uploads")), "start:name=a;");
  // `uploads` is not a digest here: the earlier endpoint has the path, and no GET.
  response const not_allowed = call(r, "GET", "/v2/a/blobs/uploads");
  EXPECT_EQ(not_allowed.status(), 405);
  EXPECT_EQ(not_allowed.headers().find("Allow"), "POST");
  EXPECT_EQ(call(r, "PUT", "/v2/a/blobs/sha256:1").headers().find("Allow"), "GET, DELETE");
  EXPECT_EQ(call(r, "GET", "/v3/").status(), 404);
  EXPECT_EQ(call(r, "GET", "/v2/%zz").status(), 404);
}

TEST(http_router, middleware_runs_outermost_first_and_sees_the_route_and_its_access) {
  router r;
  std::vector<std::string> seen;
  r.add("/v2/{name*}/manifests/{reference}",
        {{"GET", access_need::pull, echo("get")}, {"PUT", access_need::push, echo("put")}});
  r.use([&](context& c, route_handler const& next) -> asio::awaitable<response> {
    seen.push_back("outer " + std::string(c.repository()));
    response res = co_await next(c);
    res.headers().set("X-Outer", "1");
    co_return res;
  });
  r.use([&](context& c, route_handler const& next) -> asio::awaitable<response> {
    seen.push_back(c.need() == access_need::push ? "inner push" : "inner pull");
    if (c.need() == access_need::push)
      co_return response(403); // refused: the handler never runs
    co_return co_await next(c);
  });
  response const ok = call(r, "GET", "/v2/team/app/manifests/v1");
  EXPECT_EQ(text_of(ok), "get:name=team/app;reference=v1;");
  EXPECT_EQ(ok.headers().find("X-Outer"), "1");
  response const refused = call(r, "PUT", "/v2/team/app/manifests/v1");
  EXPECT_EQ(refused.status(), 403);
  EXPECT_EQ(refused.headers().find("X-Outer"), "1");
  EXPECT_EQ(seen, (std::vector<std::string>{"outer team/app", "inner pull", "outer team/app",
                                            "inner push"}));
}

TEST(http_router, prepare_answers_before_the_middleware_and_fills_the_context) {
  router r;
  bool asked = false;
  endpoint e{path_pattern("/items/{id}"), {{"GET", access_need::pull, [](context& c)
                                                -> asio::awaitable<response> {
                                              co_return response::text(
                                                  200, std::any_cast<std::string>(c.data()));
                                            }}}};
  e.repository_param = "id";
  e.prepare = [](context& c) -> std::optional<response> {
    if (c.param("id") == "bad")
      return response(400);
    c.data() = std::string("item ") + std::string(c.param("id"));
    return std::nullopt;
  };
  r.add(std::move(e));
  r.use([&](context& c, route_handler const& next) -> asio::awaitable<response> {
    asked = true;
    co_return co_await next(c);
  });
  EXPECT_EQ(call(r, "GET", "/items/bad").status(), 400);
  EXPECT_FALSE(asked);
  EXPECT_EQ(text_of(call(r, "GET", "/items/7")), "item 7");
  EXPECT_TRUE(asked);
}

TEST(http_router, the_caller_may_is_the_one_decision_and_allows_all_without_one) {
  router r;
  r.add("/list", {{"GET", access_need::catalog, [](context& c) -> asio::awaitable<response> {
                     std::string out;
                     for (char const* repo : {"a/x", "b/y", "a/z"})
                       if (co_await c.may(access_need::pull, repo))
                         out.append(repo).append(" ");
                     co_return response::text(200, out);
                   }}});
  EXPECT_EQ(text_of(call(r, "GET", "/list")), "a/x b/y a/z ");
  r.use([](context& c, route_handler const& next) -> asio::awaitable<response> {
    c.caller().name = "alice";
    c.caller().authenticated = true;
    c.caller().may = [](access_need what, std::string repo) -> asio::awaitable<bool> {
      co_return what == access_need::pull && repo.starts_with("a/");
    };
    co_return co_await next(c);
  });
  EXPECT_EQ(text_of(call(r, "GET", "/list")), "a/x a/z ");
}

} // namespace router_test
