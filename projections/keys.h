// The projection keyspace (column family "projections").
//
//   prefix  key parts (joined by 0x00)                      value
//   el      elderId                                         ElderRecord
//   ap      applicationId                                   ApplicationRecord
//   en      enterpriseId                                    EnterpriseRecord
//   dl      elderId month BE64(checkIn) enterpriseId id     DeliveryRecord
//   po      BE32(effectiveFrom^sign) BE64(index)           PolicyRecord
//   fc      enterpriseId month callId                       CallRecord
//   co      enterpriseId complaintId                        ComplaintRecord
//   sp      planId                                          PlanRecord
//   sr      enterpriseId month planId deliveryId            SpotResultRecord
//   bc      enterpriseId month                              CloseRecord
//   fa      month enterpriseId allocationId                 AllocationRecord
//   fp      month enterpriseId paymentId                    PaymentRecord
//   er      reportId                                        EvaluationRecord
//   rv      elderId BE64(index)                             RevealRecord (who decrypted what)
// Lookups (value = BE64(index of the event that made it) || target):
//   di      enterpriseId deliveryId                         -> dl key
//   de      enterpriseId month elderId                      elders an enterprise served in a month
//   dw      enterpriseId workerId BE64(checkIn) deliveryId  -> BE64(checkOut) || dl key
//   dx      enterpriseId workerId BE64(checkIn) deliveryId  -> dl key (the visit was voided)
//   ev      evidence(32 bytes)                              -> dl key of its first delivery
//   ae      enterpriseId elderId assignmentId               assignments by enterprise
//   ct      contractId                                      -> enterpriseId
//   ci      complaintId                                     -> enterpriseId
//   as      assignmentId                                    -> elderId
//   fi fai fpi  callId / allocationId / paymentId            uniqueness
//   pv pg sv    policy version / programme id / service code   known in some policy
//   hm      idNumberHmac(32 bytes)                          -> elderId
// Months are "YYYY-MM". Ids never contain 0x00 (events::ValidateId).
#ifndef ELDERCARE_PROJECTIONS_KEYS_H_
#define ELDERCARE_PROJECTIONS_KEYS_H_

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "ledger/bytes.h"

namespace eldercare::keys {

inline std::string Join(std::initializer_list<std::string_view> parts) {
  std::string k;
  bool first = true;
  for (std::string_view p : parts) {
    if (!first) k.push_back('\0');
    k.append(p);
    first = false;
  }
  return k;
}
// Prefix for scanning: the parts and a trailing separator.
inline std::string Prefix(std::initializer_list<std::string_view> parts) { return Join(parts) + std::string(1, '\0'); }

inline std::string BE64(uint64_t v) { return BigEndianKey(v); }
inline std::string SortableDate(int32_t days) {
  std::string s(4, '\0');
  auto u = static_cast<uint32_t>(days) ^ 0x80000000u;
  for (int i = 3; i >= 0; --i) {
    s[i] = static_cast<char>(u & 0xff);
    u >>= 8;
  }
  return s;
}

// The value of a lookup key: when it was made, and what it points at.
inline std::string EncodeLookup(uint64_t index, std::string_view target = {}) {
  std::string v = BE64(index);
  v.append(target);
  return v;
}
struct Lookup {
  uint64_t index = 0;
  std::string_view target;
};
inline std::optional<Lookup> DecodeLookup(std::string_view v) {
  if (v.size() < 8) return std::nullopt;
  return Lookup{GetBigEndian64(reinterpret_cast<const uint8_t*>(v.data())), v.substr(8)};
}

// Primary record prefixes: what a projection digest covers.
inline constexpr std::string_view kPrimary[] = {"el", "ap", "en", "dl", "po", "fc", "co",
                                                "sp", "sr", "bc", "fa", "fp", "er", "rv"};

}  // namespace eldercare::keys

#endif  // ELDERCARE_PROJECTIONS_KEYS_H_
