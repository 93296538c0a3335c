// SPDX-License-Identifier: Apache-2.0
#include <pier/core/reference.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

void check(bool ok) {
  if (!ok)
    std::abort();
}

// --- a second, deliberately naive reading of the grammar ------------------------------
// It splits strings instead of scanning them, so that the fuzzer compares two
// implementations instead of only looking for crashes.

struct naive_parts {
  std::string_view domain, path, tag, digest;
};

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    std::size_t const p = s.find(sep);
    out.push_back(s.substr(0, p));
    if (p == std::string_view::npos)
      return out;
    s.remove_prefix(p + 1);
  }
}

bool all_of(std::string_view s, std::string_view allowed) {
  return s.find_first_not_of(allowed) == std::string_view::npos;
}

constexpr std::string_view lower_alnum = "abcdefghijklmnopqrstuvwxyz0123456789";
constexpr std::string_view any_alnum =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
constexpr std::string_view hex = "0123456789abcdefABCDEF";

bool naive_path_component(std::string_view c) {
  if (c.empty() || !all_of(c, "abcdefghijklmnopqrstuvwxyz0123456789._-"))
    return false;
  // Alternating runs: alnum, separator, alnum, ..., alnum.
  bool want_alnum = true;
  while (!c.empty()) {
    std::size_t const n =
        want_alnum ? c.find_first_not_of(lower_alnum) : c.find_first_of(lower_alnum);
    std::string_view const run = c.substr(0, n);
    if (run.empty())
      return false;
    if (!want_alnum && run != "." && run != "_" && run != "__" && !all_of(run, "-"))
      return false;
    c.remove_prefix(run.size());
    want_alnum = !want_alnum;
  }
  return !want_alnum; // ended on an alnum run
}

bool naive_groups(std::string_view s, std::size_t& count) {
  if (s.empty())
    return true;
  for (std::string_view g : split(s, ':')) {
    if (g.empty() || g.size() > 4 || !all_of(g, hex))
      return false;
    ++count;
  }
  return true;
}

bool naive_ipv6(std::string_view inside) {
  std::size_t const dc = inside.find("::");
  std::size_t count = 0;
  if (dc == std::string_view::npos)
    return naive_groups(inside, count) && count == 8 && !inside.empty();
  if (inside.find("::", dc + 1) != std::string_view::npos)
    return false;
  return naive_groups(inside.substr(0, dc), count) && naive_groups(inside.substr(dc + 2), count) &&
         count <= 7;
}

bool naive_domain(std::string_view d) {
  std::string_view host = d;
  std::string_view port;
  bool has_port = false;
  if (!d.empty() && d.front() == '[') {
    std::size_t const close = d.find(']');
    if (close == std::string_view::npos || !naive_ipv6(d.substr(1, close - 1)))
      return false;
    host = d.substr(0, close + 1);
    std::string_view const rest = d.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':')
        return false;
      has_port = true;
      port = rest.substr(1);
    }
  } else {
    std::size_t const colon = d.find(':');
    if (colon != std::string_view::npos) {
      has_port = true;
      host = d.substr(0, colon);
      port = d.substr(colon + 1);
    }
    for (std::string_view label : split(host, '.')) {
      if (label.empty() || !all_of(label, std::string(any_alnum) + "-") || label.front() == '-' ||
          label.back() == '-')
        return false;
    }
  }
  if (has_port) {
    if (port.empty() || !all_of(port, "0123456789"))
      return false;
    std::size_t const nz = port.find_first_not_of('0');
    std::string_view const digits = nz == std::string_view::npos ? "0" : port.substr(nz);
    if (digits.size() > 5 || std::stoul(std::string(digits)) > 65535)
      return false;
  }
  return true;
}

bool naive_tag(std::string_view t) {
  return !t.empty() && t.size() <= 128 && t.front() != '.' && t.front() != '-' &&
         all_of(t, std::string(any_alnum) + "_.-");
}

bool naive_parse(std::string_view s, naive_parts& out) {
  std::string_view rest = s;
  if (std::size_t const at = rest.find('@'); at != std::string_view::npos) {
    out.digest = rest.substr(at + 1);
    rest = rest.substr(0, at);
    if (!pier::parse_digest_view(out.digest))
      return false;
  }
  std::size_t const colon = rest.rfind(':');
  std::size_t const slash = rest.rfind('/');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    out.tag = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
    if (!naive_tag(out.tag))
      return false;
  }
  if (rest.size() > 255)
    return false;
  std::vector<std::string_view> parts = split(rest, '/');
  std::size_t first = 0;
  if (parts.size() > 1) {
    std::string_view const p = parts[0];
    bool const domain = p == "localhost" ||
                        p.find_first_of(".:ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string_view::npos;
    if (domain) {
      if (!naive_domain(p))
        return false;
      out.domain = p;
      first = 1;
    }
  }
  for (std::size_t i = first; i < parts.size(); ++i)
    if (!naive_path_component(parts[i]))
      return false;
  out.path = first == 0 ? rest : rest.substr(out.domain.size() + 1);
  return true;
}

// --- invariants ------------------------------------------------------------------------

void check_error(std::error_code ec) {
  check(ec.category() == pier::reference_category());
  check(ec.value() >= static_cast<int>(pier::reference_error::empty) &&
        ec.value() <= static_cast<int>(pier::reference_error::invalid_digest));
  pier::oci_error const oci = pier::to_oci_error(ec);
  check(oci == pier::oci_error::name_invalid || oci == pier::oci_error::tag_invalid ||
        oci == pier::oci_error::digest_invalid);
}

void check_same(pier::reference_view a, pier::reference_view b) {
  check(a.domain() == b.domain() && a.path() == b.path() && a.name() == b.name() &&
        a.tag() == b.tag() && a.digest() == b.digest() && a.str() == b.str());
}

void check_valid(std::string_view input, pier::reference_view v) {
  check(v.str() == input && v.str().data() == input.data());
  check(!v.path().empty());
  check(v.name().size() <= pier::reference_max_name_length);
  check(v.tag().size() <= pier::reference_max_tag_length);
  check(pier::validate_repository_name(v.path()).has_value());
  if (v.has_tag())
    check(pier::validate_tag(v.tag()).has_value());

  // Re-serialised from its parts, it is the same string and parses into the same parts.
  std::string s(v.name());
  if (v.has_tag())
    s.append(1, ':').append(v.tag());
  if (v.has_digest())
    s.append(1, '@').append(v.digest().str());
  check(s == input);
  pier::result<pier::reference_view> const again = pier::parse_reference_view(s);
  check(again.has_value());
  check_same(*again, v);

  // The owning reference agrees, also after a copy.
  pier::result<pier::reference> const owned = pier::parse_reference(input);
  check(owned.has_value());
  pier::reference const copy = *owned;
  check_same(copy, v);
  check(pier::reference(v) == copy);

  // Normalisation fails only for the two reasons it adds, and is idempotent.
  pier::result<pier::reference> const n = pier::parse_normalized_reference(input);
  if (!n) {
    check(n.error() == pier::reference_error::hex_identifier ||
          n.error() == pier::reference_error::name_too_long);
    return;
  }
  check(n->has_domain() && (n->has_tag() || n->has_digest()));
  check(n->name().size() <= pier::reference_max_name_length);
  check(n->digest() == v.digest());
  check(!v.has_tag() || n->tag() == v.tag());
  pier::result<pier::reference_view> const nv = pier::parse_reference_view(n->str());
  check(nv.has_value());
  check_same(*nv, *n);
  pier::result<pier::reference> const twice = pier::parse_normalized_reference(n->str());
  check(twice.has_value() && *twice == *n);
  // The familiar form normalises back to the same reference.
  pier::result<pier::reference> const back =
      pier::parse_normalized_reference(pier::familiar_string(*n));
  check(back.has_value() && *back == *n);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view const input(reinterpret_cast<char const*>(data), size);

  pier::result<pier::reference_view> const v = pier::parse_reference_view(input);
  naive_parts naive;
  bool const naive_ok = naive_parse(input, naive);
  check(v.has_value() == naive_ok);
  if (v) {
    check(v->domain() == naive.domain && v->path() == naive.path && v->tag() == naive.tag &&
          v->digest().str() == naive.digest);
    check_valid(input, *v);
  } else {
    check_error(v.error());
    pier::result<pier::reference> const r = pier::parse_reference(input);
    check(!r && r.error() == v.error());
  }

  // The validators for names and tags from request paths.
  pier::result<void> const name = pier::validate_repository_name(input);
  bool naive_name = !input.empty() && input.size() <= pier::reference_max_name_length;
  for (std::string_view c : split(input, '/'))
    naive_name = naive_name && naive_path_component(c);
  check(name.has_value() == naive_name);
  if (!name)
    check_error(name.error());
  pier::result<void> const tag = pier::validate_tag(input);
  check(tag.has_value() == naive_tag(input));
  if (tag) {
    std::string const tagged = "a:" + std::string(input);
    pier::result<pier::reference_view> const t = pier::parse_reference_view(tagged);
    check(t.has_value() && t->tag() == input);
  } else {
    check_error(tag.error());
  }
  return 0;
}
