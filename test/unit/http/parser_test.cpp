#include <pier/http/parser.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace parser_test {

using namespace std::string_literals;
using namespace std::string_view_literals;
using pier::http::body_framing;
using pier::http::chunked_decoder;
using pier::http::parse_error;
using pier::http::request_parser;

// Parses a complete head; returns the error (or success) and the parser for inspection.
std::error_code parse_all(request_parser& p, std::string const& text) {
  auto r = p.parse(text);
  if (!r)
    return r.error();
  if (!*r)
    return std::make_error_code(std::errc::resource_unavailable_try_again); // incomplete
  return {};
}

TEST(RequestParser, SimpleGet) {
  request_parser p;
  std::string const text = "GET /v2/ HTTP/1.1\r\nHost: localhost:5000\r\nUser-Agent: t\r\n\r\n";
  auto r = p.parse(text);
  ASSERT_TRUE(r);
  ASSERT_TRUE(*r);
  EXPECT_EQ(**r, text.size());
  EXPECT_EQ(p.head().method(), "GET");
  EXPECT_EQ(p.head().target(), "/v2/");
  EXPECT_EQ(p.head().version(), 11);
  EXPECT_EQ(p.head().headers().find("host"), "localhost:5000");
  EXPECT_EQ(p.head().framing(), body_framing::none);
  EXPECT_TRUE(p.head().keep_alive());
  EXPECT_FALSE(p.head().expects_continue());
}

TEST(RequestParser, ByteByByteGivesTheSameHead) {
  std::string const text =
      "PUT /v2/a/b/manifests/latest HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\n"
      "Content-Type: application/vnd.oci.image.manifest.v1+json\r\n\r\nBODY";
  request_parser p;
  std::optional<std::size_t> done;
  for (std::size_t n = 1; n <= text.size() && !done; ++n) {
    auto r = p.parse(std::string_view(text).substr(0, n));
    ASSERT_TRUE(r) << "at " << n << ": " << r.error().message();
    done = *r;
  }
  ASSERT_TRUE(done);
  EXPECT_EQ(*done, text.size() - 4);
  EXPECT_EQ(p.head().framing(), body_framing::content_length);
  EXPECT_EQ(p.head().content_length(), 12u);
}

TEST(RequestParser, PipelinedRequestsAfterReset) {
  std::string const text = "GET /a HTTP/1.1\r\nHost: h\r\n\r\nHEAD /b HTTP/1.1\r\nHost: h\r\n\r\n";
  request_parser p;
  auto r1 = p.parse(text);
  ASSERT_TRUE(r1 && *r1);
  EXPECT_EQ(p.head().target(), "/a");
  p.reset();
  auto r2 = p.parse(std::string_view(text).substr(**r1));
  ASSERT_TRUE(r2 && *r2);
  EXPECT_EQ(p.head().method(), "HEAD");
  EXPECT_EQ(p.head().target(), "/b");
  EXPECT_EQ(**r1 + **r2, text.size());
}

TEST(RequestParser, LeadingEmptyLinesAreIgnored) {
  request_parser p;
  EXPECT_FALSE(parse_all(p, "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"));
  EXPECT_EQ(p.head().target(), "/");
}

TEST(RequestParser, FieldValuesAreTrimmedAndNamesCaseInsensitive) {
  request_parser p;
  ASSERT_FALSE(parse_all(p, "GET / HTTP/1.1\r\nhOsT:\t h \t\r\nX-Empty:\r\n\r\n"));
  EXPECT_EQ(p.head().headers().find("HOST"), "h");
  EXPECT_EQ(p.head().headers().find("x-empty"), "");
}

struct bad_case {
  char const* name;
  std::string text;
  parse_error error;
  int status;
};

class RequestParserRejects : public testing::TestWithParam<bad_case> {};

TEST_P(RequestParserRejects, WithTheRightError) {
  request_parser p;
  std::error_code const ec = parse_all(p, GetParam().text);
  EXPECT_EQ(ec, GetParam().error) << ec.message();
  EXPECT_EQ(pier::http::http_status(GetParam().error), GetParam().status);
}

std::string const host = "Host: h\r\n";

INSTANTIATE_TEST_SUITE_P(
    Table, RequestParserRejects,
    testing::Values(
        bad_case{"no_version", "GET /\r\n" + host + "\r\n", parse_error::bad_request_line, 400},
        bad_case{"two_spaces", "GET  / HTTP/1.1\r\n" + host + "\r\n", parse_error::bad_request_line,
                 400},
        bad_case{"trailing_space", "GET / HTTP/1.1 \r\n" + host + "\r\n",
                 parse_error::bad_request_line, 400},
        bad_case{"method_not_token", "G(T / HTTP/1.1\r\n" + host + "\r\n", parse_error::bad_method,
                 400},
        bad_case{"target_relative", "GET v2/ HTTP/1.1\r\n" + host + "\r\n", parse_error::bad_target,
                 400},
        bad_case{"target_control", "GET /a\x01 HTTP/1.1\r\n" + host + "\r\n",
                 parse_error::bad_target, 400},
        bad_case{"target_high_byte", "GET /\xc3\xa9 HTTP/1.1\r\n" + host + "\r\n",
                 parse_error::bad_target, 400},
        bad_case{"version_lower", "GET / http/1.1\r\n" + host + "\r\n", parse_error::bad_version,
                 400},
        bad_case{"version_two_digits", "GET / HTTP/1.10\r\n" + host + "\r\n",
                 parse_error::bad_version, 400},
        bad_case{"version_2", "GET / HTTP/2.0\r\n" + host + "\r\n",
                 parse_error::unsupported_version, 505},
        bad_case{"bare_lf", "GET / HTTP/1.1\n" + host + "\r\n", parse_error::bad_line_ending, 400},
        bad_case{"bare_lf_in_fields", "GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n",
                 parse_error::bad_line_ending, 400},
        bad_case{"bare_cr", "GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", parse_error::bad_line_ending,
                 400},
        bad_case{"space_before_colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n",
                 parse_error::whitespace_before_colon, 400},
        bad_case{"obs_fold", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n",
                 parse_error::obsolete_line_folding, 400},
        bad_case{"no_colon", "GET / HTTP/1.1\r\nHost h\r\n\r\n", parse_error::bad_field_name, 400},
        bad_case{"empty_name", "GET / HTTP/1.1\r\n: h\r\n\r\n", parse_error::bad_field_name, 400},
        bad_case{"nul_in_value", "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n"s,
                 parse_error::bad_field_value, 400},
        bad_case{"del_in_value", "GET / HTTP/1.1\r\nHost: a\x7f\r\n\r\n",
                 parse_error::bad_field_value, 400},
        bad_case{"missing_host", "GET / HTTP/1.1\r\n\r\n", parse_error::missing_host, 400},
        bad_case{"two_hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
                 parse_error::multiple_host, 400},
        bad_case{"cl_letters", "PUT / HTTP/1.1\r\n" + host + "Content-Length: 1a\r\n\r\n",
                 parse_error::bad_content_length, 400},
        bad_case{"cl_plus", "PUT / HTTP/1.1\r\n" + host + "Content-Length: +1\r\n\r\n",
                 parse_error::bad_content_length, 400},
        bad_case{"cl_empty", "PUT / HTTP/1.1\r\n" + host + "Content-Length:\r\n\r\n",
                 parse_error::bad_content_length, 400},
        bad_case{"cl_only_commas", "PUT / HTTP/1.1\r\n" + host + "Content-Length: ,,\r\n\r\n",
                 parse_error::bad_content_length, 400},
        bad_case{"cl_empty_element", "PUT / HTTP/1.1\r\n" + host + "Content-Length: 3,,3\r\n\r\n",
                 parse_error::bad_content_length, 400},
        bad_case{"cl_overflow",
                 "PUT / HTTP/1.1\r\n" + host + "Content-Length: 99999999999999999999999\r\n\r\n",
                 parse_error::bad_content_length, 400},
        bad_case{"cl_conflict",
                 "PUT / HTTP/1.1\r\n" + host + "Content-Length: 1\r\nContent-Length: 2\r\n\r\n",
                 parse_error::conflicting_content_length, 400},
        bad_case{"cl_list_conflict", "PUT / HTTP/1.1\r\n" + host + "Content-Length: 3, 4\r\n\r\n",
                 parse_error::conflicting_content_length, 400},
        bad_case{"cl_and_te",
                 "PUT / HTTP/1.1\r\n" + host +
                     "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
                 parse_error::content_length_and_chunked, 400},
        bad_case{"te_gzip", "PUT / HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip\r\n\r\n",
                 parse_error::bad_transfer_encoding, 400},
        bad_case{"te_gzip_chunked",
                 "PUT / HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip, chunked\r\n\r\n",
                 parse_error::unsupported_transfer_encoding, 501},
        bad_case{"te_chunked_not_last",
                 "PUT / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, gzip\r\n\r\n",
                 parse_error::bad_transfer_encoding, 400},
        bad_case{"te_chunked_twice",
                 "PUT / HTTP/1.1\r\n" + host +
                     "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
                 parse_error::bad_transfer_encoding, 400},
        bad_case{"te_in_http10", "PUT / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
                 parse_error::transfer_encoding_in_http10, 400},
        bad_case{"expect_other", "PUT / HTTP/1.1\r\n" + host + "Expect: 200-ok\r\n\r\n",
                 parse_error::unsupported_expectation, 417}),
    [](auto const& info) { return std::string(info.param.name); });

TEST(RequestParser, NonHttpIsRejectedBeforeTheLineEnds) {
  // The first bytes of a TLS ClientHello: no line end will come.
  request_parser tls;
  auto r = tls.parse("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"sv);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), parse_error::bad_method);

  request_parser partial; // a valid method prefix still waits for more
  auto p = partial.parse("PAT");
  ASSERT_TRUE(p);
  EXPECT_FALSE(*p);
}

TEST(RequestParser, RequestLineLimitIs414BeforeTheHeadEnds) {
  request_parser p(pier::http::parser_limits{.max_request_line = 64});
  std::string const line = "GET /" + std::string(100, 'a'); // no CRLF yet
  auto r = p.parse(line);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), parse_error::request_line_too_long);
  EXPECT_EQ(pier::http::http_status(parse_error::request_line_too_long), 414);

  request_parser ok(pier::http::parser_limits{.max_request_line = 64});
  EXPECT_FALSE(parse_all(ok, "GET /" + std::string(40, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n"));
}

TEST(RequestParser, HeaderLimitsAre431) {
  request_parser big(pier::http::parser_limits{.max_header_bytes = 256});
  std::string const head = "GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(300, 'v');
  auto r = big.parse(head); // incomplete, but already over the limit
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), parse_error::header_too_large);

  request_parser many(pier::http::parser_limits{.max_fields = 3});
  EXPECT_EQ(parse_all(many, "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"),
            parse_error::too_many_fields);
  request_parser three(pier::http::parser_limits{.max_fields = 3});
  EXPECT_FALSE(parse_all(three, "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n"));
}

TEST(RequestParser, Framing) {
  request_parser p;
  ASSERT_FALSE(parse_all(p, "PATCH /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n"));
  EXPECT_EQ(p.head().framing(), body_framing::chunked);

  request_parser same;
  ASSERT_FALSE(parse_all(
      same, "PUT /u HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\nContent-Length: 7, 7\r\n\r\n"));
  EXPECT_EQ(same.head().framing(), body_framing::content_length);
  EXPECT_EQ(same.head().content_length(), 7u);

  request_parser zero;
  ASSERT_FALSE(parse_all(zero, "PUT /u HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_EQ(zero.head().framing(), body_framing::none);
}

TEST(RequestParser, EmptyListElementsInTransferEncodingAreIgnored) {
  // RFC 9110 §5.6.1: a recipient MUST ignore a reasonable number of empty list elements.
  request_parser p;
  ASSERT_FALSE(parse_all(p, "PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: , chunked,\r\n\r\n"));
  EXPECT_EQ(p.head().framing(), body_framing::chunked);
}

TEST(RequestParser, KeepAliveAndExpect) {
  request_parser close;
  ASSERT_FALSE(parse_all(close, "GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, Close\r\n\r\n"));
  EXPECT_FALSE(close.head().keep_alive());

  request_parser http10;
  ASSERT_FALSE(parse_all(http10, "GET / HTTP/1.0\r\n\r\n"));
  EXPECT_EQ(http10.head().version(), 10);
  EXPECT_FALSE(http10.head().keep_alive());

  request_parser http10ka;
  ASSERT_FALSE(parse_all(http10ka, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  EXPECT_TRUE(http10ka.head().keep_alive());

  request_parser expect;
  ASSERT_FALSE(parse_all(
      expect, "PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n"));
  EXPECT_TRUE(expect.head().expects_continue());
}

TEST(RequestParser, AsteriskAndAbsoluteForm) {
  request_parser opt;
  EXPECT_FALSE(parse_all(opt, "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"));
  request_parser star;
  EXPECT_EQ(parse_all(star, "GET * HTTP/1.1\r\nHost: h\r\n\r\n"), parse_error::bad_target);
  for (char const* bad :
       {"GET 0v://h/ HTTP/1.1\r\nHost: h\r\n\r\n", "GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET ://h/ HTTP/1.1\r\nHost: h\r\n\r\n", "PUT p.v2lat://estq HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET ftp://h/x HTTP/1.1\r\nHost: h\r\n\r\n"}) {
    request_parser p;
    EXPECT_EQ(parse_all(p, bad), parse_error::bad_target) << bad;
  }
  request_parser abs;
  EXPECT_FALSE(parse_all(abs, "GET http://h/v2/ HTTP/1.1\r\nHost: h\r\n\r\n"));
  EXPECT_EQ(abs.head().target(), "http://h/v2/");
  request_parser tls_abs;
  EXPECT_FALSE(parse_all(tls_abs, "GET HTTPS://h/v2/ HTTP/1.1\r\nHost: h\r\n\r\n"));
}

// --- chunked bodies ---------------------------------------------------------------

// Feeds `in` in pieces of `piece` bytes, as a session would, and collects the body.
pier::result<std::string> decode_in_pieces(std::string_view in, std::size_t piece,
                                           std::size_t* left_over = nullptr) {
  chunked_decoder d;
  std::string body, pending;
  std::size_t fed = 0;
  while (!d.done()) {
    if (fed < in.size()) {
      std::size_t const n = std::min(piece, in.size() - fed);
      pending.append(in.substr(fed, n));
      fed += n;
    }
    auto s = d.decode(pending);
    if (!s)
      return s.error();
    body.append(s->data);
    pending.erase(0, s->consumed);
    if (s->consumed == 0 && !s->done && fed == in.size())
      return std::make_error_code(std::errc::resource_unavailable_try_again);
  }
  if (left_over)
    *left_over = pending.size() + (in.size() - fed);
  return body;
}

TEST(ChunkedDecoder, DecodesAtEveryPieceSize) {
  std::string const in = "5\r\nhello\r\n1;ext=1;x\r\n \r\nA\r\n0123456789\r\n0\r\n\r\nNEXT";
  for (std::size_t piece = 1; piece <= in.size(); ++piece) {
    std::size_t left = 0;
    auto body = decode_in_pieces(in, piece, &left);
    ASSERT_TRUE(body) << "piece " << piece << ": " << body.error().message();
    EXPECT_EQ(*body, "hello 0123456789") << "piece " << piece;
    EXPECT_EQ(left, 4u) << "the next request's bytes stay unconsumed";
  }
}

TEST(ChunkedDecoder, ExtensionGrammar) {
  for (char const* ok : {"1;a\r\nx\r\n0\r\n\r\n", "1 ; a = b ;c\r\nx\r\n0\r\n\r\n",
                         "1;a=\"q \\\" ;\"\r\nx\r\n0\r\n\r\n", "1\t;a\r\nx\r\n0\r\n\r\n"}) {
    auto body = decode_in_pieces(ok, 2);
    ASSERT_TRUE(body) << ok << ": " << body.error().message();
    EXPECT_EQ(*body, "x");
  }
}

TEST(ChunkedDecoder, TrailersAreSkipped) {
  auto body = decode_in_pieces("3\r\nabc\r\n0\r\nX-Sum: 1\r\nY: 2\r\n\r\n", 7);
  ASSERT_TRUE(body);
  EXPECT_EQ(*body, "abc");
}

TEST(ChunkedDecoder, UpperCaseHexAndLeadingZeros) {
  auto body = decode_in_pieces("000A\r\n0123456789\r\n00\r\n\r\n", 3);
  ASSERT_TRUE(body);
  EXPECT_EQ(body->size(), 10u);
}

struct bad_chunk {
  char const* name;
  std::string text;
  parse_error error;
};

class ChunkedDecoderRejects : public testing::TestWithParam<bad_chunk> {};

TEST_P(ChunkedDecoderRejects, WithTheRightError) {
  auto body = decode_in_pieces(GetParam().text, 1000);
  ASSERT_FALSE(body);
  EXPECT_EQ(body.error(), GetParam().error) << body.error().message();
}

INSTANTIATE_TEST_SUITE_P(
    Table, ChunkedDecoderRejects,
    testing::Values(
        bad_chunk{"empty_size", "\r\n", parse_error::bad_chunk_size},
        bad_chunk{"hex_prefix", "0x5\r\nhello\r\n0\r\n\r\n", parse_error::bad_chunk_size},
        bad_chunk{"negative", "-5\r\nhello\r\n0\r\n\r\n", parse_error::bad_chunk_size},
        bad_chunk{"bare_lf", "5\nhello\r\n0\r\n\r\n", parse_error::bad_chunk_size},
        bad_chunk{"overflow", "1000000000000000\r\n", parse_error::chunk_size_overflow},
        bad_chunk{"data_too_long", "2\r\nabc\r\n0\r\n\r\n", parse_error::bad_chunk_end},
        bad_chunk{"ext_without_semicolon", "0\t\tjunk\r\n\r\n", parse_error::bad_chunk_extension},
        bad_chunk{"ext_no_name", "1;=x\r\na\r\n0\r\n\r\n", parse_error::bad_chunk_extension},
        bad_chunk{"ext_open_quote", "1;a=\"x\r\na\r\n0\r\n\r\n", parse_error::bad_chunk_extension},
        bad_chunk{"ext_control", "1;\x01\r\na\r\n0\r\n\r\n", parse_error::bad_chunk_extension},
        bad_chunk{"trailer_space", "0\r\n X: 1\r\n\r\n", parse_error::bad_trailer},
        bad_chunk{"final_bare_lf", "0\r\n\n", parse_error::bad_trailer}),
    [](auto const& info) { return std::string(info.param.name); });

TEST(ChunkedDecoder, LimitsExtensionsAndTrailers) {
  chunked_decoder d(8, 16);
  auto ext = d.decode("1;" + std::string(20, 'e') + "\r\n");
  ASSERT_FALSE(ext);
  EXPECT_EQ(ext.error(), parse_error::bad_chunk_extension);

  chunked_decoder t(8, 16);
  auto tr = t.decode("0\r\nX: " + std::string(40, 'v') + "\r\n\r\n");
  ASSERT_FALSE(tr);
  EXPECT_EQ(tr.error(), parse_error::bad_trailer);
}

TEST(ChunkedDecoder, LargeChunkIsNotBuffered) {
  // A 1 GiB chunk announced: the decoder hands data through as it comes.
  chunked_decoder d;
  auto s = d.decode("40000000\r\nabc");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->data, "abc");
  EXPECT_EQ(s->consumed, 13u);
  EXPECT_FALSE(s->done);
}

} // namespace parser_test
