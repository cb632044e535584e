#include "projections/supervision.h"

#include <algorithm>
#include <map>
#include <set>

#include "ledger/event_schema.h"
#include "ledger/time_util.h"
#include "projections/billing.h"
#include "projections/eligibility.h"
#include "projections/keys.h"

namespace eldercare::proj {
namespace {

namespace S = schema;

std::string EnumName(capnp::EnumSchema schema, uint16_t value) {
  auto e = schema.getEnumerants();
  return value < e.size() ? events::SnakeCase(e[value].getProto().getName().cStr()) : "unknown";
}

void StatusAndContracts(S::EnterpriseRecord::Reader e, Supervision& s) {
  if (auto f = StatusChangeOn(e, s.on)) {
    s.status = EnumName(capnp::Schema::from<S::StatusKind>(), static_cast<uint16_t>(f->getKind()));
    if (s.status == "reinstated") s.status = "active";
    s.status_since = f->getEffectiveFrom();
  }
  for (auto c : e.getContracts()) {
    if (ContractInForce(c, s.on)) s.contracts.push_back(Str(c.getContractId()));
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

// An elder whose latest assignment for a programme is the enterprise.
struct AssignedElder {
  std::vector<uint64_t> assignments;  // indexes of its assignments in force in the month
  // Some day of the month the enterprise owed it service: assigned, and
  // allowed to serve it (not suspended or exited, a contract covering the
  // elder's community for the programme in force). Not owed, a month
  // without service is no failure to deliver.
  bool owed = false;
  // On the month's last day the enterprise may no longer serve it (suspended,
  // exited, or no contract in force): another enterprise must.
  bool to_reassign = false;
};

std::map<std::string, AssignedElder> AssignedElders(const Snapshot& snap, S::EnterpriseRecord::Reader enterprise,
                                                    const std::string& ent, int32_t first, int32_t last) {
  std::map<std::string, AssignedElder> out;
  std::string ae = keys::Prefix({"ae", ent});
  for (const auto& k : snap.Keys(ae)) {
    std::string rest = k.substr(ae.size());
    std::string elder = rest.substr(0, rest.find('\0'));
    if (out.count(elder)) continue;
    auto rec = snap.Load<S::ElderRecord>(keys::Join({"el", elder}));
    if (!rec || HasCircumstance(rec->get(), S::Circumstance::DECEASED, first)) continue;
    if (!AssignedTo(rec->get(), ent, first, last)) continue;
    AssignedElder& mine = out[elder];
    const std::string_view community = View(rec->get().getProfile().getCommunity());
    bool servable_at_end = false;
    for (auto a : rec->get().getAssignments()) {
      if (a.getValidFrom() > last || (a.getValidUntil() != 0 && a.getValidUntil() < first)) continue;
      if (View(a.getEnterpriseId()) != ent) continue;
      mine.assignments.push_back(a.getIndex());
      const int32_t from = std::max(first, a.getValidFrom());
      const int32_t to = a.getValidUntil() == 0 ? last : std::min(last, a.getValidUntil());
      for (int32_t day = from; day <= to && !mine.owed; ++day) {
        mine.owed = MayServe(enterprise, community, View(a.getProgramme()), day);
      }
      if (to == last) servable_at_end |= MayServe(enterprise, community, View(a.getProgramme()), last);
    }
    mine.to_reassign = !servable_at_end;
  }
  return out;
}

void Assigned(const Snapshot& snap, S::EnterpriseRecord::Reader enterprise, Supervision& s, int32_t first,
              int32_t last) {
  std::set<std::string> served;
  std::string de = keys::Prefix({"de", s.enterprise, s.month});
  for (const auto& k : snap.Keys(de)) served.insert(k.substr(de.size()));
  auto assigned = AssignedElders(snap, enterprise, s.enterprise, first, last);
  s.assigned_elders = static_cast<uint32_t>(assigned.size());
  for (const auto& [elder, a] : assigned) {
    if (a.owed && !served.count(elder)) s.unserved_elders.push_back(elder);
    if (a.to_reassign) s.to_reassign.push_back(elder);
  }
}

}  // namespace

bool MonthOver(int32_t month, int32_t log_day) { return log_day >= FirstDayOfMonth(month + 1); }

Result<Supervision> ComputeSupervision(const Snapshot& snap, const std::string& enterprise, const std::string& month,
                                       int32_t log_day) {
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
  s.month_over = MonthOver(*m, log_day);
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
  Assigned(snap, ent->get(), s, first, last);
  return s;
}

Result<std::vector<Recommendation>> ExitRecommendations(const Snapshot& snap, const std::string& month,
                                                        int32_t log_day) {
  auto m = ParseMonth(month);
  if (!m.ok()) return m.status();
  int32_t first = FirstDayOfMonth(*m), last = FirstDayOfMonth(*m + 1) - 1;
  auto policies = LoadPolicies(snap);
  const auto* policy = PolicyOn(policies, first);
  if (!policy) return Status::NotFound("no policy is in force in " + month);
  auto limits = policy->get().getPolicy().getSupervision();
  std::vector<Recommendation> out;
  std::vector<std::pair<std::string, Record<S::EnterpriseRecord>>> enterprises;
  snap.Scan<S::EnterpriseRecord>(keys::Prefix({"en"}), [&](std::string_view k, const Record<S::EnterpriseRecord>& r) {
    bool exited = false;
    for (auto st : r.get().getStatus()) exited |= st.getKind() == S::StatusKind::EXITED && st.getEffectiveFrom() <= first;
    if (!exited) enterprises.emplace_back(std::string(k.substr(3)), r);
    return true;
  });
  for (const auto& [ent, record] : enterprises) {
    // Spot-checks: this month and the two before.
    uint64_t total = 0;
    std::vector<uint64_t> failed;
    for (int32_t back = 0; back < 3; ++back) {
      snap.Scan<S::SpotResultRecord>(keys::Prefix({"sr", ent, FormatMonth(*m - back)}), [&](std::string_view, const Record<S::SpotResultRecord>& r) {
        ++total;
        auto o = r.get().getResult().getOutcome();
        if (o == S::SpotCheckOutcome::NOT_DELIVERED || o == S::SpotCheckOutcome::PARTLY_DELIVERED) failed.push_back(r.get().getIndex());
        return true;
      });
    }
    if (total >= 10 && limits.getSpotCheckFailurePermille() > 0 && 1000 * failed.size() / total > limits.getSpotCheckFailurePermille()) {
      out.push_back({ent, "spot_check_failures", 1000 * failed.size() / total, limits.getSpotCheckFailurePermille(),
                     std::to_string(failed.size()) + " of " + std::to_string(total) + " spot-checked deliveries not (fully) delivered",
                     failed});
    }
    // Follow-up denials.
    uint64_t answered = 0;
    std::vector<uint64_t> denied;
    snap.Scan<S::CallRecord>(keys::Prefix({"fc", ent, month}), [&](std::string_view, const Record<S::CallRecord>& r) {
      auto o = r.get().getCall().getOutcome();
      if (o == S::CallOutcome::UNREACHABLE) return true;
      ++answered;
      if (o == S::CallOutcome::DENIED) denied.push_back(r.get().getIndex());
      return true;
    });
    if (answered >= 5 && limits.getFollowUpDenialPermille() > 0 && 1000 * denied.size() / answered > limits.getFollowUpDenialPermille()) {
      out.push_back({ent, "follow_up_denials", 1000 * denied.size() / answered, limits.getFollowUpDenialPermille(),
                     std::to_string(denied.size()) + " of " + std::to_string(answered) + " elders called denied the service", denied});
    }
    // Complaints filed in the month.
    std::vector<uint64_t> complaints;
    snap.Scan<S::ComplaintRecord>(keys::Prefix({"co", ent}), [&](std::string_view, const Record<S::ComplaintRecord>& r) {
      int32_t filed = r.get().getComplaint().getFiledOn();
      if (filed >= first && filed <= last) complaints.push_back(r.get().getIndex());
      return true;
    });
    if (limits.getComplaintsPerMonth() > 0 && complaints.size() > limits.getComplaintsPerMonth()) {
      out.push_back({ent, "complaints", complaints.size(), limits.getComplaintsPerMonth(),
                     std::to_string(complaints.size()) + " complaints filed in " + month, complaints});
    }
    // Assigned elders it owed service, left the month without any (once
    // the month is over: before, they may yet be served).
    if (!MonthOver(*m, log_day)) continue;
    std::set<std::string> served;
    std::string de = keys::Prefix({"de", ent, month});
    for (const auto& k : snap.Keys(de)) served.insert(k.substr(de.size()));
    std::vector<uint64_t> unserved;
    uint64_t count = 0;
    for (const auto& [elder, a] : AssignedElders(snap, record.get(), ent, first, last)) {
      if (!a.owed || served.count(elder)) continue;
      ++count;
      unserved.insert(unserved.end(), a.assignments.begin(), a.assignments.end());
    }
    if (limits.getUnservedAssignedElders() > 0 && count > limits.getUnservedAssignedElders()) {
      out.push_back({ent, "unserved_assigned_elders", count, limits.getUnservedAssignedElders(),
                     std::to_string(count) + " assigned elders received no service in " + month, unserved});
    }
  }
  return out;
}

}  // namespace eldercare::proj
