#include "projections/attestation.h"

#include <charconv>
#include <sstream>

#include "ledger/bytes.h"
#include "ledger/time_util.h"
#include "projections/billing.h"
#include "projections/eligibility.h"
#include "projections/keys.h"

namespace eldercare::proj {
namespace {
namespace S = schema;
constexpr std::string_view kHeader = "eldercare-attestation/v1";
}  // namespace

std::string AttestationBody(const Attestation& a) {
  std::ostringstream out;
  out << kHeader << "\norigin " << a.origin << "\nmonth " << a.month << "\nsize " << a.size << "\nroot "
      << Base64Encode(a.root) << "\npolicy " << (a.policy.empty() ? "-" : a.policy) << "\n";
  for (const auto& s : a.statements) {
    out << "statement " << s.enterprise << " " << HexEncode(s.digest) << " " << s.payable_fen << "\n";
  }
  return out.str();
}

Result<Attestation> ParseAttestationBody(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::string line;
  auto bad = [](const std::string& why) { return Status::InvalidArgument("not an attestation: " + why); };
  if (!std::getline(in, line) || line != kHeader) return bad("the first line must be " + std::string(kHeader));
  Attestation a;
  auto field = [&](const char* name, std::string* out) -> Status {
    if (!std::getline(in, line) || line.rfind(std::string(name) + " ", 0) != 0) return bad(std::string("expected '") + name + " ...'");
    *out = line.substr(std::string(name).size() + 1);
    return Status::Ok();
  };
  std::string size, root;
  ELDERCARE_RETURN_IF_ERROR(field("origin", &a.origin));
  ELDERCARE_RETURN_IF_ERROR(field("month", &a.month));
  ELDERCARE_RETURN_IF_ERROR(field("size", &size));
  ELDERCARE_RETURN_IF_ERROR(field("root", &root));
  ELDERCARE_RETURN_IF_ERROR(field("policy", &a.policy));
  if (a.policy == "-") a.policy.clear();
  if (!ParseMonth(a.month).ok()) return bad("month '" + a.month + "'");
  auto [p, ec] = std::from_chars(size.data(), size.data() + size.size(), a.size);
  if (ec != std::errc() || p != size.data() + size.size()) return bad("size '" + size + "'");
  auto r = Base64Decode(root);
  if (!r.ok() || r->size() != kHashSize) return bad("root");
  std::copy(r->begin(), r->end(), a.root.begin());
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string word, digest;
    AttestedStatement s;
    if (!(ls >> word >> s.enterprise >> digest >> s.payable_fen) || word != "statement") return bad("line '" + line + "'");
    auto d = HexDecode(digest);
    if (!d.ok() || d->size() != kHashSize) return bad("digest of " + s.enterprise);
    std::copy(d->begin(), d->end(), s.digest.begin());
    a.statements.push_back(s);
  }
  return a;
}

Result<Attestation> ComputeAttestation(const Snapshot& snap, const std::string& origin, const Hash& root,
                                       const std::string& month, const ForEachIndex& each) {
  ELDERCARE_ASSIGN_OR_RETURN(int32_t m, ParseMonth(month));
  Attestation a{origin, month, snap.size(), root, "", {}};
  auto policies = LoadPolicies(snap);
  if (const auto* p = PolicyOn(policies, FirstDayOfMonth(m))) a.policy = Str(p->get().getPolicy().getVersion());
  std::vector<std::string> enterprises;
  snap.Scan<S::EnterpriseRecord>(keys::Prefix({"en"}), [&](std::string_view k, const Record<S::EnterpriseRecord>&) {
    enterprises.emplace_back(k.substr(3));
    return true;
  });
  using Row = std::optional<AttestedStatement>;
  ELDERCARE_ASSIGN_OR_RETURN(auto rows, MapEach<Row>(each, enterprises.size(), [&](size_t i) -> Result<Row> {
                               const std::string& e = enterprises[i];
                               ELDERCARE_ASSIGN_OR_RETURN(auto st, ComputeStatement(snap, e, month));
                               bool closed = snap.Load<S::CloseRecord>(keys::Join({"bc", e, month})).has_value();
                               if (st->get().getDeliveries() == 0 && !closed && st->get().getPayableFen() == 0) {
                                 return Row();
                               }
                               return Row(AttestedStatement{e, st->digest(), st->get().getPayableFen()});
                             }));
  for (auto& row : rows) {
    if (row) a.statements.push_back(std::move(*row));
  }
  return a;
}

}  // namespace eldercare::proj
