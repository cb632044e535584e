// The projection keyspace (column families "projections", "deliveries", "visits").
//
//   prefix  key parts (joined by 0x00)                      value
//   el      elderId                                         ElderRecord
//   ap      applicationId                                   ApplicationRecord
//   en      enterpriseId                                    EnterpriseRecord
//   dl      month elderId BE64(checkIn) enterpriseId id     DeliveryRecord
//   po      BE32(effectiveFrom^sign) BE64(index)           PolicyRecord
//   fc      enterpriseId month callId                       CallRecord
//   co      enterpriseId complaintId                        ComplaintRecord
//   sp      planId                                          PlanRecord
//   sr      enterpriseId month planId deliveryId            SpotResultRecord
//   bc      enterpriseId month                              CloseRecord
//   fa      month enterpriseId allocationId                 AllocationRecord
//   fp      month enterpriseId paymentId                    PaymentRecord
//   fr      month enterpriseId recoveryId                   RecoveryRecord
//   er      reportId                                        EvaluationRecord
//   rv      elderId BE64(index)                             RevealRecord (who decrypted what)
// Lookups (value = BE64(index of the event that made it) || target):
//   di      enterpriseId deliveryId                         -> BE64(checkIn) || elderId (with the key's parts: the dl key)
//   de      enterpriseId month elderId                      elders an enterprise served in a month
//   dw      month enterpriseId workerId BE64(checkIn) deliveryId  -> BE64(checkOut) || dl key
//   dx      enterpriseId workerId BE64(checkIn) deliveryId  -> dl key (the visit was voided)
//   ev      evidence(32 bytes)                              (no target: the index is its first delivery's)
//   ae      enterpriseId elderId assignmentId               assignments by enterprise
//   ss      planId enterpriseId deliveryId                  a plan's sample, drawn when it is recorded
//   ct      contractId                                      -> enterpriseId
//   ci      complaintId                                     -> enterpriseId
//   as      assignmentId                                    -> elderId
//   fi fai fpi fri  callId / allocation / payment / recoveryId  uniqueness
//   pv pg sv    policy version / programme id / service code   known in some policy
//   hm      idNumberHmac(32 bytes)                          -> elderId
// What a statement consults before recomputing a closed month (billing.cc):
//   lw      month                                           BE64(index of the latest change to a delivery in it)
//   lf      BE64(index)                                     a dated fact: EncodeDatedFact
// Months are "YYYY-MM" (of the check-in, for dl and dw). Ids never contain
// 0x00 (events::ValidateId). dl and dw are month first: a month's records
// lie together, apart from every other month's, and the ledger keeps them in
// a family each (ledger/store_layout.h, ProjectionFamilyOf), so that
// storing a new month never rewrites the old ones.
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

// A fact that takes effect on a day: about one elder ('e', the elder's id
// follows), or about every statement ('a': a policy, a contract, an
// enterprise's status).
struct DatedFact {
  char scope = 'a';
  int32_t effective = 0;  // days since 1970-01-01
  std::string_view elder;
};
inline std::string EncodeDatedFact(char scope, int32_t effective, std::string_view elder = {}) {
  std::string v(1, scope);
  v.append(SortableDate(effective));
  v.append(elder);
  return v;
}
inline std::optional<DatedFact> DecodeDatedFact(std::string_view v) {
  if (v.size() < 5 || (v[0] != 'e' && v[0] != 'a')) return std::nullopt;
  uint32_t u = 0;
  for (int i = 1; i <= 4; ++i) u = (u << 8) | static_cast<uint8_t>(v[i]);
  return DatedFact{v[0], static_cast<int32_t>(u ^ 0x80000000u), v.substr(5)};
}

// Primary record prefixes: what a projection digest covers.
inline constexpr std::string_view kPrimary[] = {"el", "ap", "en", "dl", "po", "fc", "co",
                                                "sp", "sr", "bc", "fa", "fp", "er", "rv", "fr"};

}  // namespace eldercare::keys

#endif  // ELDERCARE_PROJECTIONS_KEYS_H_
