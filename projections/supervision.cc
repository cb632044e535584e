#include "projections/supervision.h"

#include <set>

#include "ledger/event_schema.h"
#include "ledger/time_util.h"
#include "projections/billing.h"
#include "projections/keys.h"

namespace eldercare::proj {
namespace {

namespace S = schema;

std::string EnumName(capnp::EnumSchema schema, uint16_t value) {
  auto e = schema.getEnumerants();
  return value < e.size() ? events::SnakeCase(e[value].getProto().getName().cStr()) : "unknown";
}

void StatusAndContracts(S::EnterpriseRecord::Reader e, Supervision& s) {
  int32_t best = INT32_MIN;
  for (auto f : e.getStatus()) {
    if (f.getEffectiveFrom() <= s.on && f.getEffectiveFrom() >= best) {
      best = f.getEffectiveFrom();
      s.status = EnumName(capnp::Schema::from<S::StatusKind>(), static_cast<uint16_t>(f.getKind()));
      if (s.status == "reinstated") s.status = "active";
      s.status_since = f.getEffectiveFrom();
    }
  }
  for (auto c : e.getContracts()) {
    bool ended = c.hasEnded() && c.getEnded().getEndedOn() <= s.on;
    if (c.getValidFrom() <= s.on && s.on <= c.getValidUntil() && !ended) s.contracts.push_back(Str(c.getContractId()));
  }
}

void Calls(const Snapshot& snap, Supervision& s) {
  uint32_t rated = 0, total = 0;
  snap.Scan<S::CallRecord>(keys::Prefix({"fc", s.enterprise, s.month}), [&](std::string_view, const Record<S::CallRecord>& r) {
    auto c = r.get().getCall();
    ++s.calls;
    switch (c.getOutcome()) {
      case S::CallOutcome::CONFIRMED: ++s.confirmed; break;
      case S::CallOutcome::DENIED: ++s.denied; break;
      case S::CallOutcome::UNREACHABLE: ++s.unreachable; break;
    }
    if (c.getSatisfaction() > 0) {
      ++rated;
      total += c.getSatisfaction();
    }
    return true;
  });
  if (s.confirmed + s.denied > 0) s.confirmation_permille = 1000 * s.confirmed / (s.confirmed + s.denied);
  if (rated > 0) s.satisfaction = static_cast<double>(total) / rated;
}

void Complaints(const Snapshot& snap, Supervision& s, int32_t first, int32_t last) {
  snap.Scan<S::ComplaintRecord>(keys::Prefix({"co", s.enterprise}), [&](std::string_view, const Record<S::ComplaintRecord>& r) {
    auto c = r.get();
    int32_t filed = c.getComplaint().getFiledOn();
    if (filed >= first && filed <= last) ++s.complaints_filed;
    if (filed <= last && (!c.hasClosed() || c.getClosed().getClosedOn() > last)) ++s.complaints_open;
    if (filed >= first && filed <= last && c.hasClosed() && c.getClosed().getOutcome() == S::ComplaintOutcome::UPHELD) {
      ++s.complaints_upheld;
    }
    return true;
  });
}

void Assigned(const Snapshot& snap, Supervision& s, int32_t first, int32_t last) {
  std::set<std::string> served;
  std::string de = keys::Prefix({"de", s.enterprise, s.month});
  for (const auto& k : snap.Keys(de)) served.insert(k.substr(de.size()));
  std::set<std::string> assigned;
  std::string ae = keys::Prefix({"ae", s.enterprise});
  for (const auto& k : snap.Keys(ae)) {
    std::string rest = k.substr(ae.size());
    std::string elder = rest.substr(0, rest.find('\0'));
    auto rec = snap.Load<S::ElderRecord>(keys::Join({"el", elder}));
    if (!rec) continue;
    for (auto a : rec->get().getAssignments()) {
      bool active = Str(a.getEnterpriseId()) == s.enterprise && a.getValidFrom() <= last &&
                    (a.getValidUntil() == 0 || a.getValidUntil() >= first);
      if (active) assigned.insert(elder);
    }
  }
  s.assigned_elders = static_cast<uint32_t>(assigned.size());
  for (const auto& e : assigned) {
    if (!served.count(e)) s.unserved_elders.push_back(e);
  }
}

}  // namespace

Result<Supervision> ComputeSupervision(const Snapshot& snap, const std::string& enterprise, const std::string& month) {
  auto m = ParseMonth(month);
  if (!m.ok()) return m.status();
  auto ent = snap.Load<S::EnterpriseRecord>(keys::Join({"en", enterprise}));
  if (!ent) return Status::NotFound("unknown enterprise '" + enterprise + "'");
  Supervision s;
  s.enterprise = enterprise;
  s.name = Str(ent->get().getName());
  s.month = month;
  int32_t first = FirstDayOfMonth(*m), last = FirstDayOfMonth(*m + 1) - 1;
  s.on = last;
  StatusAndContracts(ent->get(), s);
  ELDERCARE_ASSIGN_OR_RETURN(auto st, ComputeStatement(snap, enterprise, month));
  auto r = st->get();
  s.deliveries = r.getDeliveries();
  s.billable = r.getBillable();
  s.claimed_fen = r.getClaimedFen();
  s.billed_fen = r.getBilledFen();
  for (auto rc : r.getRefusals()) s.refusals[RefusalName(rc.getRefusal())] = rc.getCount();
  Calls(snap, s);
  Complaints(snap, s, first, last);
  snap.Scan<S::SpotResultRecord>(keys::Prefix({"sr", enterprise, month}), [&](std::string_view, const Record<S::SpotResultRecord>& rr) {
    ++s.spot_checks[EnumName(capnp::Schema::from<S::SpotCheckOutcome>(),
                             static_cast<uint16_t>(rr.get().getResult().getOutcome()))];
    return true;
  });
  Assigned(snap, s, first, last);
  return s;
}

}  // namespace eldercare::proj
