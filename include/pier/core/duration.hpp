// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_CORE_DURATION_HPP
#define PIER_CORE_DURATION_HPP

/// @file
/// Durations as operators and API callers write them: whole seconds (`"90"`) or a whole
/// number with a unit, `ms`, `s`, `m`, `h` or `d` (`"500ms"`, `"30s"`, `"5m"`, `"1h"`,
/// `"7d"`). One grammar for every flag, config setting and API member that takes a
/// duration, so that what works in one place works in all; each caller applies its own
/// bounds.
///
/// @code
/// assert(*pier::parse_duration("90m") == std::chrono::minutes(90));
/// assert(*pier::parse_duration("90") == std::chrono::seconds(90)); // no unit: seconds
/// assert(pier::parse_duration("1.5h").error() == std::errc::invalid_argument);
/// @endcode

#include <pier/config.hpp>
#include <pier/core/detail/ascii.hpp>
#include <pier/core/result.hpp>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string_view>
#include <system_error>

PIER_BEGIN_NAMESPACE

/// Parses `text`: digits, then nothing (seconds) or one of `ms`, `s`, `m`, `h`, `d`. No
/// sign, spaces, fractions or other units. Errors: `std::errc::invalid_argument` for
/// anything else, `std::errc::result_out_of_range` when the milliseconds would not fit
/// in `std::chrono::milliseconds`.
inline result<std::chrono::milliseconds> parse_duration(std::string_view text) noexcept {
  std::size_t digits = 0;
  while (digits < text.size() && detail::ascii::is_digit(text[digits]))
    ++digits;
  std::string_view const unit = text.substr(digits);
  std::int64_t scale = 0;
  if (unit == "ms")
    scale = 1;
  else if (unit.empty() || unit == "s")
    scale = 1000;
  else if (unit == "m")
    scale = 60 * 1000;
  else if (unit == "h")
    scale = 60 * 60 * 1000;
  else if (unit == "d")
    scale = 24 * 60 * 60 * 1000;
  if (digits == 0 || scale == 0)
    return std::make_error_code(std::errc::invalid_argument);
  constexpr std::int64_t max = std::numeric_limits<std::chrono::milliseconds::rep>::max();
  std::int64_t n = 0;
  for (char c : text.substr(0, digits)) {
    if (n > (max - (c - '0')) / 10)
      return std::make_error_code(std::errc::result_out_of_range);
    n = n * 10 + (c - '0');
  }
  if (n > max / scale)
    return std::make_error_code(std::errc::result_out_of_range);
  return std::chrono::milliseconds(n * scale);
}

PIER_END_NAMESPACE

#endif // PIER_CORE_DURATION_HPP
