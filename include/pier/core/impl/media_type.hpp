// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_CORE_IMPL_MEDIA_TYPE_HPP
#define PIER_CORE_IMPL_MEDIA_TYPE_HPP

#include <cstddef>
#include <string>

#include <pier/core/detail/ascii.hpp>

PIER_BEGIN_NAMESPACE

namespace detail {

class media_type_category_impl final : public std::error_category {
public:
  char const* name() const noexcept override { return "pier.media_type"; }
  std::string message(int ev) const override {
    switch (static_cast<media_type_error>(ev)) {
    case media_type_error::empty: return "empty media type";
    case media_type_error::missing_slash: return "media type has no '/' between type and subtype";
    case media_type_error::invalid_type: return "invalid media type name";
    case media_type_error::invalid_subtype: return "invalid media subtype name";
    case media_type_error::too_long: return "media type or subtype longer than 127 characters";
    case media_type_error::invalid_parameter: return "invalid media type parameter";
    }
    return "unknown media type error";
  }
  // Media types are only ever checked as part of a manifest, so a bad one is a bad manifest.
  std::error_condition default_error_condition(int) const noexcept override {
    return {static_cast<int>(oci_error::manifest_invalid), oci_category()};
  }
};

} // namespace detail

// A namespace of its own: other grammars in pier::detail have helpers with these names.
namespace detail::media_type_grammar {

using namespace ::pier::detail::ascii;

// RFC 6838 section 4.2 restricted-name-chars.
constexpr bool is_restricted_name_char(char c) noexcept {
  return is_alnum(c) || std::string_view("!#$&-^_.+").find(c) != std::string_view::npos;
}

enum class name_check { ok, invalid, too_long };

constexpr name_check check_restricted_name(std::string_view s) noexcept {
  if (s.empty() || !is_alnum(s.front()))
    return name_check::invalid;
  for (char c : s)
    if (!is_restricted_name_char(c))
      return name_check::invalid;
  return s.size() > 127 ? name_check::too_long : name_check::ok;
}

// RFC 9110 section 12.4.2 qvalue, in thousandths; -1 when malformed.
constexpr int parse_qvalue(std::string_view v) noexcept {
  if (v.empty() || (v[0] != '0' && v[0] != '1'))
    return -1;
  int const whole = v[0] - '0';
  if (v.size() == 1)
    return whole * 1000;
  if (v[1] != '.' || v.size() > 5)
    return -1;
  int frac = 0;
  int scale = 100;
  for (char c : v.substr(2)) {
    if (c < '0' || c > '9')
      return -1;
    frac += (c - '0') * scale;
    scale /= 10;
  }
  if (whole == 1 && frac != 0)
    return -1;
  return whole * 1000 + frac;
}

// Parses `*( OWS ";" OWS [ token "=" ( token / quoted-string ) ] )` covering all of `s`.
// When `q` is given, a parameter named "q" must be a qvalue and is stored there.
constexpr bool parse_parameters(std::string_view s, int* q) noexcept {
  std::size_t i = 0;
  auto skip_ows = [&] {
    while (i < s.size() && is_ows(s[i]))
      ++i;
  };
  for (;;) {
    skip_ows();
    if (i == s.size())
      return true;
    if (s[i] != ';')
      return false;
    ++i;
    skip_ows();
    if (i == s.size() || s[i] == ';')
      continue; // an empty parameter is allowed by the grammar
    std::size_t const name_begin = i;
    while (i < s.size() && is_tchar(s[i]))
      ++i;
    std::string_view const pname = s.substr(name_begin, i - name_begin);
    if (pname.empty() || i == s.size() || s[i] != '=')
      return false;
    ++i;
    std::string_view value;
    if (i < s.size() && s[i] == '"') {
      std::size_t const end = skip_quoted_string(s, i);
      if (end == std::string_view::npos)
        return false;
      value = s.substr(i, end - i);
      i = end;
    } else {
      std::size_t const value_begin = i;
      while (i < s.size() && is_tchar(s[i]))
        ++i;
      value = s.substr(value_begin, i - value_begin);
      if (value.empty())
        return false;
    }
    if (q != nullptr && iequals(pname, "q")) {
      *q = parse_qvalue(value);
      if (*q < 0)
        return false;
    }
  }
}

struct media_range {
  std::string_view type;
  std::string_view subtype;
  int quality = 1000;
};

// One element of an Accept list; false when it is not a well-formed media range.
constexpr bool parse_media_range(std::string_view element, media_range& out) noexcept {
  std::size_t const semi = element.find(';');
  std::string_view const essence = trim_ows(element.substr(0, semi));
  std::size_t const slash = essence.find('/');
  if (slash == std::string_view::npos)
    return false;
  out.type = essence.substr(0, slash);
  out.subtype = essence.substr(slash + 1);
  if (!is_token(out.type) || !is_token(out.subtype))
    return false;
  if (out.type == "*" && out.subtype != "*")
    return false;
  out.quality = 1000;
  return semi == std::string_view::npos || parse_parameters(element.substr(semi), &out.quality);
}

} // namespace detail::media_type_grammar

inline std::error_category const& media_type_category() noexcept {
  static detail::media_type_category_impl const instance;
  return instance;
}

constexpr std::string_view media_type_essence(std::string_view content_type) noexcept {
  return detail::media_type_grammar::trim_ows(content_type.substr(0, content_type.find(';')));
}

constexpr bool media_type_equal(std::string_view a, std::string_view b) noexcept {
  return detail::media_type_grammar::iequals(media_type_essence(a), media_type_essence(b));
}

constexpr manifest_kind classify_media_type(std::string_view content_type) noexcept {
  std::string_view const e = media_type_essence(content_type);
  using detail::media_type_grammar::iequals;
  if (iequals(e, media_types::oci_manifest))
    return manifest_kind::oci_manifest;
  if (iequals(e, media_types::oci_index))
    return manifest_kind::oci_index;
  if (iequals(e, media_types::docker_manifest_v2))
    return manifest_kind::docker_v2;
  if (iequals(e, media_types::docker_manifest_list))
    return manifest_kind::docker_list;
  if (iequals(e, media_types::docker_manifest_v1))
    return manifest_kind::docker_v1;
  if (iequals(e, media_types::docker_manifest_v1_signed))
    return manifest_kind::docker_v1_signed;
  return manifest_kind::unknown;
}

constexpr std::string_view media_type_of(manifest_kind k) noexcept {
  switch (k) {
  case manifest_kind::oci_manifest: return media_types::oci_manifest;
  case manifest_kind::oci_index: return media_types::oci_index;
  case manifest_kind::docker_v2: return media_types::docker_manifest_v2;
  case manifest_kind::docker_list: return media_types::docker_manifest_list;
  case manifest_kind::docker_v1: return media_types::docker_manifest_v1;
  case manifest_kind::docker_v1_signed: return media_types::docker_manifest_v1_signed;
  case manifest_kind::unknown: break;
  }
  return {};
}

constexpr bool is_index(manifest_kind k) noexcept {
  return k == manifest_kind::oci_index || k == manifest_kind::docker_list;
}

constexpr bool is_image_manifest(manifest_kind k) noexcept {
  switch (k) {
  case manifest_kind::oci_manifest:
  case manifest_kind::docker_v2:
  case manifest_kind::docker_v1:
  case manifest_kind::docker_v1_signed: return true;
  default: return false;
  }
}

constexpr bool is_non_distributable(std::string_view media_type) noexcept {
  return media_type_equal(media_type, media_types::docker_foreign_layer) ||
         media_type_equal(media_type, media_types::oci_layer_nondistributable_tar) ||
         media_type_equal(media_type, media_types::oci_layer_nondistributable_tar_gzip) ||
         media_type_equal(media_type, media_types::oci_layer_nondistributable_tar_zstd);
}

inline result<void> validate_media_type(std::string_view s) noexcept {
  if (detail::media_type_grammar::trim_ows(s).empty())
    return media_type_error::empty;
  std::size_t const slash = s.find('/');
  if (slash == std::string_view::npos)
    return media_type_error::missing_slash;
  switch (detail::media_type_grammar::check_restricted_name(s.substr(0, slash))) {
  case detail::media_type_grammar::name_check::ok: break;
  case detail::media_type_grammar::name_check::invalid: return media_type_error::invalid_type;
  case detail::media_type_grammar::name_check::too_long: return media_type_error::too_long;
  }
  switch (detail::media_type_grammar::check_restricted_name(s.substr(slash + 1))) {
  case detail::media_type_grammar::name_check::ok: break;
  case detail::media_type_grammar::name_check::invalid: return media_type_error::invalid_subtype;
  case detail::media_type_grammar::name_check::too_long: return media_type_error::too_long;
  }
  return {};
}

inline result<void> validate_content_type(std::string_view s) noexcept {
  s = detail::media_type_grammar::trim_ows(s);
  std::size_t const semi = s.find(';');
  if (auto r = validate_media_type(detail::media_type_grammar::trim_ows(s.substr(0, semi))); !r)
    return r;
  if (semi != std::string_view::npos &&
      !detail::media_type_grammar::parse_parameters(s.substr(semi), nullptr))
    return media_type_error::invalid_parameter;
  return {};
}

constexpr int accept_quality(std::string_view accept, std::string_view media_type) noexcept {
  std::string_view const essence = media_type_essence(media_type);
  std::size_t const slash = essence.find('/');
  std::string_view const type = essence.substr(0, slash);
  std::string_view const subtype =
      slash == std::string_view::npos ? std::string_view{} : essence.substr(slash + 1);

  int best_specificity = -1;
  int best_quality = 0;
  bool any_element = false;
  std::size_t i = 0;
  while (i <= accept.size()) {
    // Find the end of this element: the next comma outside a quoted string.
    std::size_t end = i;
    while (end < accept.size() && accept[end] != ',') {
      if (accept[end] == '"') {
        end = detail::media_type_grammar::skip_quoted_string(accept, end);
        if (end == std::string_view::npos)
          end = accept.size();
      } else {
        ++end;
      }
    }
    std::string_view const element =
        detail::media_type_grammar::trim_ows(accept.substr(i, end - i));
    i = end + 1;
    if (element.empty())
      continue; // the list grammar allows empty elements
    any_element = true;
    detail::media_type_grammar::media_range range;
    if (!detail::media_type_grammar::parse_media_range(element, range))
      continue;
    int specificity = -1;
    if (range.type == "*")
      specificity = 0;
    else if (detail::media_type_grammar::iequals(range.type, type))
      specificity = range.subtype == "*"                                          ? 1
                    : detail::media_type_grammar::iequals(range.subtype, subtype) ? 2
                                                                                  : -1;
    if (specificity < 0)
      continue;
    if (specificity > best_specificity) {
      best_specificity = specificity;
      best_quality = range.quality;
    } else if (specificity == best_specificity && range.quality > best_quality) {
      best_quality = range.quality;
    }
  }
  if (!any_element)
    return 1000;
  return best_specificity < 0 ? 0 : best_quality;
}

constexpr bool is_acceptable(std::string_view accept, std::string_view media_type) noexcept {
  return accept_quality(accept, media_type) > 0;
}

constexpr std::string_view best_match(std::string_view accept,
                                      std::span<std::string_view const> offered) noexcept {
  std::string_view best;
  int best_quality = 0;
  for (std::string_view candidate : offered) {
    int const q = accept_quality(accept, candidate);
    if (q > best_quality) {
      best_quality = q;
      best = candidate;
    }
  }
  return best;
}

PIER_END_NAMESPACE

#endif // PIER_CORE_IMPL_MEDIA_TYPE_HPP
