#include "projections/billing.h"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "ledger/event_schema.h"
#include "ledger/thread_pool.h"
#include "ledger/time_util.h"
#include "projections/eligibility.h"
#include "projections/keys.h"

namespace eldercare::proj {
namespace {

namespace S = schema;
using R = S::Refusal;

struct Line {
  std::string key;         // dl key
  std::string enterprise;
  std::string delivery_id;
  std::string elder;
  std::string service;
  std::string programme;
  std::string worker;
  uint64_t index = 0;
  int64_t check_in = 0;
  int32_t date = 0;
  uint32_t minutes = 0;
  int64_t claimed = 0;
  int64_t billed = 0;
  int64_t city = 0;
  std::vector<R> reasons;
  std::string detail;
  bool capped = false;
};

// The enterprise's status on `day`: the last change effective by then.
std::optional<S::StatusKind> StatusOn(S::EnterpriseRecord::Reader e, int32_t day) {
  std::optional<S::StatusKind> kind;
  int32_t best = INT32_MIN;
  for (auto s : e.getStatus()) {
    if (s.getEffectiveFrom() <= day && s.getEffectiveFrom() >= best) {
      best = s.getEffectiveFrom();
      kind = s.getKind();
    }
  }
  return kind;
}

}  // namespace

R ContractOn(S::EnterpriseRecord::Reader e, const std::string& community, const std::string& programme, int32_t day) {
  bool covers = false;
  for (auto c : e.getContracts()) {
    bool community_ok = false, programme_ok = false;
    for (auto x : c.getCommunities()) community_ok |= View(x) == community;
    for (auto x : c.getProgrammes()) programme_ok |= View(x) == programme;
    if (!community_ok || !programme_ok) continue;
    covers = true;
    bool ended = c.hasEnded() && c.getEnded().getEndedOn() <= day;
    if (c.getValidFrom() <= day && day <= c.getValidUntil() && !ended) return R::NONE;
  }
  return covers ? R::OUTSIDE_CONTRACT_PERIOD : R::NO_CONTRACT;
}

namespace {

// Each worker's overlapping visits in the month, shared by the Billers that
// judge parts of a statement in parallel, so that a worker's visits are read
// once however many parts meet them.
struct SharedOverlaps {
  std::mutex mu;
  std::map<std::string, std::shared_ptr<const std::set<std::string>>> by_worker;
};

class Biller {
 public:
  Biller(const Snapshot& snap, std::string month, SharedOverlaps& shared)
      : snap_(snap), month_(std::move(month)), policies_(LoadPolicies(snap)), shared_(shared) {
    int32_t m = *ParseMonth(month_);
    month_start_ = FirstDayOfMonth(m);
    month_end_ = FirstDayOfMonth(m + 1);
  }

  // Verdicts for every delivery to `elder` in the month, by every
  // enterprise, in check-in order (the order the monthly cap is spent in).
  void Elder(const std::string& elder_id, std::vector<Line>& out) {
    auto facts = LoadElder(snap_, elder_id);
    if (!facts) return;
    std::vector<Line> lines;
    std::vector<std::pair<int64_t, std::string>> earlier;  // (check-out, service) of earlier claims
    std::map<std::string, int64_t> spent;                  // by programme
    // The elder's eligibility by (programme, day): meals come daily, and
    // every delivery of a day has the same answer.
    std::map<std::pair<std::string, int32_t>, Eligibility> eligible;
    snap_.Scan<S::DeliveryRecord>(keys::Prefix({"dl", elder_id, month_}),
                                  [&](std::string_view key, const Record<S::DeliveryRecord>& rec) {
                                    lines.push_back(Judge(*facts, std::string(key), rec.get(), earlier, spent, eligible));
                                    return true;
                                  });
    for (auto& l : lines) out.push_back(std::move(l));
  }

  std::set<std::string> versions;

 private:
  Line Judge(const ElderFacts& facts, std::string key, S::DeliveryRecord::Reader rec,
             std::vector<std::pair<int64_t, std::string>>& earlier, std::map<std::string, int64_t>& spent,
             std::map<std::pair<std::string, int32_t>, Eligibility>& eligible) {
    auto c = rec.getClaim();
    Line l;
    l.key = std::move(key);
    l.enterprise = Str(c.getEnterpriseId());
    l.delivery_id = Str(c.getDeliveryId());
    l.elder = Str(c.getElderId());
    l.service = Str(c.getService());
    l.programme = Str(c.getProgramme());
    l.worker = Str(c.getWorkerId());
    l.index = rec.getIndex();
    l.check_in = c.getCheckIn();
    l.date = DateOfTimestamp(c.getCheckIn(), kChinaOffsetMinutes);
    l.minutes = static_cast<uint32_t>((c.getCheckOut() - c.getCheckIn()) / (60 * kMicrosPerSecond));
    uint32_t units = std::max<uint32_t>(1, c.getUnits());

    const auto* policy_rec = PolicyOn(policies_, l.date);
    std::optional<S::ServiceRule::Reader> service;
    S::PolicyPublished::Reader policy;
    if (policy_rec) {
      policy = policy_rec->get().getPolicy();
      if (used_policies_.insert(policy_rec).second) versions.insert(Str(policy.getVersion()));
      service = Service(policy_rec, l.service);
    }
    if (service) l.claimed = service->getUnitPriceFen() * units;
    auto add = [&](R r) { l.reasons.push_back(r); };

    if (rec.hasVoided()) add(R::VOIDED);
    bool spot = false, call = false;
    for (auto ch : rec.getChecks()) {
      spot |= ch.getIsSpotCheck() && (ch.getSpotCheck() == S::SpotCheckOutcome::NOT_DELIVERED ||
                                      ch.getSpotCheck() == S::SpotCheckOutcome::PARTLY_DELIVERED);
      call |= !ch.getIsSpotCheck() && ch.getFollowUp() == S::CallOutcome::DENIED;
    }
    if (spot) add(R::DENIED_BY_SPOT_CHECK);
    if (call) add(R::DENIED_BY_FOLLOW_UP);
    bool dup = false;
    for (const auto& [out, svc] : earlier) dup |= svc == l.service && out > c.getCheckIn();
    if (!rec.hasVoided()) earlier.emplace_back(c.getCheckOut(), l.service);
    if (dup || rec.getReusesEvidence()) add(R::DUPLICATE);
    if (HasCircumstance(facts.elder.get(), S::Circumstance::DECEASED, l.date)) add(R::ELDER_DECEASED);
    auto known = eligible.find({l.programme, l.date});
    if (known == eligible.end()) {
      known = eligible.emplace(std::make_pair(l.programme, l.date),
                               Evaluate(facts, policy_rec ? &policy : nullptr, l.programme, l.date)).first;
    }
    const Eligibility& e = known->second;
    if (!e.eligible) {
      add(R::INELIGIBLE);
      for (const auto& r : e.reasons) l.detail += (l.detail.empty() ? "" : "; ") + r.code + ": " + r.detail;
    }
    if (auto ent = Enterprise(l.enterprise)) {
      auto st = StatusOn(ent->get(), l.date);
      if (st == S::StatusKind::EXITED) add(R::ENTERPRISE_EXITED);
      if (st == S::StatusKind::SUSPENDED) add(R::ENTERPRISE_SUSPENDED);
      R contract = ContractOn(ent->get(), Str(facts.elder.get().getProfile().getCommunity()), l.programme, l.date);
      if (contract != R::NONE) add(contract);
    } else {
      add(R::NO_CONTRACT);
    }
    if (!service || Str(service->getProgramme()) != l.programme) {
      add(R::UNKNOWN_SERVICE);
    } else {
      if (l.minutes < service->getMinMinutes()) add(R::BELOW_MIN_DURATION);
      if (service->getUnit() == S::Unit::PER_HOUR && units * 60 > l.minutes + 5) add(R::UNITS_EXCEED_DURATION);
    }
    if (Overlapping(l.enterprise, l.worker)->count(l.key)) add(R::WORKER_OVERLAP);
    if (l.reasons.empty()) {
      int64_t cap = e.monthly_entitlement_fen;
      int64_t remaining = cap > 0 ? cap - spent[l.programme] : l.claimed;
      if (remaining <= 0) {
        add(R::OVER_MONTHLY_CAP);
      } else {
        l.billed = std::min(l.claimed, remaining);
        l.capped = l.billed < l.claimed;
        spent[l.programme] += l.billed;
        uint32_t city = policy_rec ? policy.getFunding().getCityPermille() : 500;
        l.city = l.billed * city / 1000;
      }
    }
    return l;
  }

  // The catalogue entry for `code` in a policy (the last one with that code).
  std::optional<S::ServiceRule::Reader> Service(const Record<S::PolicyRecord>* policy, const std::string& code) {
    auto key = std::make_pair(policy, code);
    auto it = services_.find(key);
    if (it != services_.end()) return it->second;
    std::optional<S::ServiceRule::Reader> found;
    for (auto s : policy->get().getPolicy().getServices()) {
      if (View(s.getCode()) == code) found = s;
    }
    return services_.emplace(std::move(key), found).first->second;
  }

  const Record<S::EnterpriseRecord>* Enterprise(const std::string& id) {
    auto it = enterprises_.find(id);
    if (it == enterprises_.end()) it = enterprises_.emplace(id, snap_.Load<S::EnterpriseRecord>(keys::Join({"en", id}))).first;
    return it->second ? &*it->second : nullptr;
  }

  // Keys of the worker's deliveries that overlap another of theirs in time.
  const std::shared_ptr<const std::set<std::string>>& Overlapping(const std::string& ent, const std::string& worker) {
    std::string id = ent + '\0' + worker;
    auto it = overlaps_.find(id);
    if (it != overlaps_.end()) return it->second;
    {
      std::lock_guard<std::mutex> lock(shared_.mu);
      auto known = shared_.by_worker.find(id);
      if (known != shared_.by_worker.end()) return overlaps_.emplace(id, known->second).first->second;
    }
    int64_t from = (int64_t{month_start_} - 1) * kMicrosPerDay;
    int64_t to = (int64_t{month_end_} + 1) * kMicrosPerDay;
    // The worker's lookups of one kind ("dw" visits, "dx" voids) checked in
    // around the month, as of the snapshot: fn(check-in, target).
    auto scan = [&](std::string_view kind, const std::function<void(int64_t, std::string_view)>& fn) {
      std::string prefix = keys::Prefix({kind, ent, worker});
      snap_.state().Scan(prefix, [&](std::string_view k, std::string_view v) {
        auto at = static_cast<int64_t>(GetBigEndian64(reinterpret_cast<const uint8_t*>(k.data() + prefix.size())));
        if (at > to) return false;
        auto idx = keys::DecodeLookup(v);
        if (idx && idx->index < snap_.size()) fn(at, idx->target);
        return true;
      }, prefix + keys::BE64(static_cast<uint64_t>(std::max<int64_t>(0, from))));
    };
    struct Visit {
      int64_t in, out;
      std::string key;
    };
    std::vector<Visit> visits;  // in check-in order
    scan("dw", [&](int64_t at, std::string_view target) {
      if (target.size() < 8) return;
      auto out = static_cast<int64_t>(GetBigEndian64(reinterpret_cast<const uint8_t*>(target.data())));
      visits.push_back({at, out, std::string(target.substr(8))});
    });
    std::set<std::string, std::less<>> voided;
    scan("dx", [&](int64_t, std::string_view target) { voided.emplace(target); });
    // A voided visit overlaps nothing; any other overlaps the longest-running
    // visit before it if it starts before that one ends.
    std::set<std::string> marked;
    const Visit* longest = nullptr;
    for (const Visit& v : visits) {
      if (voided.count(v.key)) continue;
      if (longest && v.in < longest->out) {
        marked.insert(v.key);
        marked.insert(longest->key);
      }
      if (!longest || v.out > longest->out) longest = &v;
    }
    auto found = std::make_shared<const std::set<std::string>>(std::move(marked));
    {
      std::lock_guard<std::mutex> lock(shared_.mu);
      found = shared_.by_worker.emplace(id, found).first->second;  // the first computed, if two parts raced
    }
    return overlaps_.emplace(id, std::move(found)).first->second;
  }

  const Snapshot& snap_;
  std::string month_;
  int32_t month_start_ = 0, month_end_ = 0;
  std::vector<Record<S::PolicyRecord>> policies_;
  std::map<std::string, std::optional<Record<S::EnterpriseRecord>>> enterprises_;
  std::set<const Record<S::PolicyRecord>*> used_policies_;
  std::map<std::pair<const Record<S::PolicyRecord>*, std::string>, std::optional<S::ServiceRule::Reader>> services_;
  SharedOverlaps& shared_;
  // This Biller's own view of `shared_`: every delivery asks, so the
  // answer is read without taking the shared lock once it is known.
  std::map<std::string, std::shared_ptr<const std::set<std::string>>> overlaps_;
};

void Fill(S::StatementLine::Builder out, const Line& l) {
  out.setDeliveryId(l.delivery_id);
  out.setIndex(l.index);
  out.setElderId(l.elder);
  out.setDate(l.date);
  out.setService(l.service);
  out.setProgramme(l.programme);
  out.setWorkerId(l.worker);
  out.setMinutes(l.minutes);
  out.setClaimedFen(l.claimed);
  out.setBilledFen(l.billed);
  out.setRefusal(l.reasons.empty() ? R::NONE : l.reasons.front());
  auto rs = out.initReasons(static_cast<unsigned>(l.reasons.size()));
  for (size_t i = 0; i < l.reasons.size(); ++i) rs.set(static_cast<unsigned>(i), l.reasons[i]);
  out.setDetail(l.detail);
  out.setCapped(l.capped);
}

}  // namespace

std::string RefusalName(S::Refusal r) {
  auto e = capnp::Schema::from<S::Refusal>().getEnumerants();
  auto i = static_cast<uint16_t>(r);
  return i < e.size() ? events::SnakeCase(e[i].getProto().getName().cStr()) : "unknown";
}

namespace {

// The highest log index among everything a month's statement for `ent`
// reads (as of the snapshot): if it is below a size, the statement at that
// size and now are the same. Facts that only take effect after the month
// (a later assessment, death, application, contract end, suspension or
// policy) cannot change it: billing evaluates each delivery on its own date
// with the facts effective on or before that date, so they are left out.
// Without this every statement would recompute every earlier month, and the
// cost of a close would grow with the age of the programme.
uint64_t LatestInput(const Snapshot& snap, const std::string& ent, const std::string& month) {
  uint64_t latest = 0;
  auto fact = [&](uint64_t i) { latest = std::max(latest, i); };
  const int32_t last_day = FirstDayOfMonth(*ParseMonth(month) + 1) - 1;
  auto by = [&](int32_t effective, uint64_t i) {
    if (effective <= last_day) fact(i);
  };
  std::set<std::string> enterprises = {ent};
  std::string prefix = keys::Prefix({"de", ent, month});
  for (const std::string& k : snap.Keys(prefix)) {
    std::string elder = k.substr(prefix.size());
    snap.Scan<S::DeliveryRecord>(keys::Prefix({"dl", elder, month}), [&](std::string_view, const Record<S::DeliveryRecord>& r) {
      fact(r.get().getIndex());
      if (r.get().hasVoided()) fact(r.get().getVoided().getIndex());
      for (auto c : r.get().getChecks()) fact(c.getIndex());
      enterprises.insert(Str(r.get().getClaim().getEnterpriseId()));
      return true;
    });
    if (auto facts = LoadElder(snap, elder)) {
      auto e = facts->elder.get();
      fact(e.getIndex());
      for (auto c : e.getCircumstances()) by(c.getEffectiveOn(), c.getIndex());
      for (auto a : e.getAssessments()) by(a.getAssessedOn(), a.getIndex());
      for (auto x : e.getEntitlementEnds()) by(x.getEndedOn(), x.getIndex());
      for (const auto& app : facts->applications) {
        auto a = app.get();
        // An application matters once a decision takes effect within the
        // month; until then only its filing (and reviews) could, conservatively.
        if (a.getDecision().getIndex() != 0) {
          by(a.getDecision().getEffectiveFrom(), a.getDecision().getIndex());
        }
        by(a.getFiledOn(), std::max({a.getIndex(), a.getCommunityReview().getIndex(), a.getSubdistrictReview().getIndex()}));
      }
    }
  }
  for (const auto& e : enterprises) {
    if (auto rec = snap.Load<S::EnterpriseRecord>(keys::Join({"en", e}))) {
      fact(rec->get().getIndex());
      for (auto c : rec->get().getContracts()) {
        by(c.getValidFrom(), c.getIndex());
        if (c.hasEnded()) by(c.getEnded().getEndedOn(), c.getEnded().getIndex());
      }
      for (auto st : rec->get().getStatus()) by(st.getEffectiveFrom(), st.getIndex());
    }
  }
  for (const auto& p : LoadPolicies(snap)) by(p.get().getPolicy().getEffectiveFrom(), p.get().getIndex());
  return latest;
}

}  // namespace

void Statement::Seal() {
  canonical_ = CanonicalBytes(root_.asReader());
  digest_ = Sha256(AsBytes(canonical_));
}

Result<std::unique_ptr<Statement>> ComputeStatement(const Snapshot& snap, const std::string& enterprise,
                                                    const std::string& month) {
  ELDERCARE_ASSIGN_OR_RETURN(auto st, Statement::Bill(snap, enterprise, month));
  // Corrections to closed earlier months: the change since each was last
  // accounted for (its close, or the close of a later month whose statement
  // carried an adjustment for it).
  struct Close {
    std::string month;
    uint64_t at_size;
  };
  std::vector<Close> closes;
  snap.Scan<S::CloseRecord>(keys::Prefix({"bc", enterprise}), [&](std::string_view, const Record<S::CloseRecord>& r) {
    std::string m = Str(r.get().getClose().getMonth());
    if (m < month) closes.push_back({m, r.get().getClose().getAtSize()});
    return true;
  });
  std::vector<std::tuple<std::string, int64_t, int64_t>> adjustments;
  for (size_t j = 0; j < closes.size(); ++j) {
    uint64_t accounted = closes.back().at_size;  // the latest close before this month accounted for everything earlier
    if (j + 1 == closes.size()) accounted = closes[j].at_size;
    if (LatestInput(snap, enterprise, closes[j].month) < accounted) continue;
    ELDERCARE_ASSIGN_OR_RETURN(auto now, Statement::Bill(snap, enterprise, closes[j].month));
    Snapshot then_snap(snap.state(), snap.state_size(), accounted);
    ELDERCARE_ASSIGN_OR_RETURN(auto then, Statement::Bill(then_snap, enterprise, closes[j].month));
    int64_t a = then->get().getBilledFen(), b = now->get().getBilledFen();
    if (a != b) adjustments.emplace_back(closes[j].month, a, b);
  }
  auto r = st->root_;
  int64_t total = 0;
  auto list = r.initAdjustments(static_cast<unsigned>(adjustments.size()));
  for (size_t i = 0; i < adjustments.size(); ++i) {
    auto [m, a, b] = adjustments[i];
    list[static_cast<unsigned>(i)].setMonth(m);
    list[static_cast<unsigned>(i)].setAccountedFen(a);
    list[static_cast<unsigned>(i)].setNowFen(b);
    total += b - a;
  }
  r.setAdjustmentsFen(total);
  r.setPayableFen(r.getBilledFen() + total);
  st->Seal();
  return st;
}

Result<std::unique_ptr<Statement>> ComputeBilled(const Snapshot& snap, const std::string& enterprise,
                                                 const std::string& month) {
  ELDERCARE_ASSIGN_OR_RETURN(auto st, Statement::Bill(snap, enterprise, month));
  st->Seal();
  return st;
}

Result<std::unique_ptr<Statement>> Statement::Bill(const Snapshot& snap, const std::string& enterprise,
                                                   const std::string& month) {
  if (!ParseMonth(month).ok()) return Status::InvalidArgument("month '" + month + "' is not YYYY-MM");
  if (!snap.Load<S::EnterpriseRecord>(keys::Join({"en", enterprise}))) {
    return Status::NotFound("unknown enterprise '" + enterprise + "' at log size " + std::to_string(snap.size()));
  }
  // Elders are judged independently of each other, so on all cores: each
  // part has its own Biller over a contiguous run of the elders, and the
  // lines are put in one order afterwards (the result does not depend on
  // the number of parts). Snapshot reads are const and thread-safe.
  std::string prefix = keys::Prefix({"de", enterprise, month});
  std::vector<std::string> elders = snap.Keys(prefix);
  std::optional<ThreadPool> pool;
  if (elders.size() >= 256 && HardwareThreads() > 1) pool.emplace();
  size_t parts = pool ? pool->parallelism() : 1;
  std::vector<std::vector<Line>> judged(parts);
  std::vector<std::set<std::string>> part_versions(parts);
  SharedOverlaps overlaps;
  auto judge = [&](size_t part) {
    Biller biller(snap, month, overlaps);
    for (size_t i = part * elders.size() / parts; i < (part + 1) * elders.size() / parts; ++i) {
      biller.Elder(elders[i].substr(prefix.size()), judged[part]);
    }
    part_versions[part] = std::move(biller.versions);
  };
  if (pool) {
    pool->ParallelFor(parts, judge);
  } else {
    judge(0);
  }
  std::set<std::string> versions_used;
  std::vector<const Line*> lines;
  for (size_t part = 0; part < parts; ++part) {
    versions_used.insert(part_versions[part].begin(), part_versions[part].end());
    for (const auto& l : judged[part]) {
      if (l.enterprise == enterprise) lines.push_back(&l);
    }
  }
  std::sort(lines.begin(), lines.end(), [](const Line* a, const Line* b) {
    return std::tie(a->check_in, a->elder, a->delivery_id) < std::tie(b->check_in, b->elder, b->delivery_id);
  });

  auto st = std::make_unique<Statement>();
  auto r = st->root_;
  r.setEnterpriseId(enterprise);
  r.setMonth(month);
  r.setAtSize(snap.size());
  auto versions = r.initPolicyVersions(static_cast<unsigned>(versions_used.size()));
  unsigned vi = 0;
  for (const auto& v : versions_used) versions.set(vi++, v);
  std::map<R, std::pair<uint32_t, int64_t>> refusals;
  std::map<std::string, std::pair<uint32_t, int64_t>> programmes;
  int64_t claimed = 0, billed = 0, city = 0;
  uint32_t billable = 0;
  auto out = r.initLines(static_cast<unsigned>(lines.size()));
  for (size_t i = 0; i < lines.size(); ++i) {
    const Line& l = *lines[i];
    Fill(out[static_cast<unsigned>(i)], l);
    claimed += l.claimed;
    if (l.reasons.empty()) {
      ++billable;
      billed += l.billed;
      city += l.city;
      programmes[l.programme].first++;
      programmes[l.programme].second += l.billed;
    } else {
      refusals[l.reasons.front()].first++;
      refusals[l.reasons.front()].second += l.claimed;
    }
  }
  r.setDeliveries(static_cast<uint32_t>(lines.size()));
  r.setBillable(billable);
  r.setClaimedFen(claimed);
  r.setBilledFen(billed);
  r.setCityFen(city);
  r.setDistrictFen(billed - city);
  auto rl = r.initRefusals(static_cast<unsigned>(refusals.size()));
  unsigned ri = 0;
  for (const auto& [reason, v] : refusals) {
    rl[ri].setRefusal(reason);
    rl[ri].setCount(v.first);
    rl[ri++].setClaimedFen(v.second);
  }
  auto pl = r.initProgrammes(static_cast<unsigned>(programmes.size()));
  unsigned pi = 0;
  for (const auto& [prog, v] : programmes) {
    pl[pi].setProgramme(prog);
    pl[pi].setDeliveries(v.first);
    pl[pi++].setBilledFen(v.second);
  }
  r.setPayableFen(billed);
  return st;
}

}  // namespace eldercare::proj
