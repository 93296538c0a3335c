// Differential fuzzing: pier's request parser against the nodejs http-parser. Aborts on
// any disagreement that is not one of the documented deliberate differences.
#include "http_differential.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view const in(reinterpret_cast<char const*>(data), size);
  std::string const diff = pier_test::compare(in);
  if (!diff.empty()) {
    std::fprintf(stderr, "pier and nodejs http-parser disagree: %s\n", diff.c_str());
    std::abort();
  }
  return 0;
}
