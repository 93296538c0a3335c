// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_CORE_RESULT_HPP
#define PIER_CORE_RESULT_HPP

/// @file
/// `pier::result<T>`: a value or the `std::error_code` saying why there is none.
///
/// Every parser and validator in pier returns a result instead of throwing. The only
/// throwing member is `value()`, a convenience for callers that prefer exceptions.
///
/// @code
/// pier::result<pier::reference> r = pier::parse_reference("ubuntu:22.04");
/// if (!r) std::cerr << r.error().message() << '\n';
/// @endcode

#include <pier/config.hpp>

#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

PIER_BEGIN_NAMESPACE

template <class T>
class [[nodiscard]] result {
  static_assert(!std::is_reference_v<T>, "result<T&> is not supported");
  static_assert(!std::is_same_v<std::remove_cv_t<T>, std::error_code>);

public:
  using value_type = T;

  // NOLINTNEXTLINE(google-explicit-constructor): implicit, as with std::expected
  result(T const& v) : v_(std::in_place_index<0>, v) {}
  // NOLINTNEXTLINE(google-explicit-constructor)
  result(T&& v) : v_(std::in_place_index<0>, std::move(v)) {}
  // NOLINTNEXTLINE(google-explicit-constructor)
  result(std::error_code ec) : v_(std::in_place_index<1>, ec) {}
  template <class E>
  requires std::is_error_code_enum_v<E>
  // NOLINTNEXTLINE(google-explicit-constructor)
  result(E e) : v_(std::in_place_index<1>, make_error_code(e)) {}

  bool has_value() const noexcept { return v_.index() == 0; }
  bool has_error() const noexcept { return v_.index() == 1; }
  explicit operator bool() const noexcept { return has_value(); }

  /// The error; a default (success) code when there is a value.
  std::error_code error() const noexcept {
    return has_error() ? *std::get_if<1>(&v_) : std::error_code{};
  }

  /// The value; throws `std::system_error` when there is none.
  T& value() & { return check(), *std::get_if<0>(&v_); }
  T const& value() const& { return check(), *std::get_if<0>(&v_); }
  T&& value() && { return check(), std::move(*std::get_if<0>(&v_)); }

  /// Unchecked access: undefined behaviour when there is no value.
  T& operator*() & noexcept { return *std::get_if<0>(&v_); }
  T const& operator*() const& noexcept { return *std::get_if<0>(&v_); }
  T&& operator*() && noexcept { return std::move(*std::get_if<0>(&v_)); }
  T* operator->() noexcept { return std::get_if<0>(&v_); }
  T const* operator->() const noexcept { return std::get_if<0>(&v_); }

private:
  void check() const {
    if (has_error())
      throw std::system_error(*std::get_if<1>(&v_));
  }

  std::variant<T, std::error_code> v_;
};

/// The result of an operation that yields nothing but may fail.
template <>
class [[nodiscard]] result<void> {
public:
  result() = default;
  // NOLINTNEXTLINE(google-explicit-constructor)
  result(std::error_code ec) : ec_(ec) {}
  template <class E>
  requires std::is_error_code_enum_v<E>
  // NOLINTNEXTLINE(google-explicit-constructor)
  result(E e) : ec_(make_error_code(e)) {}

  bool has_value() const noexcept { return !ec_; }
  bool has_error() const noexcept { return static_cast<bool>(ec_); }
  explicit operator bool() const noexcept { return has_value(); }
  std::error_code error() const noexcept { return ec_; }
  void value() const {
    if (ec_)
      throw std::system_error(ec_);
  }

private:
  std::error_code ec_;
};

PIER_END_NAMESPACE

#endif // PIER_CORE_RESULT_HPP
