// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_AUTH_ADDRESS_RANGE_HPP
#define PIER_AUTH_ADDRESS_RANGE_HPP

/// @file
/// A range of IP addresses (`192.0.2.0/24`, `2001:db8::/32`, or one address), such as the
/// proxies whose `X-Forwarded-*` headers the gate believes (`gate_options::trusted_proxies`).
///
/// @code
/// auto r = pier::auth::address_range::parse("10.0.0.0/8");
/// assert(r && r->contains("10.1.2.3") && !r->contains("192.0.2.7"));
/// assert(!pier::auth::address_range::parse("10.0.0.0/33")); // not a range
/// @endcode

#include <pier/config.hpp>

#include <array>
#include <optional>
#include <string_view>

PIER_BEGIN_NAMESPACE
namespace auth {

/// IPv4 or IPv6 addresses sharing a prefix. IPv4 ranges are kept as IPv4-mapped IPv6, so
/// that an IPv4 range also holds the IPv4-mapped form of its addresses.
class address_range {
public:
  /// "ADDRESS/BITS" or "ADDRESS" (all its bits); nothing when it is neither (bits beyond
  /// 32 or 128, a host name, spaces).
  static std::optional<address_range> parse(std::string_view text);

  /// Whether the address `address` (as `http::request::client_address` gives it) lies in
  /// the range; false for text that is no address.
  bool contains(std::string_view address) const noexcept;

private:
  std::array<unsigned char, 16> bytes_{};
  unsigned bits_ = 0; ///< of 128
};

} // namespace auth
PIER_END_NAMESPACE

#include <pier/auth/impl/address_range.hpp>

#endif // PIER_AUTH_ADDRESS_RANGE_HPP
