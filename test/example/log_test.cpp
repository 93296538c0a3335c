#include "log.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <regex>
#include <string>

#include <fcntl.h>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using pier_registry::log_level;
using pier_registry::log_line;

TEST(ExampleLog, LineStartsWithTimeLevelAndMessage) {
  std::chrono::system_clock::time_point const t{1714564800123ms}; // 2024-05-01T12:00:00.123Z
  log_line const line(log_level::warn, "hello", t);
  EXPECT_EQ(line.str(), "ts=2024-05-01T12:00:00.123Z level=warn msg=hello");
  EXPECT_EQ(line.level(), log_level::warn);
  EXPECT_EQ(log_line::timestamp(std::chrono::system_clock::time_point{}),
            "1970-01-01T00:00:00.000Z");
  EXPECT_TRUE(std::regex_match(
      log_line(log_level::info, "x").str(),
      std::regex(R"(ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=info msg=x)")));
}

TEST(ExampleLog, ValuesAreQuotedWhenTheyNeedIt) {
  std::chrono::system_clock::time_point const t{};
  log_line line(log_level::info, "two words", t);
  line.add("plain", "/v2/library/ubuntu/blobs/sha256:abc")
      .add("empty", "")
      .add("eq", "a=b")
      .add("quote", "say \"hi\"")
      .add("backslash", "a\\b")
      .add("control", "a\nb\tc\rd\x01")
      .add("utf8", "caf\xc3\xa9")
      .add("n", 42)
      .add("big", std::uint64_t{18446744073709551615u})
      .add("neg", -3)
      .add("duration_ms", std::chrono::nanoseconds(1234567));
  EXPECT_EQ(line.str(), "ts=1970-01-01T00:00:00.000Z level=info msg=\"two words\""
                        " plain=/v2/library/ubuntu/blobs/sha256:abc empty=\"\" eq=\"a=b\""
                        " quote=\"say \\\"hi\\\"\" backslash=\"a\\\\b\""
                        " control=\"a\\nb\\tc\\rd\\x01\" utf8=\"caf\\xc3\\xa9\" n=42"
                        " big=18446744073709551615 neg=-3 duration_ms=1.234");
  EXPECT_EQ(log_line(log_level::info, "x", t).add("d", std::chrono::nanoseconds(0)).str(),
            "ts=1970-01-01T00:00:00.000Z level=info msg=x d=0.000");
  EXPECT_EQ(log_line(log_level::info, "x", t).add("d", std::chrono::seconds(2)).str(),
            "ts=1970-01-01T00:00:00.000Z level=info msg=x d=2000.000");
}

TEST(ExampleLog, QueriesKeepNoSecrets) {
  using pier_registry::redacted_query;
  EXPECT_EQ(redacted_query("/v2/"), "");
  EXPECT_EQ(redacted_query("/v2/?"), "");
  EXPECT_EQ(redacted_query("/v2/a/blobs/uploads/?digest=sha256:00"), "digest=sha256:00");
  EXPECT_EQ(redacted_query("/v2/a/tags/list?n=10&last=v1"), "n=10&last=v1");
  EXPECT_EQ(redacted_query("/x?mount=sha256:1&from=b/c"), "mount=sha256:1&from=b/c");
  EXPECT_EQ(redacted_query("/auth?access_token=abc&scope=repository:a:pull"),
            "access_token=REDACTED&scope=repository:a:pull");
  EXPECT_EQ(redacted_query("/x?password=hunter2&Token=t&X-Amz-Signature=s&apikey=k&flag"),
            "password=REDACTED&Token=REDACTED&X-Amz-Signature=REDACTED&apikey=REDACTED&flag");
  EXPECT_EQ(redacted_query("/x?a=1&&b=2&"), "a=1&&b=2&");
  // Short names are secrets only as whole names.
  EXPECT_EQ(redacted_query("/x?pw=hunter2&jwt=eyJ.x.y&PWD=p&sig=s&otp=1&pin=2"),
            "pw=REDACTED&jwt=REDACTED&PWD=REDACTED&sig=REDACTED&otp=REDACTED&pin=REDACTED");
  EXPECT_EQ(redacted_query("/x?client_secret=s&client_assertion=a&id_jwt=j&X-Amz-Credential=c"
                           "&X-Amz-Security-Token=t&code=c"),
            "client_secret=REDACTED&client_assertion=REDACTED&id_jwt=REDACTED"
            "&X-Amz-Credential=REDACTED&X-Amz-Security-Token=REDACTED&code=REDACTED");
  EXPECT_EQ(redacted_query("/x?pwned=1&signal=2&spin=3"), "pwned=1&signal=2&spin=3");
  EXPECT_EQ(pier_registry::target_path("/v2/a/tags/list?n=1"), "/v2/a/tags/list");
  EXPECT_EQ(pier_registry::target_path("/v2/"), "/v2/");
}

TEST(ExampleLog, RequestLineCarriesUserAgentIdAndBytesBothWays) {
  pier::http::access_log_entry e;
  e.method = "PATCH";
  e.target = "/v2/alice/app/blobs/uploads/5f0c?pw=hunter2";
  e.status = 202;
  e.body_bytes = 0;
  e.received_bytes = 5242880;
  e.duration = std::chrono::microseconds(3112);
  e.client_address = "10.0.0.7";
  e.principal = "alice";
  e.user_agent = "docker/24.0.7 go/go1.20.10";
  e.request_id = "3f9a0c1d2e4b5a69";
  std::string const line = pier_registry::request_line(e).str();
  EXPECT_NE(line.find(" level=info msg=request method=PATCH path=/v2/alice/app/blobs/uploads/5f0c"
                      " query=\"pw=REDACTED\" status=202 bytes=0 received=5242880"
                      " duration_ms=3.112 client=10.0.0.7 user=alice"
                      " agent=\"docker/24.0.7 go/go1.20.10\" request_id=3f9a0c1d2e4b5a69"),
            std::string::npos)
      << line;
  EXPECT_EQ(line.find("hunter2"), std::string::npos);

  e.principal = {};
  e.user_agent = {};
  std::string const anonymous = pier_registry::request_line(e).str();
  EXPECT_NE(anonymous.find(" user=anonymous agent=\"\" request_id="), std::string::npos)
      << anonymous;
}

TEST(ExampleLog, ServerErrorsAreLoggedAtErrorWithTheirCause) {
  pier::http::access_log_entry e;
  e.method = "PUT";
  e.target = "/v2/a/manifests/v1";
  e.status = 500;
  e.error_body = R"({"errors":[{"code":"UNKNOWN","message":"RocksDB: No space left on device"}]})";
  pier_registry::log_line const line = pier_registry::request_line(e);
  EXPECT_EQ(line.level(), log_level::error);
  EXPECT_NE(line.str().find("msg=request method=PUT "), std::string::npos) << line.str();
  EXPECT_NE(line.str().find(" error=\"{\\\"errors\\\":[{\\\"code\\\":\\\"UNKNOWN\\\",\\\"message\\\":"
                            "\\\"RocksDB: No space left on device\\\"}]}\""),
            std::string::npos)
      << line.str();
  e.status = 404;
  EXPECT_EQ(pier_registry::request_line(e).level(), log_level::info);
  EXPECT_EQ(pier_registry::request_line(e).str().find("error="), std::string::npos);
}

TEST(ExampleLog, TlsHandshakeOnThePlainPortIsToldAsSuch) {
  pier::http::access_log_entry e; // what the server reports: no method, no path
  e.status = 400;
  e.client_address = "10.0.0.7";
  e.tls_handshake = true;
  std::string const line = pier_registry::request_line(e).str();
  EXPECT_NE(line.find("msg=\"TLS handshake on the plain HTTP port, answered 400\" client=10.0.0.7"),
            std::string::npos)
      << line;
  EXPECT_EQ(line.find("method="), std::string::npos);
}

TEST(ExampleLog, GcLineSaysWhatTheRunDid) {
  pier::registry::gc_report r;
  r.candidates = 3;
  r.blobs_removed = 2;
  r.bytes_freed = 4096;
  r.orphans_removed = 1;
  r.manifests_removed = 5;
  r.uploads_expired = 6;
  r.duration = std::chrono::microseconds(1500);
  std::string const line = pier_registry::gc_line(r).str();
  EXPECT_NE(line.find(" level=info msg=\"garbage collection\" candidates=3 blobs_removed=2"
                      " bytes_freed=4096 manifests_removed=5 uploads_expired=6 orphans_removed=1"
                      " duration_ms=1.500"),
            std::string::npos)
      << line;
  EXPECT_EQ(line.find("errors="), std::string::npos);
  r.errors = {"blob sha256:ab: No space left on device", "another"};
  std::string const failed = pier_registry::gc_line(r).str();
  EXPECT_NE(failed.find(" errors=2 first_error=\"blob sha256:ab: No space left on device\""),
            std::string::npos)
      << failed;
}

TEST(ExampleLog, LoggerFiltersByLevelAndWritesWholeLines) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pier_registry::logger const log(log_level::warn, fds[1]);
  EXPECT_FALSE(log.enabled(log_level::debug));
  EXPECT_FALSE(log.enabled(log_level::info));
  EXPECT_TRUE(log.enabled(log_level::warn));
  EXPECT_TRUE(log.enabled(log_level::error));
  std::chrono::system_clock::time_point const t{};
  log.write(log_line(log_level::info, "request", t));
  log.write(log_line(log_level::error, "failed", t));
  log.write_always(log_line(log_level::info, "started", t));
  ::close(fds[1]);
  std::string out;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
    out.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  EXPECT_EQ(out, "ts=1970-01-01T00:00:00.000Z level=error msg=failed\n"
                 "ts=1970-01-01T00:00:00.000Z level=info msg=started\n");
}

} // namespace
