// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_CORE_DIGEST_HPP
#define PIER_CORE_DIGEST_HPP

/// @file
/// Content digests (`sha256:<hex>`, `sha512:<hex>`): parsing and comparison. Hashing
/// content is `pier/core/hasher.hpp`, which needs OpenSSL's headers; this one does not.
///
/// @code
/// pier::result<pier::digest> d = pier::parse_digest(
///     "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
/// assert(d && d->algorithm() == pier::digest_algorithm::sha256);
/// assert(d->encoded().size() == 64);
/// @endcode
///
/// See https://github.com/opencontainers/image-spec/blob/v1.1.0/descriptor.md#digests

#include <pier/config.hpp>
#include <pier/core/error.hpp>
#include <pier/core/result.hpp>

#include <compare>
#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

PIER_BEGIN_NAMESPACE

/// Why a string is not a digest pier accepts, or why content does not match one.
///
/// Every value maps to `oci_error::digest_invalid`, so `to_oci_error(ec)` gives the
/// DIGEST_INVALID code a registry must answer with.
enum class digest_error {
  empty = 1,             ///< the string is empty
  missing_separator,     ///< no ':' between algorithm and encoded part
  invalid_algorithm,     ///< the algorithm breaks `component (separator component)*`
  unsupported_algorithm, ///< well-formed, but neither sha256 nor sha512
  invalid_length,        ///< wrong number of characters for the algorithm
  invalid_encoding,      ///< characters the algorithm does not allow (e.g. upper-case hex)
  mismatch,              ///< content hashes to a different digest than the one claimed
};

/// The category of `digest_error`, named "pier.digest".
std::error_category const& digest_category() noexcept;

inline std::error_code make_error_code(digest_error e) noexcept {
  return {static_cast<int>(e), digest_category()};
}

/// The algorithms pier can verify: the ones the image spec registers with hex encodings.
enum class digest_algorithm { sha256, sha512 };

/// The algorithm's identifier as written in a digest, e.g. "sha256".
constexpr std::string_view name(digest_algorithm a) noexcept;

/// How many hex characters the encoded part has: 64 for sha256, 128 for sha512.
constexpr std::size_t encoded_length(digest_algorithm a) noexcept;

/// A validated digest that refers to characters owned by someone else.
///
/// @code
/// std::string const path = "/v2/x/blobs/" + pier::digest_of("").str();
/// pier::result<pier::digest_view> d = pier::parse_digest_view(std::string_view(path).substr(12));
/// assert(d && d->encoded().size() == 64 && d->str().data() == path.data() + 12);
/// @endcode
///
/// A default-constructed view is empty (`empty()`, `str() == ""`) and orders before every
/// digest; parsing never produces one.
class digest_view {
public:
  constexpr digest_view() noexcept = default;

  constexpr digest_algorithm algorithm() const noexcept { return algorithm_; }
  /// The lower-case hex after the ':'.
  constexpr std::string_view encoded() const noexcept;
  /// The whole digest, "algorithm:encoded".
  constexpr std::string_view str() const noexcept { return str_; }
  constexpr bool empty() const noexcept { return str_.empty(); }

  friend constexpr bool operator==(digest_view a, digest_view b) noexcept {
    return a.str_ == b.str_;
  }
  friend constexpr std::strong_ordering operator<=>(digest_view a, digest_view b) noexcept {
    return a.str_.compare(b.str_) <=> 0;
  }

private:
  constexpr digest_view(digest_algorithm a, std::string_view s) noexcept : str_(s), algorithm_(a) {}
  friend result<digest_view> parse_digest_view(std::string_view s) noexcept;
  friend class digest;

  std::string_view str_;
  digest_algorithm algorithm_ = digest_algorithm::sha256;
};

/// Validates `s` as a digest of a supported algorithm without copying it.
///
/// @code
/// std::string const upper = "sha256:" + std::string(64, 'A');
/// assert(pier::parse_digest_view(upper).error() == pier::digest_error::invalid_encoding);
/// @endcode
///
/// See https://github.com/opencontainers/image-spec/blob/v1.1.0/descriptor.md#digests
result<digest_view> parse_digest_view(std::string_view s) noexcept;

/// A validated digest that owns its characters.
///
/// Usable as a key of ordered and unordered containers. `std::hash<pier::digest>` is
/// transparent, so a map with `std::equal_to<>` can be searched with a `digest_view`.
///
/// @code
/// std::unordered_map<pier::digest, int, std::hash<pier::digest>, std::equal_to<>> sizes;
/// sizes[pier::digest_of("hello")] = 5;
/// assert(sizes.contains(pier::parse_digest_view(pier::digest_of("hello").str()).value()));
/// @endcode
///
/// A default-constructed digest is empty, like a default `digest_view`.
class digest {
public:
  digest() = default;
  explicit digest(digest_view v) : str_(v.str()), algorithm_(v.algorithm()) {}

  digest_algorithm algorithm() const noexcept { return algorithm_; }
  std::string_view encoded() const noexcept { return view().encoded(); }
  std::string const& str() const noexcept { return str_; }
  bool empty() const noexcept { return str_.empty(); }

  digest_view view() const noexcept { return {algorithm_, str_}; }
  // NOLINTNEXTLINE(google-explicit-constructor): a digest is usable wherever a view is
  operator digest_view() const noexcept { return view(); }

  friend bool operator==(digest const& a, digest const& b) noexcept { return a.str_ == b.str_; }
  friend std::strong_ordering operator<=>(digest const& a, digest const& b) noexcept {
    return a.view() <=> b.view();
  }

private:
  digest(digest_algorithm a, std::string s) noexcept : str_(std::move(s)), algorithm_(a) {}
  friend class hasher;

  std::string str_;
  digest_algorithm algorithm_ = digest_algorithm::sha256;
};

/// Validates `s` as a digest of a supported algorithm and copies it.
///
/// @code
/// pier::result<pier::digest> d = pier::parse_digest("blake3:abc");
/// assert(d.error() == pier::digest_error::unsupported_algorithm);
/// assert(pier::to_oci_error(d.error()) == pier::oci_error::digest_invalid);
/// @endcode
///
/// See https://github.com/opencontainers/image-spec/blob/v1.1.0/descriptor.md#digests
result<digest> parse_digest(std::string_view s);

PIER_END_NAMESPACE

template <>
struct std::is_error_code_enum<pier::digest_error> : std::true_type {};

template <>
struct std::hash<pier::digest_view> {
  std::size_t operator()(pier::digest_view d) const noexcept {
    // Hash all characters: digests in requests are attacker-chosen, so a prefix of the
    // hex would let a client pile keys into one bucket.
    return std::hash<std::string_view>{}(d.str());
  }
};

template <>
struct std::hash<pier::digest> {
  using is_transparent = void;
  std::size_t operator()(pier::digest_view d) const noexcept {
    return std::hash<pier::digest_view>{}(d);
  }
};

#include <pier/core/impl/digest.hpp>

#endif // PIER_CORE_DIGEST_HPP
