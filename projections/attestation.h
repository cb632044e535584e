// Attestations: a signed statement that binds, for one month, the log size,
// its root, the policy version in force and every enterprise's statement
// digest -- so that a finance officer or an evaluator can say exactly what
// they signed off, and anyone with a copy of the ledger can check it.
//
// A C2SP signed note, the key name being the signer's actor id:
//   eldercare-attestation/v1
//   origin <origin>
//   month <YYYY-MM>
//   size <log size>
//   root <base64 RFC 9162 root at that size>
//   policy <version in force on the month's first day>
//   statement <enterpriseId> <hex statement digest> <payable fen>   (one per enterprise, sorted)
#ifndef ELDERCARE_PROJECTIONS_ATTESTATION_H_
#define ELDERCARE_PROJECTIONS_ATTESTATION_H_

#include <string>
#include <vector>

#include "ledger/crypto.h"
#include "ledger/status.h"
#include "projections/snapshot.h"

namespace eldercare::proj {

struct AttestedStatement {
  std::string enterprise;
  Hash digest{};
  int64_t payable_fen = 0;
};

struct Attestation {
  std::string origin;
  std::string month;
  uint64_t size = 0;
  Hash root{};
  std::string policy;
  std::vector<AttestedStatement> statements;
};

std::string AttestationBody(const Attestation& a);
Result<Attestation> ParseAttestationBody(std::string_view text);

// Recomputes what an attestation states from a snapshot at its size: the
// statements of every enterprise with deliveries, a close, or money in the
// month, in enterprise order, computed through `each` (snapshot.h).
Result<Attestation> ComputeAttestation(const Snapshot& snap, const std::string& origin, const Hash& root,
                                       const std::string& month, const ForEachIndex& each = {});

}  // namespace eldercare::proj

#endif  // ELDERCARE_PROJECTIONS_ATTESTATION_H_
