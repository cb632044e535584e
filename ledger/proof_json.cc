#include "ledger/proof_json.h"

#include "ledger/bytes.h"
#include "ledger/event_json.h"
#include "ledger/merkle.h"

namespace eldercare {
namespace {

using nlohmann::json;

json HexList(const std::vector<Hash>& hashes) {
  json a = json::array();
  for (const Hash& h : hashes) a.push_back(HexEncode(h));
  return a;
}

Result<Hash> HashField(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end()) return Status::InvalidArgument(std::string("missing field '") + name + "'");
  if (!it->is_string()) return Status::InvalidArgument(std::string("field '") + name + "' must be a hex string");
  auto b = HexDecode(it->get<std::string>());
  if (!b.ok() || b->size() != kHashSize) {
    return Status::InvalidArgument(std::string("field '") + name + "' must be 64 hex digits");
  }
  Hash h;
  std::copy(b->begin(), b->end(), h.begin());
  return h;
}

Result<uint64_t> U64Field(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end()) return Status::InvalidArgument(std::string("missing field '") + name + "'");
  if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<int64_t>() >= 0)) {
    return Status::InvalidArgument(std::string("field '") + name + "' must be a non-negative integer");
  }
  return it->get<uint64_t>();
}

Result<std::vector<Hash>> ProofField(const json& j) {
  auto it = j.find("proof");
  if (it == j.end() || !it->is_array()) return Status::InvalidArgument("field 'proof' must be an array of hex hashes");
  if (it->size() > 128) return Status::InvalidArgument("field 'proof' has more hashes than any tree needs");
  std::vector<Hash> out;
  for (size_t i = 0; i < it->size(); ++i) {
    json wrap = {{"h", (*it)[i]}};
    auto h = HashField(wrap, "h");
    if (!h.ok()) return Status::InvalidArgument("field 'proof[" + std::to_string(i) + "]' must be 64 hex digits");
    out.push_back(*h);
  }
  return out;
}

}  // namespace

json ToJson(const InclusionProofData& p) {
  return {{"index", p.index}, {"size", p.size}, {"leaf_hash", HexEncode(p.leaf_hash)},
          {"root", HexEncode(p.root)}, {"proof", HexList(p.proof)}};
}

json ToJson(const ConsistencyProofData& p) {
  return {{"from", p.from}, {"to", p.to}, {"old_root", HexEncode(p.old_root)},
          {"new_root", HexEncode(p.new_root)}, {"proof", HexList(p.proof)}};
}

Result<ParsedProof> ParseProofJson(std::string_view text) {
  auto parsed = events::ParseStrictJson(text);
  if (!parsed.ok()) return parsed.status().WithPrefix("proof: ");
  const json& j = *parsed;
  if (!j.is_object()) return Status::InvalidArgument("a proof must be one JSON object");
  ParsedProof p;
  if (j.contains("index")) {
    p.is_inclusion = true;
    auto& q = p.inclusion;
    ELDERCARE_ASSIGN_OR_RETURN(q.index, U64Field(j, "index"));
    ELDERCARE_ASSIGN_OR_RETURN(q.size, U64Field(j, "size"));
    ELDERCARE_ASSIGN_OR_RETURN(q.leaf_hash, HashField(j, "leaf_hash"));
    ELDERCARE_ASSIGN_OR_RETURN(q.root, HashField(j, "root"));
    ELDERCARE_ASSIGN_OR_RETURN(q.proof, ProofField(j));
    return p;
  }
  if (j.contains("from")) {
    auto& q = p.consistency;
    ELDERCARE_ASSIGN_OR_RETURN(q.from, U64Field(j, "from"));
    ELDERCARE_ASSIGN_OR_RETURN(q.to, U64Field(j, "to"));
    ELDERCARE_ASSIGN_OR_RETURN(q.old_root, HashField(j, "old_root"));
    ELDERCARE_ASSIGN_OR_RETURN(q.new_root, HashField(j, "new_root"));
    ELDERCARE_ASSIGN_OR_RETURN(q.proof, ProofField(j));
    return p;
  }
  return Status::InvalidArgument("not a proof: neither 'index' (inclusion) nor 'from' (consistency) is present");
}

Status CheckProof(const ParsedProof& p) {
  if (p.is_inclusion) {
    const auto& q = p.inclusion;
    return merkle::VerifyInclusion(q.leaf_hash, q.index, q.size, q.proof, q.root);
  }
  const auto& q = p.consistency;
  return merkle::VerifyConsistency(q.from, q.to, q.old_root, q.new_root, q.proof);
}

}  // namespace eldercare
