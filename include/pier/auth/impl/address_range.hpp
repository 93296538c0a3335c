// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_AUTH_IMPL_ADDRESS_RANGE_HPP
#define PIER_AUTH_IMPL_ADDRESS_RANGE_HPP

#include <charconv>
#include <system_error>

#include <arpa/inet.h>

PIER_BEGIN_NAMESPACE
namespace auth {

namespace detail {

// `text` as 16 bytes (IPv4 mapped into IPv6); whether it was IPv4 in `v4`.
inline std::optional<std::array<unsigned char, 16>> address_bytes(std::string_view text,
                                                                  bool& v4) noexcept {
  std::array<char, INET6_ADDRSTRLEN> s{}; // inet_pton wants a terminated string
  if (text.empty() || text.size() >= s.size())
    return std::nullopt;
  text.copy(s.data(), text.size());
  std::array<unsigned char, 16> out{};
  if (inet_pton(AF_INET, s.data(), out.data() + 12) == 1) {
    out[10] = out[11] = 0xff;
    v4 = true;
    return out;
  }
  if (inet_pton(AF_INET6, s.data(), out.data()) == 1) {
    v4 = false;
    return out;
  }
  return std::nullopt;
}

} // namespace detail

inline std::optional<address_range> address_range::parse(std::string_view text) {
  std::size_t const slash = text.find('/');
  bool v4 = false;
  auto const bytes = detail::address_bytes(text.substr(0, slash), v4);
  if (!bytes)
    return std::nullopt;
  unsigned const width = v4 ? 32 : 128;
  unsigned bits = width;
  if (slash != std::string_view::npos) {
    std::string_view const b = text.substr(slash + 1);
    auto const [end, ec] = std::from_chars(b.data(), b.data() + b.size(), bits);
    if (b.empty() || ec != std::errc{} || end != b.data() + b.size() || bits > width)
      return std::nullopt;
  }
  address_range r;
  r.bytes_ = *bytes;
  r.bits_ = bits + (128 - width);
  return r;
}

inline bool address_range::contains(std::string_view address) const noexcept {
  bool v4 = false;
  std::optional<std::array<unsigned char, 16>> const a = detail::address_bytes(address, v4);
  if (!a)
    return false;
  unsigned const whole = bits_ / 8;
  for (unsigned i = 0; i < whole; ++i)
    if ((*a)[i] != bytes_[i])
      return false;
  unsigned const rest = bits_ % 8;
  if (rest == 0)
    return true;
  auto const mask = static_cast<unsigned char>(0xff << (8 - rest));
  return ((*a)[whole] & mask) == (bytes_[whole] & mask);
}

} // namespace auth
PIER_END_NAMESPACE

#endif // PIER_AUTH_IMPL_ADDRESS_RANGE_HPP
