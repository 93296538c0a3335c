// A consumer of pier: built by ctest against an installed prefix (find_package), as a
// subdirectory, and with only the single header. It exits non-zero when pier misbehaves.
#ifdef PIER_CONSUME_SINGLE_HEADER
#include <pier/pier.hpp> // single_include/pier/pier.hpp: the only pier file on the path
#else
#include <pier/pier.hpp>
#endif

#include <cstdio>
#include <string>

#if !defined(PIER_VERSION_STRING)
#error "pier/pier.hpp does not define PIER_VERSION_STRING"
#endif

static int failures = 0;

static void check(bool ok, char const* what) {
  if (!ok) {
    std::fprintf(stderr, "FAILED: %s\n", what);
    ++failures;
  }
}

int main() {
  auto ref = pier::parse_normalized_reference("ubuntu");
  check(ref.has_value(), "parse_normalized_reference(\"ubuntu\")");
  if (ref)
    check(ref->to_string() == "docker.io/library/ubuntu:latest", "normalised form");

  pier::digest const d = pier::digest_of("abc");
  check(d.str() == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "sha256(abc)");

  std::string const manifest = R"({"schemaVersion":2,
    "mediaType":"application/vnd.oci.image.manifest.v1+json",
    "config":{"mediaType":"application/vnd.oci.image.config.v1+json",
      "digest":"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad","size":3},
    "layers":[]})";
  auto m = pier::parse_manifest(manifest);
  check(m.has_value(), "parse_manifest");

  auto bad = pier::parse_reference("example.com/Upper/case");
  check(!bad && pier::to_oci_error(bad.error()) == pier::oci_error::name_invalid,
        "upper-case path is NAME_INVALID");
  check(pier::http_status(pier::oci_error::blob_unknown) == 404, "BLOB_UNKNOWN is 404");

  std::printf("pier %s consumer: %s\n", PIER_VERSION_STRING, failures ? "FAILED" : "ok");
  return failures == 0 ? 0 : 1;
}
