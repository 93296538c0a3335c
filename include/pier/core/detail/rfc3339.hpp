// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_CORE_DETAIL_RFC3339_HPP
#define PIER_CORE_DETAIL_RFC3339_HPP

// RFC 3339 `date-time` (https://www.rfc-editor.org/rfc/rfc3339#section-5.6), the format of
// `created` in v1 image JSON and OCI image configs: what Go's time.Time reads and writes.
// The one place pier reads and writes it.

#include <pier/config.hpp>

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <ctime>
#include <string>
#include <string_view>

#include <pier/core/detail/ascii.hpp>

PIER_BEGIN_NAMESPACE

namespace detail::rfc3339 {

using ::pier::detail::ascii::is_digit;

// Reads exactly `n` digits at `s[pos]` into `out`.
constexpr bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) noexcept {
  if (pos + n > s.size())
    return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (!is_digit(s[i]))
      return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

constexpr int days_in_month(int year, int month) noexcept {
  constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool const leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : days[month - 1];
}

// date-fullyear "-" date-month "-" date-mday "T" time-hour ":" time-minute ":" time-second
// [time-secfrac] time-offset. The RFC's ABNF is case-insensitive, so 't' and 'z' count.
constexpr bool is_date_time(std::string_view s) noexcept {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!digits(s, 0, 4, year) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, month) ||
      s[7] != '-' || !digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't') ||
      !digits(s, 11, 2, hour) || s[13] != ':' || !digits(s, 14, 2, minute) || s[16] != ':' ||
      !digits(s, 17, 2, second))
    return false;
  // Second 60 is a leap second, which the RFC allows.
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 ||
      minute > 59 || second > 60)
    return false;
  std::size_t pos = 19;
  if (s[pos] == '.') {
    std::size_t const first = ++pos;
    while (pos < s.size() && is_digit(s[pos]))
      ++pos;
    if (pos == first)
      return false;
  }
  if (pos == s.size())
    return false;
  if (s[pos] == 'Z' || s[pos] == 'z')
    return pos + 1 == s.size();
  if (s[pos] != '+' && s[pos] != '-')
    return false;
  int offset_hour = 0, offset_minute = 0;
  return s.size() == pos + 6 && digits(s, pos + 1, 2, offset_hour) && s[pos + 3] == ':' &&
         digits(s, pos + 4, 2, offset_minute) && offset_hour <= 23 && offset_minute <= 59;
}

/// `t` in UTC, to the second (`2026-11-22T16:25:00Z`) or, with `milliseconds`, to the
/// millisecond (`2026-11-22T16:25:00.007Z`); times before the epoch too.
inline std::string format(std::chrono::system_clock::time_point t, bool milliseconds = false) {
  using namespace std::chrono;
  auto const ms = floor<std::chrono::milliseconds>(t.time_since_epoch());
  auto const secs = floor<seconds>(ms);
  std::time_t const whole = secs.count();
  std::tm tm{};
  ::gmtime_r(&whole, &tm);
  char date[32];
  std::size_t const n = std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(date, n);
  if (milliseconds) {
    char frac[8];
    std::snprintf(frac, sizeof frac, ".%03d", static_cast<int>((ms - secs).count()));
    out += frac;
  }
  out += 'Z';
  return out;
}

} // namespace detail::rfc3339

PIER_END_NAMESPACE

#endif // PIER_CORE_DETAIL_RFC3339_HPP
