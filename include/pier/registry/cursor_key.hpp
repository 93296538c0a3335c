// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_REGISTRY_CURSOR_KEY_HPP
#define PIER_REGISTRY_CURSOR_KEY_HPP

/// @file
/// The secret that seals paging cursors. A filtered listing (the catalog behind
/// `auth::gate`, the listings of `namespace_api`) that stops on a name the caller may not
/// see continues its `Link` from that name encrypted and authenticated (AES-256-GCM) under
/// this key, so that the `Link` reveals nothing. A cursor opens only under the key that
/// sealed it: give every replica behind one address, and a server across its restarts, the
/// same key (`namespace_api_options::cursor_key`, `auth::gate_options::cursor_key`), or a
/// client that follows a `Link` gets 400 and has to start the listing again.
///
/// @code
/// // 32 secret bytes the application keeps, e.g. made once with
/// // `head -c 32 /dev/urandom > cursor.key` and read at start-up:
/// std::string bytes(32, '\x2a');
/// pier::result<pier::registry::cursor_key> key = pier::registry::cursor_key::from_bytes(bytes);
/// pier::registry::namespace_api_options options;
/// if (key)
///   options.cursor_key = *key;
/// @endcode

#include <pier/config.hpp>
#include <pier/core/result.hpp>

#include <openssl/rand.h>

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <stdexcept>
#include <string_view>
#include <system_error>

PIER_BEGIN_NAMESPACE
namespace registry {

/// 32 bytes that seal paging cursors (see the file comment). Copies are cheap; a key is
/// read, never changed, by the threads that share it.
class cursor_key {
public:
  /// How many bytes a key has.
  static constexpr std::size_t size = 32;

  /// The process's own key, drawn at random once, on first use: the default of the options,
  /// for a single process whose cursors need not outlive it.
  cursor_key() = default;

  /// The key whose bytes are `bytes`; `std::errc::invalid_argument` unless there are
  /// exactly `size` of them.
  static result<cursor_key> from_bytes(std::string_view bytes) {
    if (bytes.size() != size)
      return std::make_error_code(std::errc::invalid_argument);
    cursor_key k;
    k.own_.emplace();
    for (std::size_t i = 0; i < size; ++i)
      (*k.own_)[i] = static_cast<unsigned char>(bytes[i]);
    return k;
  }

  /// A new key from OpenSSL's random generator; `std::errc::resource_unavailable_try_again`
  /// when the generator fails (no entropy).
  static result<cursor_key> generate() {
    cursor_key k;
    k.own_.emplace();
    if (RAND_bytes(k.own_->data(), static_cast<int>(size)) != 1)
      return std::make_error_code(std::errc::resource_unavailable_try_again);
    return k;
  }

  /// The key's bytes, to keep it (write them where only the server may read them). The
  /// process's key is drawn here if it was not yet; throws `std::runtime_error` if the
  /// random generator fails then.
  std::span<unsigned char const, size> bytes() const {
    return own_ ? std::span<unsigned char const, size>(*own_) : process_key();
  }

private:
  static std::span<unsigned char const, size> process_key() {
    static std::array<unsigned char, size> const k = [] {
      std::array<unsigned char, size> out{};
      if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1)
        throw std::runtime_error("RAND_bytes failed: no key for paging cursors");
      return out;
    }();
    return k;
  }

  std::optional<std::array<unsigned char, size>> own_;
};

} // namespace registry
PIER_END_NAMESPACE

#endif // PIER_REGISTRY_CURSOR_KEY_HPP
