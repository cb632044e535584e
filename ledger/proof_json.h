// Proofs as JSON, the form `audit-cli prove` prints and `verify-proof` reads:
//   inclusion:   {"index", "size", "leaf_hash", "root", "proof": [hex...]}
//   consistency: {"from", "to", "old_root", "new_root", "proof": [hex...]}
// Hashes are lower-case hex of 32 bytes; the proof order is RFC 9162's.
#ifndef ELDERCARE_LEDGER_PROOF_JSON_H_
#define ELDERCARE_LEDGER_PROOF_JSON_H_

#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "ledger/crypto.h"
#include "ledger/status.h"

namespace eldercare {

struct InclusionProofData {
  uint64_t index = 0;
  uint64_t size = 0;
  Hash leaf_hash{};
  Hash root{};
  std::vector<Hash> proof;
};

struct ConsistencyProofData {
  uint64_t from = 0;
  uint64_t to = 0;
  Hash old_root{};
  Hash new_root{};
  std::vector<Hash> proof;
};

nlohmann::json ToJson(const InclusionProofData& p);
nlohmann::json ToJson(const ConsistencyProofData& p);

// Either kind; the message names the field at fault.
struct ParsedProof {
  bool is_inclusion = false;
  InclusionProofData inclusion;
  ConsistencyProofData consistency;
};
Result<ParsedProof> ParseProofJson(std::string_view text);

// Checks the proof's own arithmetic (RFC 9162 verification).
Status CheckProof(const ParsedProof& p);

}  // namespace eldercare

#endif  // ELDERCARE_LEDGER_PROOF_JSON_H_
