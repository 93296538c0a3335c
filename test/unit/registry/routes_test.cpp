// SPDX-License-Identifier: Apache-2.0
#include <pier/core/hasher.hpp>
#include <pier/registry/routes.hpp>
#include <pier/registry/v2.hpp>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>

#include <gtest/gtest.h>

#include <cassert>
#include <string>
#include <vector>

namespace routes_test {

using pier::registry::parse_route;
using pier::registry::route;
using pier::registry::route_error;
using pier::registry::route_kind;

std::string const d1 = pier::digest_of("one").str();
std::string const id = "0f8fad5b-d9cb-469f-a165-70867728950e";

route ok(std::string const& target) {
  pier::result<route> r = parse_route(target);
  EXPECT_TRUE(r) << target << ": " << r.error().message();
  return r ? *r : route{};
}

std::error_code fails(std::string const& target) {
  pier::result<route> r = parse_route(target);
  EXPECT_FALSE(r) << target << " parsed as kind " << static_cast<int>(r->kind) << " name "
                  << r->name;
  return r.error();
}

TEST(Routes, DocExamples) {
  using namespace pier::registry;
  pier::result<route> r = parse_route("/v2/team/app/manifests/v1.2?ignored=1");
  assert(r && r->kind == route_kind::manifest && r->name == "team/app" && r->tag == "v1.2");
  r = parse_route("/v2/a/blobs/b/tags/list?n=10&last=v1");
  assert(r && r->kind == route_kind::tags && r->name == "a/blobs/b");
  assert(r->query.n == 10u && r->query.last == "v1");
  assert(parse_route("/v2/Upper/tags/list").error() == route_error::invalid_name);
  assert(parse_route("/v3/").error() == route_error::not_found);

  auto m = pier::registry::parse_route(
      "/v2/lib/app/blobs/uploads/?mount=" + pier::digest_of("x").str() + "&from=lib/base");
  assert(m && m->kind == pier::registry::route_kind::uploads && m->query.from == "lib/base");
  EXPECT_TRUE(r && m);
}

TEST(Routes, Base) {
  EXPECT_EQ(ok("/v2/").kind, route_kind::base);
  EXPECT_EQ(ok("/v2").kind, route_kind::base);
  EXPECT_EQ(ok("/v2/?x=1").kind, route_kind::base);
  EXPECT_EQ(ok("http://registry.example:5000/v2/").kind, route_kind::base);
  EXPECT_EQ(ok("/v2/_catalog").kind, route_kind::catalog);
}

TEST(Routes, EveryEndpoint) {
  route r = ok("/v2/library/ubuntu/tags/list");
  EXPECT_EQ(r.kind, route_kind::tags);
  EXPECT_EQ(r.name, "library/ubuntu");

  r = ok("/v2/library/ubuntu/manifests/latest");
  EXPECT_EQ(r.kind, route_kind::manifest);
  EXPECT_EQ(r.tag, "latest");
  EXPECT_TRUE(r.digest.empty());

  r = ok("/v2/library/ubuntu/manifests/" + d1);
  EXPECT_EQ(r.kind, route_kind::manifest);
  EXPECT_TRUE(r.tag.empty());
  EXPECT_EQ(r.digest.str(), d1);

  r = ok("/v2/a/blobs/" + d1);
  EXPECT_EQ(r.kind, route_kind::blob);
  EXPECT_EQ(r.name, "a");
  EXPECT_EQ(r.digest.str(), d1);

  r = ok("/v2/a/b/c/blobs/uploads/");
  EXPECT_EQ(r.kind, route_kind::uploads);
  EXPECT_EQ(r.name, "a/b/c");

  r = ok("/v2/a/blobs/uploads"); // without the slash: the same endpoint
  EXPECT_EQ(r.kind, route_kind::uploads);
  EXPECT_EQ(r.name, "a");

  r = ok("/v2/a/blobs/uploads/" + id);
  EXPECT_EQ(r.kind, route_kind::upload);
  EXPECT_EQ(r.upload_id, id);

  r = ok("/v2/a/referrers/" + d1);
  EXPECT_EQ(r.kind, route_kind::referrers);
  EXPECT_EQ(r.digest.str(), d1);
}

TEST(Routes, NamesContainingTheKeywords) {
  route r = ok("/v2/blobs/manifests/tags/blobs/" + d1);
  EXPECT_EQ(r.kind, route_kind::blob);
  EXPECT_EQ(r.name, "blobs/manifests/tags");

  r = ok("/v2/x/blobs/manifests/latest");
  EXPECT_EQ(r.kind, route_kind::manifest);
  EXPECT_EQ(r.name, "x/blobs");

  r = ok("/v2/manifests/tags/list");
  EXPECT_EQ(r.kind, route_kind::tags);
  EXPECT_EQ(r.name, "manifests");

  r = ok("/v2/tags/list/tags/list");
  EXPECT_EQ(r.kind, route_kind::tags);
  EXPECT_EQ(r.name, "tags/list");

  r = ok("/v2/a/blobs/uploads/b/blobs/uploads/");
  EXPECT_EQ(r.kind, route_kind::uploads);
  EXPECT_EQ(r.name, "a/blobs/uploads/b");

  r = ok("/v2/uploads/blobs/uploads/" + id);
  EXPECT_EQ(r.kind, route_kind::upload);
  EXPECT_EQ(r.name, "uploads");

  r = ok("/v2/referrers/referrers/" + d1);
  EXPECT_EQ(r.kind, route_kind::referrers);
  EXPECT_EQ(r.name, "referrers");

  r = ok("/v2/v2/manifests/v2");
  EXPECT_EQ(r.name, "v2");
  EXPECT_EQ(r.tag, "v2");
}

TEST(Routes, NotRegistryPaths) {
  for (std::string const& t : std::vector<std::string>{
           "/", "/v1/_ping", "/v3/", "/v2x/", "/v2/foo", "/v2/foo/bar", "/v2/_catalog/",
           "/v2/tags/list", "/v2/manifests/latest", "/v2/blobs/uploads/", "/v2/a/tags/list/",
           "/v2/a/tags", "/v2/a/manifests/", "/v2/a/manifests/latest/", "/v2/a/blobs/",
           "/v2/a/referrers/", "/V2/a/tags/list", "*", "/v2/a/blobs/uploads//"})
    EXPECT_EQ(fails(t), route_error::not_found) << t;
}

TEST(Routes, MalformedTargets) {
  for (std::string const& t : std::vector<std::string>{"/v2/a%zz/tags/list", "/v2/a%/tags/list",
                                                       "http://[::1/v2/", "v2/a/tags/list"})
    EXPECT_EQ(fails(t), route_error::malformed_target) << t;
  EXPECT_EQ(pier::registry::http_status(route_error::malformed_target), 400);
  EXPECT_EQ(pier::registry::http_status(route_error::not_found), 404);
}

TEST(Routes, InvalidNames) {
  std::string const overlong(256, 'a');
  std::string const longest(255, 'a');
  EXPECT_EQ(ok("/v2/" + longest + "/tags/list").name, longest);
  for (std::string const& t : std::vector<std::string>{
           "/v2/Upper/tags/list", "/v2/a//b/tags/list", "/v2//tags/list", "/v2/-a/tags/list",
           "/v2/a-/manifests/x", "/v2/a..b/blobs/uploads/", "/v2/a/../b/tags/list",
           "/v2/../../etc/passwd/tags/list", "/v2/./a/tags/list", "/v2/a%20b/tags/list",
           "/v2/a%00/tags/list", "/v2/%2e%2e/tags/list", "/v2/_catalog/tags/list",
           std::string("/v2/") + overlong + "/tags/list"})
    EXPECT_EQ(fails(t), route_error::invalid_name) << t;
  EXPECT_EQ(pier::to_oci_error(route_error::invalid_name), pier::oci_error::name_invalid);
}

TEST(Routes, PercentEncoding) {
  // Decoded segment by segment: an encoded slash joins name components as '/' would...
  route r = ok("/v2/a%2Fb/tags/list");
  EXPECT_EQ(r.kind, route_kind::tags);
  EXPECT_EQ(r.name, "a/b");
  // ...but never changes which endpoint matches.
  EXPECT_EQ(fails("/v2/a%2Ftags%2Flist"), route_error::not_found);
  EXPECT_EQ(fails("/v2/a/manifests/x%2Fy"), route_error::invalid_tag);
  EXPECT_EQ(fails("/v2/a/blobs/sha256%3Aab%2F"), route_error::invalid_digest);
  // Encoded characters that are allowed read as themselves.
  r = ok("/v2/%61/manifests/" + std::string("sha256%3A") + d1.substr(7));
  EXPECT_EQ(r.name, "a");
  EXPECT_EQ(r.digest.str(), d1);
  EXPECT_EQ(ok("/v2/a/manifests/v%31").tag, "v1");
  // Dots stay literal segments: no normalisation that could climb out of /v2/.
  EXPECT_EQ(fails("/v2/a/%2E%2E/b/tags/list"), route_error::invalid_name);
}

TEST(Routes, ManifestReferences) {
  EXPECT_EQ(ok("/v2/a/manifests/" + std::string(128, 'x')).tag, std::string(128, 'x'));
  EXPECT_EQ(ok("/v2/a/manifests/_x.Y-1").tag, "_x.Y-1");
  for (std::string const& t : std::vector<std::string>{
           "/v2/a/manifests/" + std::string(129, 'x'), std::string("/v2/a/manifests/.x"),
           std::string("/v2/a/manifests/-x"), std::string("/v2/a/manifests/x~y"),
           std::string("/v2/a/manifests/%00")})
    EXPECT_EQ(fails(t), route_error::invalid_tag) << t;
  EXPECT_EQ(pier::to_oci_error(route_error::invalid_tag), pier::oci_error::manifest_invalid);
  // With ':' a reference is a digest, and must be a valid one.
  for (std::string const& t :
       std::vector<std::string>{"/v2/a/manifests/sha256:abc", "/v2/a/manifests/x:y",
                                "/v2/a/manifests/md5:d41d8cd98f00b204e9800998ecf8427e",
                                "/v2/a/manifests/sha256:" + std::string(64, 'A')})
    EXPECT_EQ(fails(t), route_error::invalid_reference) << t;
  EXPECT_EQ(pier::to_oci_error(route_error::invalid_reference), pier::oci_error::digest_invalid);
  // Neither names a manifest: GET, HEAD and DELETE answer them as an unknown manifest.
  EXPECT_TRUE(pier::registry::is_unusable_reference(route_error::invalid_tag));
  EXPECT_TRUE(pier::registry::is_unusable_reference(route_error::invalid_reference));
  EXPECT_FALSE(pier::registry::is_unusable_reference(route_error::invalid_digest));
}

TEST(Routes, Digests) {
  std::string const sha512 = pier::digest_of("x", pier::digest_algorithm::sha512).str();
  EXPECT_EQ(ok("/v2/a/blobs/" + sha512).digest.str(), sha512);
  for (std::string const& t :
       std::vector<std::string>{"/v2/a/blobs/sha256:abc", "/v2/a/blobs/latest",
                                "/v2/a/referrers/latest", "/v2/a/referrers/sha256:"})
    EXPECT_EQ(fails(t), route_error::invalid_digest) << t;
  EXPECT_EQ(pier::to_oci_error(route_error::invalid_digest), pier::oci_error::digest_invalid);
}

TEST(Routes, UploadIds) {
  for (std::string const& t :
       std::vector<std::string>{"/v2/a/blobs/uploads/..", "/v2/a/blobs/uploads/x",
                                "/v2/a/blobs/uploads/0F8FAD5B-D9CB-469F-A165-70867728950E",
                                "/v2/a/blobs/uploads/%2e%2e%2f%2e%2e%2fetc%2fpasswd"})
    EXPECT_EQ(fails(t), route_error::invalid_upload_id) << t;
  EXPECT_EQ(pier::registry::http_status(route_error::invalid_upload_id), 404);
  EXPECT_EQ(pier::to_oci_error(route_error::invalid_upload_id),
            pier::oci_error::blob_upload_unknown);
}

TEST(Routes, Pagination) {
  route r = ok("/v2/a/tags/list?n=5&last=v1.0");
  EXPECT_EQ(r.query.n, 5u);
  EXPECT_EQ(r.query.last, "v1.0");
  r = ok("/v2/_catalog?last=a%2Fb&n=0");
  EXPECT_EQ(r.query.n, 0u);
  EXPECT_EQ(r.query.last, "a/b");
  r = ok("/v2/_catalog?n=99999999999999999999999");
  EXPECT_EQ(r.query.n, SIZE_MAX);
  r = ok("/v2/a/tags/list?n=2&n=x"); // the first one counts
  EXPECT_EQ(r.query.n, 2u);
  r = ok("/v2/a/tags/list");
  EXPECT_FALSE(r.query.n);
  EXPECT_FALSE(r.query.last);
  for (std::string const& t :
       std::vector<std::string>{"/v2/a/tags/list?n=", "/v2/a/tags/list?n=-1",
                                "/v2/a/tags/list?n=1x", "/v2/_catalog?n=+1", "/v2/_catalog?n"})
    EXPECT_EQ(fails(t), route_error::invalid_page_size) << t;
  // Parameters of other endpoints are ignored.
  EXPECT_FALSE(ok("/v2/a/manifests/x?n=bad").query.n);
}

TEST(Routes, UploadParameters) {
  route r = ok("/v2/a/blobs/uploads/?digest=" + d1);
  EXPECT_EQ(r.query.digest->str(), d1);
  r = ok("/v2/a/blobs/uploads/" + id + "?digest=" + d1);
  EXPECT_EQ(r.query.digest->str(), d1);
  r = ok("/v2/a/blobs/uploads/?mount=" + d1 + "&from=b/c");
  EXPECT_EQ(r.query.mount->str(), d1);
  EXPECT_EQ(r.query.from, "b/c");
  r = ok("/v2/a/blobs/uploads/?mount=" + d1 + "&from=b%2Fc");
  EXPECT_EQ(r.query.from, "b/c");
  EXPECT_EQ(fails("/v2/a/blobs/uploads/?digest=sha256:x"), route_error::invalid_digest);
  EXPECT_EQ(fails("/v2/a/blobs/uploads/?digest="), route_error::invalid_digest);
  EXPECT_EQ(fails("/v2/a/blobs/uploads/" + id + "?digest=nope"), route_error::invalid_digest);
  EXPECT_EQ(fails("/v2/a/blobs/uploads/?mount=nope&from=b"), route_error::invalid_digest);
  EXPECT_EQ(fails("/v2/a/blobs/uploads/?mount=" + d1 + "&from=B"), route_error::invalid_name);
  EXPECT_EQ(fails("/v2/a/blobs/uploads/?mount=" + d1 + "&from=../b"), route_error::invalid_name);
  // `mount` and `from` only start uploads.
  EXPECT_FALSE(ok("/v2/a/blobs/uploads/" + id + "?mount=nope").query.mount);
}

TEST(Routes, ArtifactType) {
  route r = ok("/v2/a/referrers/" + d1 + "?artifactType=application/vnd.example+json");
  EXPECT_EQ(r.query.artifact_type, "application/vnd.example+json"); // '+' stays '+'
  r = ok("/v2/a/referrers/" + d1 + "?artifactType=application%2Fvnd.x%2Bjson");
  EXPECT_EQ(r.query.artifact_type, "application/vnd.x+json");
  r = ok("/v2/a/referrers/" + d1 + "?artifactType=");
  EXPECT_FALSE(r.query.artifact_type);
  EXPECT_FALSE(ok("/v2/a/tags/list?artifactType=x").query.artifact_type);
}



// The registry's routes in a router: what each method of each endpoint needs of its caller,
// about which repository; what is refused before any middleware runs; the API version on
// every answer. A middleware records what it was asked and lets everything through.
namespace routes_table_test {

using pier::http::access_need;

struct seen {
  int status = 0;
  access_need need = access_need::open;
  std::string repository;
  bool middleware = false;
  std::string version;
};

inline seen call(std::string method, std::string target) {
  pier::http::router r;
  seen out;
  pier::registry::add_v2_routes(r, [](pier::http::context&) -> asio::awaitable<pier::http::response> {
    co_return pier::http::response(299);
  });
  r.use([&out](pier::http::context& c,
               pier::http::route_handler const& next) -> asio::awaitable<pier::http::response> {
    out.middleware = true;
    out.need = c.need();
    out.repository = std::string(c.repository());
    co_return co_await next(c);
  });
  asio::io_context io;
  pier::http::string_body_reader body;
  pier::http::request_head head;
  head.set_method(std::move(method));
  head.set_target(std::move(target));
  pier::http::request req(std::move(head), body, "127.0.0.1");
  auto f = asio::co_spawn(io, r.handle(req), asio::use_future);
  io.run();
  pier::http::response const res = f.get();
  out.status = res.status();
  out.version = std::string(res.headers().find("Docker-Distribution-API-Version").value_or(""));
  return out;
}

TEST(registry_routes, every_method_of_every_endpoint_needs_its_access) {
  std::string const d = pier::digest_of("x").str();
  std::string const id = pier::storage::make_upload_id();
  struct row {
    char const* method;
    std::string target;
    access_need need;
  };
  std::vector<row> const rows = {
      {"GET", "/v2/", access_need::authenticated},
      {"GET", "/v2", access_need::authenticated},
      {"POST", "/v2/", access_need::authenticated}, // the registry's 405, for callers only
      {"GET", "/v2/_catalog", access_need::catalog},
      {"DELETE", "/v2/_catalog", access_need::authenticated},
      {"GET", "/v2/a/b/tags/list", access_need::pull},
      {"HEAD", "/v2/a/b/manifests/v1", access_need::pull},
      {"PUT", "/v2/a/b/manifests/v1", access_need::push},
      {"DELETE", "/v2/a/b/manifests/" + d, access_need::remove},
      {"POST", "/v2/a/b/manifests/v1", access_need::authenticated},
      {"GET", "/v2/a/b/blobs/" + d, access_need::pull},
      {"DELETE", "/v2/a/b/blobs/" + d, access_need::remove},
      {"PUT", "/v2/a/b/blobs/" + d, access_need::authenticated},
      {"POST", "/v2/a/b/blobs/uploads/", access_need::push},
      {"POST", "/v2/a/b/blobs/uploads", access_need::push},
      {"GET", "/v2/a/b/blobs/uploads/" + id, access_need::push},
      {"PATCH", "/v2/a/b/blobs/uploads/" + id, access_need::push},
      {"GET", "/v2/a/b/referrers/" + d, access_need::pull},
  };
  for (row const& x : rows) {
    SCOPED_TRACE(std::string(x.method) + " " + x.target);
    seen const s = call(x.method, x.target);
    EXPECT_TRUE(s.middleware);
    EXPECT_EQ(s.status, 299);
    EXPECT_EQ(s.need, x.need);
    // The repository of every endpoint that has one, whatever its method needs.
    EXPECT_EQ(s.repository, x.target.starts_with("/v2/a/b/") ? "a/b" : "");
    EXPECT_EQ(s.version, "registry/2.0");
  }
}

TEST(registry_routes, invalid_parts_and_unknown_paths_are_answered_without_asking_the_caller) {
  struct row {
    char const* target;
    int status;
  };
  for (row const& x : {row{"/v2/A/tags/list", 400}, row{"/v2/a/manifests/.bad", 404},
                       row{"/v2/a/blobs/sha256:1", 400}, row{"/v2/a/blobs/uploads/x", 404},
                       row{"/v2/a/nothing", 404}, row{"/v2/_catalog?n=x", 400}}) {
    SCOPED_TRACE(x.target);
    seen const s = call("GET", x.target);
    // Refused before the middleware, or passed through it with nothing to check.
    EXPECT_TRUE(!s.middleware || s.need == access_need::open);
    EXPECT_EQ(s.status, x.status);
    EXPECT_EQ(s.version, "registry/2.0");
  }
  // The pings are open: the middleware sees them with nothing to check.
  seen const ping = call("GET", "/v1/_ping");
  EXPECT_TRUE(ping.middleware);
  EXPECT_EQ(ping.need, access_need::open);
}

} // namespace routes_table_test

} // namespace routes_test
