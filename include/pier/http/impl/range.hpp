// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_HTTP_IMPL_RANGE_HPP
#define PIER_HTTP_IMPL_RANGE_HPP

#include <string>

#include <pier/core/detail/ascii.hpp>

PIER_BEGIN_NAMESPACE
namespace http {

namespace range_detail {

using namespace ::pier::detail::ascii;

// 1*DIGIT. `overflow` is set, and the value saturates, when it does not fit 64 bits: a
// syntactically valid position may be larger than any representation.
struct number {
  bool ok = false;
  bool overflow = false;
  std::uint64_t value = 0;
};

constexpr number parse_number(std::string_view s) noexcept {
  number n;
  if (s.empty())
    return n;
  for (char c : s) {
    if (!is_digit(c))
      return n;
    auto const d = static_cast<std::uint64_t>(c - '0');
    if (n.value > (UINT64_MAX - d) / 10) {
      n.overflow = true;
      n.value = UINT64_MAX;
    } else if (!n.overflow) {
      n.value = n.value * 10 + d;
    }
  }
  n.ok = true;
  return n;
}

class range_category_impl final : public std::error_category {
public:
  char const* name() const noexcept override { return "pier.http.range"; }
  std::string message(int ev) const override {
    switch (static_cast<range_error>(ev)) {
    case range_error::malformed: return "malformed Content-Range";
    case range_error::inverted: return "Content-Range ends before it starts";
    case range_error::beyond_length: return "Content-Range ends past its complete length";
    }
    return "unknown range error";
  }
};

} // namespace range_detail

constexpr range_selection select_range(std::string_view value, std::uint64_t size) noexcept {
  using namespace range_detail;
  range_selection const ignore{};
  value = trim_ows(value);
  if (!istarts_with(value, "bytes"))
    return ignore;
  value = trim_ows(value.substr(5));
  if (value.empty() || value.front() != '=')
    return ignore;
  std::string_view const spec = trim_ows(value.substr(1));
  if (spec.find(',') != std::string_view::npos)
    return ignore; // several ranges (or an empty list element): RFC 9110 §14.2 MAY ignore
  std::size_t const dash = spec.find('-');
  if (dash == std::string_view::npos)
    return ignore;
  std::string_view const first_text = spec.substr(0, dash);
  std::string_view const last_text = spec.substr(dash + 1);

  if (first_text.empty()) { // suffix-range: the last N bytes
    number const suffix = parse_number(last_text);
    if (!suffix.ok)
      return ignore;
    if (suffix.value == 0)
      return {range_kind::not_satisfiable, {}};
    if (size == 0)
      return ignore;
    std::uint64_t const n = suffix.value < size ? suffix.value : size;
    return {range_kind::satisfiable, {size - n, n}};
  }

  number const first = parse_number(first_text);
  if (!first.ok)
    return ignore;
  std::uint64_t last = UINT64_MAX;
  if (!last_text.empty()) {
    number const l = parse_number(last_text);
    if (!l.ok)
      return ignore;
    if (l.value < first.value)
      return ignore; // an invalid range-spec (RFC 9110 §14.1.1)
    last = l.value;
  }
  if (first.value >= size)
    return {range_kind::not_satisfiable, {}};
  if (last >= size)
    last = size - 1;
  return {range_kind::satisfiable, {first.value, last - first.value + 1}};
}

inline std::string content_range_value(byte_range r, std::uint64_t size) {
  std::string s = "bytes ";
  s += std::to_string(r.offset);
  s += '-';
  s += std::to_string(r.offset + r.length - 1);
  s += '/';
  s += std::to_string(size);
  return s;
}

inline std::string unsatisfied_range_value(std::uint64_t size) {
  return "bytes */" + std::to_string(size);
}

inline std::error_category const& range_category() noexcept {
  static range_detail::range_category_impl const instance;
  return instance;
}

inline result<content_range> parse_content_range(std::string_view value) noexcept {
  using namespace range_detail;
  value = trim_ows(value);
  if (istarts_with(value, "bytes")) {
    value.remove_prefix(5);
    if (value.empty() || !is_ows(value.front()))
      return range_error::malformed;
    value = trim_ows(value);
  }
  std::optional<std::uint64_t> complete;
  if (std::size_t const slash = value.find('/'); slash != std::string_view::npos) {
    std::string_view const length_text = value.substr(slash + 1);
    value = value.substr(0, slash);
    if (length_text != "*") {
      number const n = parse_number(length_text);
      if (!n.ok || n.overflow)
        return range_error::malformed;
      complete = n.value;
    }
  }
  std::size_t const dash = value.find('-');
  if (dash == std::string_view::npos)
    return range_error::malformed;
  number const first = parse_number(value.substr(0, dash));
  number const last = parse_number(value.substr(dash + 1));
  if (!first.ok || !last.ok || first.overflow || last.overflow)
    return range_error::malformed;
  if (last.value < first.value)
    return range_error::inverted;
  if (complete && last.value >= *complete)
    return range_error::beyond_length;
  return content_range{first.value, last.value, complete};
}

} // namespace http
PIER_END_NAMESPACE

#endif // PIER_HTTP_IMPL_RANGE_HPP
