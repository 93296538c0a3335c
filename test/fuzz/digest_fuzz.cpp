// SPDX-License-Identifier: Apache-2.0
#include <pier/core/hasher.hpp>
#include <pier/core/digest.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

void check(bool ok) {
  if (!ok)
    std::abort();
}

// A second, deliberately naive reading of the grammar, so the fuzzer compares two
// implementations instead of only looking for crashes.
bool naive_valid(std::string_view s) {
  std::size_t const colon = s.find(':');
  if (colon == std::string_view::npos)
    return false;
  std::string_view const algorithm = s.substr(0, colon);
  std::string_view const encoded = s.substr(colon + 1);
  std::size_t want = 0;
  if (algorithm == "sha256")
    want = 64;
  else if (algorithm == "sha512")
    want = 128;
  else
    return false;
  if (encoded.size() != want)
    return false;
  for (char c : encoded) {
    if (std::string_view("0123456789abcdef").find(c) == std::string_view::npos)
      return false;
  }
  return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view const input(reinterpret_cast<char const*>(data), size);

  pier::result<pier::digest_view> const v = pier::parse_digest_view(input);
  pier::result<pier::digest> const d = pier::parse_digest(input);
  check(v.has_value() == naive_valid(input));
  check(v.has_value() == d.has_value());
  if (v) {
    check(v->str() == input && v->str().data() == input.data());
    check(v->encoded().size() == pier::encoded_length(v->algorithm()));
    check(*d == *v && d->str() == input);
    check(std::hash<pier::digest>{}(*d) == std::hash<pier::digest_view>{}(*v));
  } else {
    check(v.error() == d.error());
    check(pier::to_oci_error(v.error()) == pier::oci_error::digest_invalid);
  }

  // Hashing the input in pieces whose sizes come from the input itself must agree with
  // hashing it at once; the result must parse back.
  pier::hasher h(size % 2 ? pier::digest_algorithm::sha512 : pier::digest_algorithm::sha256);
  std::string_view rest = input;
  while (!rest.empty()) {
    std::size_t const n = 1 + static_cast<unsigned char>(rest.front()) % 97;
    std::string_view const part = rest.substr(0, n);
    h.update(part);
    rest.remove_prefix(part.size());
  }
  pier::digest const streamed = h.finish();
  check(streamed == pier::digest_of(input, h.algorithm()));
  check(pier::parse_digest_view(streamed.str()).has_value());
  return 0;
}
