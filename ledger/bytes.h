// Byte strings and their text forms: hex, base64, big-endian integers.
#ifndef ELDERCARE_LEDGER_BYTES_H_
#define ELDERCARE_LEDGER_BYTES_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/status.h"

namespace eldercare {

using Bytes = std::vector<uint8_t>;
using ByteSpan = std::span<const uint8_t>;

inline ByteSpan AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsChars(ByteSpan b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Well-formed UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(std::string_view s);

std::string HexEncode(ByteSpan data);
// Lower- or upper-case hex, even length; anything else is an error.
Result<Bytes> HexDecode(std::string_view hex);

// Standard base64 (RFC 4648 section 4) with padding.
std::string Base64Encode(ByteSpan data);
// Strict: standard alphabet, correct padding, no whitespace.
Result<Bytes> Base64Decode(std::string_view text);

inline void PutBigEndian64(uint64_t v, uint8_t* out) {
  for (int i = 7; i >= 0; --i) { out[i] = static_cast<uint8_t>(v); v >>= 8; }
}
inline uint64_t GetBigEndian64(const uint8_t* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | in[i];
  return v;
}
inline std::string BigEndianKey(uint64_t v) {
  std::string s(8, '\0');
  PutBigEndian64(v, reinterpret_cast<uint8_t*>(s.data()));
  return s;
}

}  // namespace eldercare

#endif  // ELDERCARE_LEDGER_BYTES_H_
