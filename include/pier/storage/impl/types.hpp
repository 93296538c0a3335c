// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_STORAGE_IMPL_TYPES_HPP
#define PIER_STORAGE_IMPL_TYPES_HPP

#include <openssl/rand.h>

#include <array>

PIER_BEGIN_NAMESPACE
namespace storage {

inline upload_id make_upload_id() {
  std::array<unsigned char, 16> b{};
  if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1)
    throw std::system_error(std::make_error_code(std::errc::resource_unavailable_try_again),
                            "RAND_bytes");
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40); // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80); // RFC 4122 variant
  constexpr char hex[] = "0123456789abcdef";
  upload_id id;
  id.reserve(36);
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      id += '-';
    id += hex[b[i] >> 4];
    id += hex[b[i] & 0x0f];
  }
  return id;
}

constexpr bool is_upload_id(std::string_view s) noexcept {
  if (s.size() != 36)
    return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char const c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-')
        return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

} // namespace storage
PIER_END_NAMESPACE

#endif // PIER_STORAGE_IMPL_TYPES_HPP
