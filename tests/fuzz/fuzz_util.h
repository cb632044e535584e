// Shared by the fuzz targets: a fixed key, and how a broken property is
// reported (abort, so that libFuzzer saves the input and the replay test fails).
#ifndef ELDERCARE_TESTS_FUZZ_FUZZ_UTIL_H_
#define ELDERCARE_TESTS_FUZZ_FUZZ_UTIL_H_

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ledger/crypto.h"

namespace eldercare::fuzz {

inline std::string_view AsText(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A key every run derives the same way, so that a saved input replays exactly.
inline const PrivateKey& FixedKey() {
  static const PrivateKey key = [] {
    std::array<uint8_t, 32> seed{};
    for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<uint8_t>(i * 7 + 1);
    return *PrivateKey::FromSeed(ByteSpan(seed.data(), seed.size()));
  }();
  return key;
}

[[noreturn]] inline void Broken(const std::string& what) {
  std::fprintf(stderr, "property broken: %s\n", what.c_str());
  std::abort();
}

}  // namespace eldercare::fuzz

// A property every input must keep; a broken one aborts with `what`.
#define FUZZ_CHECK(condition, what)                                   \
  do {                                                                \
    if (!(condition)) ::eldercare::fuzz::Broken(what);                \
  } while (0)

#endif  // ELDERCARE_TESTS_FUZZ_FUZZ_UTIL_H_
