// SPDX-License-Identifier: Apache-2.0
#include <pier/core/manifest.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

void check(bool ok) {
  if (!ok)
    std::abort();
}

// Content types a client may send; one is picked from the input's size so that the same
// bytes meet different declarations across the corpus.
constexpr std::array<std::string_view, 8> content_types{
    pier::media_types::oci_manifest,
    pier::media_types::oci_index,
    pier::media_types::docker_manifest_v2,
    pier::media_types::docker_manifest_list,
    pier::media_types::docker_manifest_v1_signed,
    "application/json",
    "application/octet-stream",
    "application/vnd.oci.image.manifest.v1+json; charset=utf-8",
};

void check_descriptor(pier::descriptor const& d) {
  check(d.size >= 0);
  check(pier::parse_digest_view(d.digest.str()).has_value());
  check(pier::validate_content_type(d.media_type).has_value());
}

void check_manifest(pier::result<pier::manifest> const& r, std::string_view content_type,
                    std::string const& where) {
  if (!r) {
    check(r.error().category() == pier::manifest_category());
    check(pier::to_oci_error(r.error()) == pier::oci_error::manifest_invalid);
    return;
  }
  check(where.empty());
  pier::manifest const& m = *r;
  check(m.kind() != pier::manifest_kind::unknown);
  check(!m.media_type().empty());
  pier::manifest_kind const named = pier::classify_media_type(m.media_type());
  bool const schema1 = m.kind() == pier::manifest_kind::docker_v1 ||
                       m.kind() == pier::manifest_kind::docker_v1_signed;
  check(named == m.kind() || (schema1 && (named == pier::manifest_kind::docker_v1 ||
                                          named == pier::manifest_kind::docker_v1_signed)));
  // A declared manifest type never disagrees with what was accepted.
  pier::manifest_kind const declared = pier::classify_media_type(content_type);
  check(declared == pier::manifest_kind::unknown || declared == named);

  if (m.config())
    check_descriptor(*m.config());
  for (pier::descriptor const& d : m.layers())
    check_descriptor(d);
  for (pier::descriptor const& d : m.manifests())
    check_descriptor(d);
  if (m.subject())
    check_descriptor(*m.subject());

  auto const blobs = m.referenced_blobs();
  auto const required = m.referenced_blobs(pier::foreign_layers::exclude);
  auto const children = m.referenced_manifests();
  check(required.size() <= blobs.size());
  for (pier::digest const& d : blobs)
    check(pier::parse_digest_view(d.str()).has_value());
  for (pier::digest const& d : children)
    check(pier::parse_digest_view(d.str()).has_value());
  if (pier::is_index(m.kind())) {
    check(blobs.empty() && !m.config());
  } else {
    check(children.empty() && m.manifests().empty());
  }
  if (schema1) {
    check(m.history().size() == m.fs_layers().size());
    check(blobs.size() <= m.fs_layers().size());
    check(m.signed_payload().empty() == (m.kind() == pier::manifest_kind::docker_v1));
  } else {
    check(m.signed_payload().empty() && m.fs_layers().empty());
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view const input(reinterpret_cast<char const*>(data), size);

  std::string where;
  auto const plain = pier::parse_manifest(input, {}, &where);
  check_manifest(plain, {}, where);
  check(pier::parse_manifest(input).error() == plain.error());

  std::string_view const ct = content_types[size % content_types.size()];
  auto const declared = pier::parse_manifest(input, ct, &where);
  check_manifest(declared, ct, where);

  // The same bytes as header values: the media-type grammar and Accept matching must
  // cope with anything.
  int const q = pier::accept_quality(input, pier::media_types::oci_manifest);
  check(q >= 0 && q <= 1000);
  (void)pier::validate_content_type(input);
  (void)pier::classify_media_type(input);
  return 0;
}
