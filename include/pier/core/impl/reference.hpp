// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_CORE_IMPL_REFERENCE_HPP
#define PIER_CORE_IMPL_REFERENCE_HPP

#include <pier/core/detail/reference_rules.hpp>

PIER_BEGIN_NAMESPACE

namespace detail {

class reference_category_impl final : public std::error_category {
public:
  char const* name() const noexcept override { return "pier.reference"; }

  std::string message(int ev) const override {
    switch (static_cast<reference_error>(ev)) {
    case reference_error::empty: return "reference is empty";
    case reference_error::missing_name: return "reference has a tag or digest but no name";
    case reference_error::invalid_domain:
      return "registry host is not a domain name: labels of [a-zA-Z0-9-] separated by '.', "
             "no label starting or ending with '-'";
    case reference_error::invalid_port: return "registry port is not a number from 0 to 65535";
    case reference_error::invalid_ipv6:
      return "registry host in brackets is not an IPv6 address (zone identifiers are not "
             "allowed)";
    case reference_error::empty_path_component:
      return "repository name has an empty path component (a leading, trailing or doubled '/')";
    case reference_error::invalid_path_component:
      return "repository name has a character other than [a-z0-9._-] in a path component";
    case reference_error::uppercase_in_path: return "repository name must be lowercase";
    case reference_error::leading_separator:
      return "repository path component starts with a separator ('.', '_' or '-')";
    case reference_error::trailing_separator:
      return "repository path component ends with a separator ('.', '_' or '-')";
    case reference_error::invalid_separator:
      return "repository path components allow only '.', '_', '__' or '-'+ as separators";
    case reference_error::name_too_long:
      return "repository name must not be more than 255 characters";
    case reference_error::hex_identifier:
      return "a 64-character hex string is an image ID, not a repository name";
    case reference_error::empty_tag: return "tag is empty";
    case reference_error::invalid_tag: return "tag must match [A-Za-z0-9_][A-Za-z0-9_.-]*";
    case reference_error::tag_too_long: return "tag must not be more than 128 characters";
    case reference_error::invalid_digest: return "reference has an invalid digest";
    }
    return "unknown reference error";
  }

  std::error_condition default_error_condition(int ev) const noexcept override {
    oci_error oci = oci_error::name_invalid;
    switch (static_cast<reference_error>(ev)) {
    case reference_error::empty_tag:
    case reference_error::invalid_tag:
    case reference_error::tag_too_long: oci = oci_error::tag_invalid; break;
    case reference_error::invalid_digest: oci = oci_error::digest_invalid; break;
    default: break;
    }
    return {static_cast<int>(oci), oci_category()};
  }
};

// The path prefix of official images, "library/".
inline constexpr std::string_view docker_hub_official_prefix = "library/";
static_assert(docker_hub_official_prefix.substr(0, docker_hub_official_prefix.size() - 1) ==
              docker_hub_official_namespace);

} // namespace detail

inline std::error_category const& reference_category() noexcept {
  static detail::reference_category_impl const instance;
  return instance;
}

constexpr std::string_view reference_view::name() const noexcept {
  if (domain_.empty())
    return path_;
  // The domain, '/' and path are adjacent in the parsed string.
  return {domain_.data(), static_cast<std::size_t>(path_.data() + path_.size() - domain_.data())};
}

inline reference::reference(reference_view v)
    : str_(v.str()), domain_size_(v.domain().size()), path_size_(v.path().size()),
      tag_size_(v.tag().size()) {}

inline reference::reference(std::string_view domain, std::string_view path_prefix,
                            std::string_view path, std::string_view tag,
                            std::string_view digest_str)
    : domain_size_(domain.size()), path_size_(path_prefix.size() + path.size()),
      tag_size_(tag.size()) {
  str_.reserve(domain.size() + 1 + path_size_ + 1 + tag.size() + 1 + digest_str.size());
  if (!domain.empty())
    str_.append(domain).push_back('/');
  str_.append(path_prefix).append(path);
  if (!tag.empty())
    str_.append(1, ':').append(tag);
  if (!digest_str.empty())
    str_.append(1, '@').append(digest_str);
}

inline bool reference::has_digest() const noexcept {
  std::size_t const name_size = domain_size_ + (domain_size_ != 0) + path_size_;
  return str_.size() > name_size + (tag_size_ != 0 ? tag_size_ + 1 : 0);
}

inline reference_view reference::view() const noexcept {
  reference_view v;
  std::string_view const s = str_;
  v.str_ = s;
  std::size_t pos = 0;
  if (domain_size_ != 0) {
    v.domain_ = s.substr(0, domain_size_);
    pos = domain_size_ + 1;
  }
  v.path_ = s.substr(pos, path_size_);
  pos += path_size_;
  if (tag_size_ != 0) {
    v.tag_ = s.substr(pos + 1, tag_size_);
    pos += 1 + tag_size_;
  }
  // A digest_view can only be made by parsing, which keeps "every digest_view is valid"
  // true without trusting this class; the digest was validated when this reference was
  // made, so the parse cannot fail.
  if (pos < s.size())
    v.digest_ = *parse_digest_view(s.substr(pos + 1));
  return v;
}

inline result<reference_view> parse_reference_view(std::string_view s) noexcept {
  namespace g = detail::reference_grammar;
  return g::parse_whole(s, g::reference_rule, reference_error::invalid_path_component);
}

inline result<reference> parse_reference(std::string_view s) {
  result<reference_view> v = parse_reference_view(s);
  if (!v)
    return v.error();
  return reference(*v);
}

inline result<reference> parse_normalized_reference(std::string_view s) {
  if (detail::reference_grammar::is_hex_identifier(s))
    return reference_error::hex_identifier;
  result<reference_view> v = parse_reference_view(s);
  if (!v)
    return v.error();

  std::string_view domain = v->domain();
  std::string_view path_prefix;
  if (domain.empty() || domain == docker_hub_legacy_domain)
    domain = docker_hub_domain;
  if (domain == docker_hub_domain && v->path().find('/') == std::string_view::npos)
    path_prefix = detail::docker_hub_official_prefix;
  std::string_view const tag = v->has_tag() || v->has_digest() ? v->tag() : default_tag;

  if (domain.size() + 1 + path_prefix.size() + v->path().size() > reference_max_name_length)
    return reference_error::name_too_long;
  return reference(domain, path_prefix, v->path(), tag, v->digest().str());
}

inline std::string familiar_string(reference_view r) {
  std::string_view const domain = r.domain();
  if (domain != docker_hub_domain && domain != docker_hub_legacy_domain)
    return r.to_string();

  std::string_view path = r.path();
  std::string_view const official = detail::docker_hub_official_prefix;
  bool keep_domain = false;
  if (path.starts_with(official) && path.find('/', official.size()) == std::string_view::npos) {
    path.remove_prefix(official.size());
  } else {
    // Without the domain, a first component like "foo.com" would be read as a domain.
    keep_domain = detail::reference_grammar::looks_like_domain(path.substr(0, path.find('/')));
  }

  std::string out;
  out.reserve(r.str().size());
  if (keep_domain)
    out.append(docker_hub_domain).push_back('/');
  out.append(path);
  // Everything after the path (":tag", "@digest") is kept as it is.
  std::size_t const rest =
      static_cast<std::size_t>(r.path().data() + r.path().size() - r.str().data());
  out.append(r.str().substr(rest));
  return out;
}

inline result<void> validate_repository_name(std::string_view name) noexcept {
  namespace g = detail::reference_grammar;
  if (name.empty())
    return reference_error::empty;
  result<std::string_view> r =
      g::parse_whole(name, g::remote_name_rule, reference_error::invalid_path_component);
  if (!r)
    return r.error();
  if (name.size() > reference_max_name_length)
    return reference_error::name_too_long;
  return {};
}

inline result<void> validate_tag(std::string_view tag) noexcept {
  namespace g = detail::reference_grammar;
  result<std::string_view> r = g::parse_whole(tag, g::tag_rule, reference_error::invalid_tag);
  if (!r)
    return r.error();
  return {};
}

PIER_END_NAMESPACE

#endif // PIER_CORE_IMPL_REFERENCE_HPP
