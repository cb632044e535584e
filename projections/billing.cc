#include "projections/billing.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <tuple>

#include <capnp/any.h>

#include "ledger/event_schema.h"
#include "ledger/thread_pool.h"
#include "ledger/time_util.h"
#include "projections/eligibility.h"
#include "projections/keys.h"

namespace eldercare::proj {
namespace {

namespace S = schema;
using R = S::Refusal;

// One delivery's verdict. The claim's text fields are read from the record
// it keeps (shared, not copied): a statement holds a line per delivery of
// every elder it judges.
struct Line {
  explicit Line(const Record<S::DeliveryRecord>& r)
      : rec(r),
        claim(rec.get().getClaim()),
        elder(View(claim.getElderId())),
        delivery_id(View(claim.getDeliveryId())),
        enterprise(View(claim.getEnterpriseId())),
        service(View(claim.getService())),
        programme(View(claim.getProgramme())),
        worker(View(claim.getWorkerId())) {}

  Record<S::DeliveryRecord> rec;
  // Readers and views into `rec`, each text read once (judging and filling
  // a line asked for them a dozen times).
  S::ServiceDelivered::Reader claim;
  std::string_view elder, delivery_id, enterprise, service, programme, worker;
  bool own = false;  // by the statement's enterprise
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

}  // namespace

std::optional<S::StatusFact::Reader> StatusChangeOn(S::EnterpriseRecord::Reader e, int32_t day) {
  std::optional<S::StatusFact::Reader> latest;
  for (auto s : e.getStatus()) {
    if (s.getEffectiveFrom() <= day && (!latest || s.getEffectiveFrom() >= latest->getEffectiveFrom())) latest = s;
  }
  return latest;
}

std::optional<S::StatusKind> StatusOn(S::EnterpriseRecord::Reader e, int32_t day) {
  auto change = StatusChangeOn(e, day);
  return change ? std::optional<S::StatusKind>(change->getKind()) : std::nullopt;
}

bool ContractInForce(S::ContractFact::Reader c, int32_t day) {
  bool ended = c.hasEnded() && c.getEnded().getEndedOn() <= day;
  return c.getValidFrom() <= day && day <= c.getValidUntil() && !ended;
}

bool MayServe(S::EnterpriseRecord::Reader e, std::string_view community, std::string_view programme, int32_t day) {
  auto status = StatusOn(e, day);
  if (status && *status != S::StatusKind::REINSTATED) return false;
  return ContractOn(e, community, programme, day) == S::Refusal::NONE;
}

namespace {

// The enterprise's contracts that cover the community for the programme.
std::vector<S::ContractFact::Reader> Covering(S::EnterpriseRecord::Reader e, std::string_view community,
                                              std::string_view programme) {
  std::vector<S::ContractFact::Reader> out;
  for (auto c : e.getContracts()) {
    bool community_ok = false, programme_ok = false;
    for (auto x : c.getCommunities()) community_ok |= View(x) == community;
    for (auto x : c.getProgrammes()) programme_ok |= View(x) == programme;
    if (community_ok && programme_ok) out.push_back(c);
  }
  return out;
}

R ContractOnDay(const std::vector<S::ContractFact::Reader>& covering, int32_t day) {
  for (auto c : covering) {
    if (ContractInForce(c, day)) return R::NONE;
  }
  return covering.empty() ? R::NO_CONTRACT : R::OUTSIDE_CONTRACT_PERIOD;
}

}  // namespace

R ContractOn(S::EnterpriseRecord::Reader e, std::string_view community, std::string_view programme, int32_t day) {
  return ContractOnDay(Covering(e, community, programme), day);
}

namespace {

// Each worker's overlapping visits in the month, shared by the Billers that
// judge parts of a statement in parallel, so that a worker's visits are read
// once however many parts meet them. A visit is named by the log index of
// its delivery (the index its "dw" look-up and its record both carry): every
// delivery asks whether it is marked, and comparing long keys that share
// their first forty bytes was a tenth of a statement.
using Marked = std::vector<uint64_t>;  // delivery indexes, sorted
// A worker's entry, once inserted, is never changed or moved (std::map), so
// a Biller may keep reading it without the lock while other parts insert.
struct SharedOverlaps {
  std::mutex mu;
  std::map<std::string, const Marked, std::less<>> by_worker;
};

class Biller {
 public:
  Biller(const Snapshot& snap, std::string_view enterprise, std::string month, SharedOverlaps& shared)
      : snap_(snap), enterprise_(enterprise), month_(std::move(month)), policies_(LoadPolicies(snap)), shared_(shared) {
    int32_t m = *ParseMonth(month_);
    month_start_ = FirstDayOfMonth(m);
    month_end_ = FirstDayOfMonth(m + 1);
  }

  // Verdicts for every delivery to `elder` in the month, by every
  // enterprise, in check-in order (the order the monthly cap is spent in).
  void Elder(const std::string& elder_id, std::vector<Line>& out) {
    auto facts = LoadElder(snap_, elder_id);
    if (!facts) return;
    // Views into the lines' records, which `out` keeps alive.
    std::vector<std::pair<int64_t, std::string_view>> earlier;  // (check-out, service) of earlier claims
    std::map<std::string_view, int64_t> spent;                  // by programme
    Eligibilities eligible{EligibilityChanges(*facts, month_start_, month_end_), {}, {}};
    // The contracts covering the elder's community, by (enterprise, programme).
    std::map<std::pair<std::string_view, std::string_view>, std::vector<S::ContractFact::Reader>> covering;
    snap_.Scan<S::DeliveryRecord>(keys::Prefix({"dl", month_, elder_id}),
                                  [&](std::string_view, const Record<S::DeliveryRecord>& rec) {
                                    out.emplace_back(rec);
                                    Judge(*facts, out.back(), earlier, spent, eligible, covering);
                                    return true;
                                  });
  }

  std::set<std::string> versions;

 private:
  // One elder's eligibility in the month. Evaluated once per run of days on
  // which it cannot change (EligibilityChanges) when eligible; an
  // ineligible answer is kept by day, as its reasons may name the day.
  struct Eligibilities {
    std::vector<int32_t> changes;
    std::map<std::pair<std::string_view, int32_t>, Eligibility> by_day;  // (programme, day)
    std::map<std::tuple<std::string_view, const void*, size_t>, const Eligibility*> by_run;  // (programme, policy, run)
  };

  const Eligibility& EligibilityOn(const ElderFacts& facts, Eligibilities& cache, const Record<S::PolicyRecord>* policy_rec,
                                   const S::PolicyPublished::Reader* policy, std::string_view programme, int32_t day) {
    const bool in_month = day >= month_start_ && day < month_end_;
    auto run = std::make_tuple(
        programme, static_cast<const void*>(policy_rec),
        static_cast<size_t>(std::upper_bound(cache.changes.begin(), cache.changes.end(), day) - cache.changes.begin()));
    if (in_month) {
      auto it = cache.by_run.find(run);
      if (it != cache.by_run.end()) return *it->second;
    }
    auto known = cache.by_day.find({programme, day});
    if (known == cache.by_day.end()) {
      known = cache.by_day.emplace(std::make_pair(programme, day), Evaluate(facts, policy, std::string(programme), day)).first;
    }
    if (in_month && known->second.eligible) cache.by_run.emplace(run, &known->second);
    return known->second;
  }

  void Judge(const ElderFacts& facts, Line& l,
             std::vector<std::pair<int64_t, std::string_view>>& earlier, std::map<std::string_view, int64_t>& spent,
             Eligibilities& eligible,
             std::map<std::pair<std::string_view, std::string_view>, std::vector<S::ContractFact::Reader>>& covering) {
    auto rec = l.rec.get();
    auto c = l.claim;
    const std::string_view enterprise = l.enterprise;
    l.own = enterprise == enterprise_;
    const std::string_view service_code = l.service;
    const std::string_view programme = l.programme;
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
      service = Service(policy_rec, service_code);
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
    for (const auto& [out, svc] : earlier) dup |= svc == service_code && out > c.getCheckIn();
    if (!rec.hasVoided()) earlier.emplace_back(c.getCheckOut(), service_code);
    if (dup || rec.getReusesEvidence()) add(R::DUPLICATE);
    if (HasCircumstance(facts.elder.get(), S::Circumstance::DECEASED, l.date)) add(R::ELDER_DECEASED);
    const Eligibility& e = EligibilityOn(facts, eligible, policy_rec, policy_rec ? &policy : nullptr, programme, l.date);
    if (!e.eligible) {
      add(R::INELIGIBLE);
      for (const auto& r : e.reasons) l.detail += (l.detail.empty() ? "" : "; ") + r.code + ": " + r.detail;
    }
    if (auto ent = Enterprise(enterprise)) {
      auto st = StatusOn(ent->get(), l.date);
      if (st == S::StatusKind::EXITED) add(R::ENTERPRISE_EXITED);
      if (st == S::StatusKind::SUSPENDED) add(R::ENTERPRISE_SUSPENDED);
      auto cov = covering.find({enterprise, programme});
      if (cov == covering.end()) {
        cov = covering
                  .emplace(std::make_pair(enterprise, programme),
                           Covering(ent->get(), View(facts.elder.get().getProfile().getCommunity()), programme))
                  .first;
      }
      R contract = ContractOnDay(cov->second, l.date);
      if (contract != R::NONE) add(contract);
    } else {
      add(R::NO_CONTRACT);
    }
    if (!service || View(service->getProgramme()) != programme) {
      add(R::UNKNOWN_SERVICE);
    } else {
      if (l.minutes < service->getMinMinutes()) add(R::BELOW_MIN_DURATION);
      if (service->getUnit() == S::Unit::PER_HOUR && units * 60 > l.minutes + 5) add(R::UNITS_EXCEED_DURATION);
    }
    if (const Marked& m = Overlapping(enterprise, l.worker); std::binary_search(m.begin(), m.end(), l.index)) {
      add(R::WORKER_OVERLAP);
    }
    if (l.reasons.empty()) {
      int64_t cap = e.monthly_entitlement_fen;
      int64_t remaining = cap > 0 ? cap - spent[programme] : l.claimed;
      if (remaining <= 0) {
        add(R::OVER_MONTHLY_CAP);
      } else {
        l.billed = std::min(l.claimed, remaining);
        l.capped = l.billed < l.claimed;
        spent[programme] += l.billed;
        uint32_t city = policy_rec ? policy.getFunding().getCityPermille() : 500;
        l.city = l.billed * city / 1000;
      }
    }
  }

  // The catalogue entry for `code` in a policy (the last one with that code).
  std::optional<S::ServiceRule::Reader> Service(const Record<S::PolicyRecord>* policy, std::string_view code) {
    // Most deliveries ask for the service the one before asked for.
    if (last_service_ && last_service_->first.first == policy && last_service_->first.second == code) {
      return last_service_->second;
    }
    auto key = std::make_pair(policy, std::string(code));
    auto it = services_.find(key);
    if (it == services_.end()) {
      std::optional<S::ServiceRule::Reader> found;
      for (auto s : policy->get().getPolicy().getServices()) {
        if (View(s.getCode()) == code) found = s;
      }
      it = services_.emplace(std::move(key), found).first;
    }
    last_service_ = &*it;  // (map nodes stay put)
    return it->second;
  }

  const Record<S::EnterpriseRecord>* Enterprise(std::string_view id) {
    auto it = enterprises_.find(id);
    if (it == enterprises_.end()) {
      it = enterprises_.emplace(std::string(id), snap_.Load<S::EnterpriseRecord>(keys::Join({"en", id}))).first;
    }
    return it->second ? &*it->second : nullptr;
  }

  // The worker's deliveries that overlap another of theirs in time. The
  // same worker usually serves an elder all month, so the shared map (and
  // its lock) is asked only when the worker changes.
  const Marked& Overlapping(std::string_view ent, std::string_view worker) {
    if (last_overlap_ && last_ent_ == ent && last_worker_ == worker) return *last_overlap_;
    last_ent_.assign(ent);
    last_worker_.assign(worker);
    last_overlap_ = &FindOverlapping(ent, worker);
    return *last_overlap_;
  }

  const Marked& FindOverlapping(std::string_view ent, std::string_view worker) {
    std::string id;
    id.reserve(ent.size() + 1 + worker.size());
    id.append(ent).append(1, '\0').append(worker);
    {
      std::lock_guard<std::mutex> lock(shared_.mu);
      auto known = shared_.by_worker.find(id);
      if (known != shared_.by_worker.end()) return known->second;
    }
    int64_t from = (int64_t{month_start_} - 1) * kMicrosPerDay;
    int64_t to = (int64_t{month_end_} + 1) * kMicrosPerDay;
    // The worker's lookups of one kind ("dw" visits, "dx" voids) checked in
    // around the month, as of the snapshot: fn(check-in, target).
    auto scan = [&](std::string_view kind, const std::function<void(int64_t, const keys::Lookup&)>& fn) {
      auto one = [&](const std::string& prefix) {
        snap_.state().Scan(prefix, [&](std::string_view k, std::string_view v) {
          auto at = static_cast<int64_t>(GetBigEndian64(reinterpret_cast<const uint8_t*>(k.data() + prefix.size())));
          if (at > to) return false;
          auto idx = keys::DecodeLookup(v);
          if (idx && idx->index < snap_.size()) fn(at, *idx);
          return true;
        }, prefix + keys::BE64(static_cast<uint64_t>(std::max<int64_t>(0, from))));
      };
      if (kind != "dw") return one(keys::Prefix({kind, ent, worker}));
      // Visits are filed under the month they start in: the month before
      // (its last day), this one, the month after (its first day), in order.
      for (int32_t day : {month_start_ - 1, month_start_, month_end_}) {
        one(keys::Prefix({kind, FormatMonth(MonthOfDate(day)), ent, worker}));
      }
    };
    std::set<std::string, std::less<>> voided;
    scan("dx", [&](int64_t, const keys::Lookup& x) { voided.emplace(x.target); });
    // In check-in order: a voided visit overlaps nothing; any other overlaps
    // the longest-running visit before it if it starts before that one ends.
    Marked marked;
    bool any = false;
    int64_t longest_out = 0;
    uint64_t longest = 0;  // its delivery's index
    scan("dw", [&](int64_t in, const keys::Lookup& visit) {
      if (visit.target.size() < 8) return;
      auto out = static_cast<int64_t>(GetBigEndian64(reinterpret_cast<const uint8_t*>(visit.target.data())));
      std::string_view key = visit.target.substr(8);
      if (!voided.empty() && voided.count(key)) return;
      if (any && in < longest_out) {
        marked.push_back(visit.index);
        marked.push_back(longest);
      }
      if (!any || out > longest_out) {
        any = true;
        longest_out = out;
        longest = visit.index;
      }
    });
    std::sort(marked.begin(), marked.end());
    marked.erase(std::unique(marked.begin(), marked.end()), marked.end());
    std::lock_guard<std::mutex> lock(shared_.mu);
    return shared_.by_worker.emplace(std::move(id), std::move(marked)).first->second;  // the first, if two parts raced
  }

  const Snapshot& snap_;
  std::string_view enterprise_;
  std::string month_;
  int32_t month_start_ = 0, month_end_ = 0;
  std::vector<Record<S::PolicyRecord>> policies_;
  std::map<std::string, std::optional<Record<S::EnterpriseRecord>>, std::less<>> enterprises_;
  std::set<const Record<S::PolicyRecord>*> used_policies_;
  using Services = std::map<std::pair<const Record<S::PolicyRecord>*, std::string>, std::optional<S::ServiceRule::Reader>>;
  Services services_;
  const Services::value_type* last_service_ = nullptr;
  SharedOverlaps& shared_;
  std::string last_ent_, last_worker_;
  const Marked* last_overlap_ = nullptr;
};

// A view Line keeps of one of its record's texts (NUL-terminated there).
capnp::Text::Reader AsText(std::string_view v) { return capnp::Text::Reader(v.data(), v.size()); }

void Fill(S::StatementLine::Builder out, const Line& l) {
  out.setDeliveryId(AsText(l.delivery_id));
  out.setIndex(l.index);
  out.setElderId(AsText(l.elder));
  out.setDate(l.date);
  out.setService(AsText(l.service));
  out.setProgramme(AsText(l.programme));
  out.setWorkerId(AsText(l.worker));
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

// The closed months of `ent` (before the statement's month) that something
// recorded at or after `accounted` could have changed, as of the snapshot;
// the others cannot have changed since they were accounted for, and are not
// recomputed. A month is rechecked when
//   - any of its deliveries (by any enterprise) was recorded, voided, called
//     about or spot-checked at or after `accounted` ("lw"), or
//   - a fact recorded since then takes effect on or before its last day
//     ("lf"): a fact about an elder only if `ent` served that elder in the
//     month; a policy, contract or enterprise status in any case.
// Facts that take effect after a month cannot change it: billing judges each
// delivery on its own date with the facts effective by then. Rechecking a
// month nothing changed gives no adjustment, so this may name too many
// months but never too few; what it reads is the few keys of the months and
// the facts recorded since the latest close, not the closed months' records,
// so a statement does not grow slower with the age of the programme.
std::set<std::string> Recheck(const Snapshot& snap, const std::string& ent, const std::set<std::string>& closed,
                              uint64_t accounted) {
  std::set<std::string> recheck;
  if (closed.empty()) return recheck;
  const std::string& last = *closed.rbegin();
  std::string lw = keys::Prefix({"lw"});
  snap.state().Scan(lw, [&](std::string_view k, std::string_view v) {
    std::string_view month = k.substr(lw.size());
    if (month > last) return false;
    if (v.size() == 8 && GetBigEndian64(reinterpret_cast<const uint8_t*>(v.data())) >= accounted && closed.count(std::string(month))) {
      recheck.emplace(month);
    }
    return true;
  }, lw + *closed.begin());
  std::string lf = keys::Prefix({"lf"});
  snap.state().Scan(lf, [&](std::string_view k, std::string_view v) {
    if (k.size() != lf.size() + 8) return true;
    if (GetBigEndian64(reinterpret_cast<const uint8_t*>(k.data() + lf.size())) >= snap.size()) return false;
    auto fact = keys::DecodeDatedFact(v);
    if (!fact) return true;
    std::string from = FormatMonth(MonthOfDate(fact->effective));
    if (from > last) return true;
    if (fact->scope == 'a') {
      recheck.insert(closed.lower_bound(from), closed.end());
      return true;
    }
    // The closed months from `from` in which `ent` delivered to the elder.
    for (auto m = closed.lower_bound(from); m != closed.end(); ++m) {
      if (!recheck.count(*m) && snap.state().Contains(keys::Join({"de", ent, *m, fact->elder}))) recheck.insert(*m);
    }
    return true;
  }, lf + keys::BE64(accounted));
  return recheck;
}

}  // namespace

// What capnp::canonicalize does, in one buffer: it builds the canonical
// copy in one array, checks it, and copies it into a second of its exact
// size. A statement is ~1.5 MB; after a rebuild has fragmented the heap,
// those two allocations were 7% of a statement's profile. The copy made
// with setCanonical is canonical by construction (capnp's own check is an
// assertion); a test compares the bytes with capnp::canonicalize's.
void Statement::Seal() {
  auto reader = root_.asReader();
  canonical_ = kj::heapArray<capnp::word>(reader.totalSize().wordCount + 1);
  std::memset(canonical_.begin(), 0, canonical_.asBytes().size());
  capnp::FlatMessageBuilder flat(canonical_);
  flat.initRoot<capnp::AnyPointer>().setCanonicalAs<S::Statement>(reader);
  canonical_words_ = flat.getSegmentsForOutput()[0].size();
  digest_ = Sha256(AsBytes(canonical()));
}

namespace {

// The enterprise's closes of months before `month`, in month order.
struct Close {
  std::string month;
  uint64_t at_size;
};
std::vector<Close> ClosesBefore(const Snapshot& snap, const std::string& enterprise, const std::string& month) {
  std::vector<Close> closes;
  snap.Scan<S::CloseRecord>(keys::Prefix({"bc", enterprise}), [&](std::string_view, const Record<S::CloseRecord>& r) {
    std::string m = Str(r.get().getClose().getMonth());
    if (m < month) closes.push_back({m, r.get().getClose().getAtSize()});
    return true;
  });
  return closes;
}

// The latest close before the month accounted for everything earlier: its
// statement carried the corrections until then.
uint64_t Accounted(const std::vector<Close>& closes) { return closes.empty() ? 0 : closes.back().at_size; }

std::set<std::string> Months(const std::vector<Close>& closes) {
  std::set<std::string> out;
  for (const auto& c : closes) out.insert(c.month);
  return out;
}

}  // namespace

std::set<std::string> MonthsToRecheck(const Snapshot& snap, const std::string& enterprise, const std::string& month) {
  auto closes = ClosesBefore(snap, enterprise, month);
  return Recheck(snap, enterprise, Months(closes), Accounted(closes));
}

Result<std::unique_ptr<Statement>> ComputeStatement(const Snapshot& snap, const std::string& enterprise,
                                                    const std::string& month) {
  ELDERCARE_ASSIGN_OR_RETURN(auto st, Statement::Bill(snap, enterprise, month));
  // Corrections to closed earlier months: the change since each was last
  // accounted for, where something could have changed it.
  const std::vector<Close> closes = ClosesBefore(snap, enterprise, month);
  const uint64_t accounted = Accounted(closes);
  const std::set<std::string> recheck = Recheck(snap, enterprise, Months(closes), accounted);
  std::vector<std::tuple<std::string, int64_t, int64_t>> adjustments;
  for (const auto& c : closes) {
    if (!recheck.count(c.month)) continue;
    ELDERCARE_ASSIGN_OR_RETURN(auto now, Statement::Bill(snap, enterprise, c.month));
    Snapshot then_snap(snap.state(), snap.state_size(), accounted);
    ELDERCARE_ASSIGN_OR_RETURN(auto then, Statement::Bill(then_snap, enterprise, c.month));
    int64_t a = then->get().getBilledFen(), b = now->get().getBilledFen();
    if (a != b) adjustments.emplace_back(c.month, a, b);
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

namespace {
// The helpers that judge a statement's elders: one pool for the process,
// started by the first statement with enough elders. A pool of its own per
// statement ended a thread per statement, and each thread's end had jemalloc
// purge its cache (benchmarks/RESULTS.md, eleventh session). ParallelFor is
// safe from several threads at once (reconcile bills enterprises on every
// core), and judging an elder never waits for the pool itself.
ThreadPool& BillingPool() {
  static ThreadPool pool;
  return pool;
}
}  // namespace

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
  ThreadPool* pool = elders.size() >= 256 && HardwareThreads() > 1 ? &BillingPool() : nullptr;
  size_t parts = pool ? pool->parallelism() : 1;
  std::vector<std::vector<Line>> judged(parts);
  std::vector<std::set<std::string>> part_versions(parts);
  SharedOverlaps overlaps;
  auto judge = [&](size_t part) {
    Biller biller(snap, enterprise, month, overlaps);
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
      if (l.own) lines.push_back(&l);
    }
  }
  std::sort(lines.begin(), lines.end(), [](const Line* a, const Line* b) {
    if (a->check_in != b->check_in) return a->check_in < b->check_in;
    return std::tie(a->elder, a->delivery_id) < std::tie(b->elder, b->delivery_id);
  });

  auto st = std::make_unique<Statement>(static_cast<unsigned>(1024 + 24 * lines.size()));
  auto r = st->root_;
  r.setEnterpriseId(enterprise);
  r.setMonth(month);
  r.setAtSize(snap.size());
  auto versions = r.initPolicyVersions(static_cast<unsigned>(versions_used.size()));
  unsigned vi = 0;
  for (const auto& v : versions_used) versions.set(vi++, v);
  std::map<R, std::pair<uint32_t, int64_t>> refusals;
  std::map<std::string, std::pair<uint32_t, int64_t>, std::less<>> programmes;
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
      auto known = programmes.find(l.programme);
      if (known == programmes.end()) known = programmes.emplace(std::string(l.programme), std::pair<uint32_t, int64_t>{}).first;
      auto& p = known->second;
      p.first++;
      p.second += l.billed;
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
