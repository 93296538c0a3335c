// Fuzzes pier's request parser and chunked decoder on arbitrary bytes, fed in the
// piece sizes a socket might deliver, and checks that feeding whole or in pieces gives
// the same decision and the same head.
#include <pier/http/parser.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

struct outcome {
  std::error_code error;
  std::size_t head_length = 0;
  std::string method, target;
  std::size_t fields = 0;
};

outcome parse_in_pieces(std::string_view in, std::size_t piece) {
  pier::http::request_parser p(pier::http::parser_limits{512, 2048, 16});
  outcome o;
  for (std::size_t n = std::min(piece, in.size());; n = std::min(n + piece, in.size())) {
    auto r = p.parse(in.substr(0, n));
    if (!r) {
      o.error = r.error();
      return o;
    }
    if (*r) {
      o.head_length = **r;
      o.method = p.head().method();
      o.target = p.head().target();
      o.fields = p.head().headers().size();
      if (o.head_length > n)
        std::abort();
      return o;
    }
    if (n == in.size())
      return o;
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view const in(reinterpret_cast<char const*>(data), size);
  outcome const whole = parse_in_pieces(in, in.size() + 1);
  outcome const bytes = parse_in_pieces(in, 1 + size % 7);
  // Feeding in pieces may hit a limit earlier (the parser cannot know yet that a later
  // line would have failed differently), but a success must be the same success.
  if (!whole.error && !bytes.error &&
      (whole.head_length != bytes.head_length || whole.method != bytes.method ||
       whole.target != bytes.target || whole.fields != bytes.fields))
    std::abort();
  if (whole.error && whole.error.category() != pier::http::parse_category())
    std::abort();

  // The rest of the input as a chunked body, in two different piece sizes.
  std::string_view const body = in.substr(whole.head_length);
  for (std::size_t piece : {body.size() + 1, std::size_t{3}}) {
    pier::http::chunked_decoder d(64, 256);
    std::string pending;
    std::size_t fed = 0;
    while (!d.done()) {
      std::size_t const n = std::min(piece, body.size() - fed);
      pending.append(body.substr(fed, n));
      fed += n;
      auto s = d.decode(pending);
      if (!s)
        break;
      if (s->consumed > pending.size())
        std::abort();
      pending.erase(0, s->consumed);
      if (s->consumed == 0 && !s->done && fed == body.size())
        break;
    }
  }
  return 0;
}
