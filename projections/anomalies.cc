#include "projections/anomalies.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "ledger/time_util.h"
#include "projections/billing.h"
#include "projections/eligibility.h"
#include "projections/keys.h"

namespace eldercare::proj {
namespace {

namespace S = schema;

struct Delivery {
  std::string key;
  uint64_t index = 0;
  std::string id, elder, enterprise, worker, service, programme, evidence;
  int64_t planned_start = 0;  // 0: the platform planned no start
  int64_t in = 0, out = 0;
  int32_t date = 0;
  int32_t in_lat = 0, in_lon = 0, out_lat = 0, out_lon = 0;
  uint32_t in_distance = 0, out_distance = 0;
};

double DistanceM(int32_t lat1, int32_t lon1, int32_t lat2, int32_t lon2) {
  double dlat = (lat2 - lat1) / 1e6 * 111320.0;
  double dlon = (lon2 - lon1) / 1e6 * 111320.0 * std::cos(lat1 / 1e6 * 3.14159265358979 / 180);
  return std::sqrt(dlat * dlat + dlon * dlon);
}

class Detector {
 public:
  Detector(const Snapshot& snap, std::string month) : snap_(snap), month_(std::move(month)), policies_(LoadPolicies(snap)) {
    int32_t m = *ParseMonth(month_);
    first_ = FirstDayOfMonth(m);
    last_ = FirstDayOfMonth(m + 1) - 1;
    if (const auto* p = PolicyOn(policies_, first_)) {
      auto sup = p->get().getPolicy().getSupervision();
      if (sup.getMaxCheckinDistanceM() > 0) max_distance_ = sup.getMaxCheckinDistanceM();
      if (sup.getMaxTravelKmh() > 0) max_kmh_ = sup.getMaxTravelKmh();
    }
  }

  void Enterprise(const std::string& ent, std::vector<Finding>& out) {
    auto rec = snap_.Load<S::EnterpriseRecord>(keys::Join({"en", ent}));
    if (!rec) return;
    std::vector<Delivery> dels = Load(ent);
    // Where each evidence hash was first seen: random keys of a family as
    // large as the log, read in one batch.
    std::vector<std::string> evidence_keys;
    evidence_keys.reserve(dels.size());
    for (const Delivery& d : dels) evidence_keys.push_back(keys::Join({"ev", d.evidence}));
    const std::vector<std::optional<std::string>> first_seen = snap_.state().GetMany(evidence_keys);
    std::map<std::string, std::vector<const Delivery*>> by_worker;
    std::map<std::string, int> per_elder;
    for (size_t i = 0; i < dels.size(); ++i) {
      const Delivery& d = dels[i];
      PerDelivery(d, first_seen[i], rec->get(), out);
      by_worker[d.worker].push_back(&d);
      ++per_elder[d.elder];
    }
    for (auto& [worker, visits] : by_worker) Worker(ent, visits, out);
    for (const auto& [elder, n] : per_elder) DoubleBenefit(ent, elder, out);
    Calls(ent, per_elder, dels, out);
    Money(ent, out);
  }

 private:
  Finding Make(const char* code, const std::string& ent, const std::string& elder, std::string detail) {
    return Finding{code, ent, month_, elder, {}, {}, std::move(detail)};
  }

  // The month's non-voided deliveries of one enterprise, by check-in.
  std::vector<Delivery> Load(const std::string& ent) {
    std::vector<Delivery> out;
    std::string de = keys::Prefix({"de", ent, month_});
    for (const std::string& k : snap_.Keys(de)) {
      std::string elder = k.substr(de.size());
      snap_.Scan<S::DeliveryRecord>(keys::Prefix({"dl", month_, elder}), [&](std::string_view key, const Record<S::DeliveryRecord>& r) {
        auto c = r.get().getClaim();
        if (Str(c.getEnterpriseId()) != ent || r.get().hasVoided()) return true;
        Delivery d;
        d.key = std::string(key);
        d.index = r.get().getIndex();
        d.id = Str(c.getDeliveryId());
        d.elder = elder;
        d.enterprise = ent;
        d.worker = Str(c.getWorkerId());
        d.service = Str(c.getService());
        d.programme = Str(c.getProgramme());
        d.evidence.assign(reinterpret_cast<const char*>(c.getEvidence().begin()), c.getEvidence().size());
        d.planned_start = c.getPlannedStart();
        d.in = c.getCheckIn();
        d.out = c.getCheckOut();
        d.date = DateOfTimestamp(d.in, kChinaOffsetMinutes);
        d.in_lat = c.getCheckInLatMicro();
        d.in_lon = c.getCheckInLonMicro();
        d.out_lat = c.getCheckOutLatMicro();
        d.out_lon = c.getCheckOutLonMicro();
        d.in_distance = c.getCheckInDistanceM();
        d.out_distance = c.getCheckOutDistanceM();
        out.push_back(std::move(d));
        return true;
      });
    }
    std::sort(out.begin(), out.end(), [](const Delivery& a, const Delivery& b) { return std::tie(a.in, a.id) < std::tie(b.in, b.id); });
    return out;
  }

  const std::optional<Record<S::ElderRecord>>& Elder(const std::string& id) {
    auto it = elders_.find(id);
    if (it == elders_.end()) it = elders_.emplace(id, snap_.Load<S::ElderRecord>(keys::Join({"el", id}))).first;
    return it->second;
  }

  // `first_seen`: the lookup of the delivery's evidence hash.
  void PerDelivery(const Delivery& d, const std::optional<std::string>& first_seen, S::EnterpriseRecord::Reader ent,
                   std::vector<Finding>& out) {
    const auto& elder = Elder(d.elder);
    if (!elder) return;
    auto e = elder->get();
    auto add = [&](const char* code, std::string detail, std::vector<uint64_t> extra = {}) {
      Finding f = Make(code, d.enterprise, d.elder, std::move(detail));
      f.deliveries = {d.id};
      f.evidence = {d.index};
      f.evidence.insert(f.evidence.end(), extra.begin(), extra.end());
      out.push_back(std::move(f));
    };
    // after_death: the latest `deceased` change effective on or before the day.
    if (HasCircumstance(e, S::Circumstance::DECEASED, d.date)) {
      uint64_t fact = 0;
      for (auto c : e.getCircumstances()) {
        if (c.getCircumstance() == S::Circumstance::DECEASED && c.getEffectiveOn() <= d.date) fact = c.getIndex();
      }
      add("after_death", "delivered on " + FormatDate(d.date) + " to an elder recorded as deceased", {fact});
    }
    const auto* policy = PolicyOn(policies_, d.date);
    if (policy) {
      for (auto s : policy->get().getPolicy().getServices()) {
        if (Str(s.getCode()) != d.service) continue;
        int64_t minutes = (d.out - d.in) / (60 * kMicrosPerSecond);
        if (minutes < s.getMinMinutes()) {
          add("short_visit", std::to_string(minutes) + " minutes of " + d.service + ", minimum " + std::to_string(s.getMinMinutes()));
        }
      }
    }
    // late_visit: checked in more than the tolerance (the policy in force
    // that day; 30 minutes where it sets none) after the planned start.
    if (d.planned_start != 0) {
      uint32_t tolerance = kDefaultLateToleranceMinutes;
      if (policy && policy->get().getPolicy().getSupervision().getLateToleranceMinutes() > 0) {
        tolerance = policy->get().getPolicy().getSupervision().getLateToleranceMinutes();
      }
      int64_t late = d.in - d.planned_start;
      if (late > int64_t{tolerance} * 60 * kMicrosPerSecond) {
        add("late_visit", "checked in " + std::to_string(late / (60 * kMicrosPerSecond)) + " minutes after the planned start " +
                              FormatTimestampOffset(d.planned_start, kChinaOffsetMinutes) + " (tolerance " +
                              std::to_string(tolerance) + " minutes)");
      }
    }
    auto home = e.getProfile();
    double from_home = std::max(
        home.getHomeLatMicro() && d.in_lat ? DistanceM(home.getHomeLatMicro(), home.getHomeLonMicro(), d.in_lat, d.in_lon) : 0.0,
        home.getHomeLatMicro() && d.out_lat ? DistanceM(home.getHomeLatMicro(), home.getHomeLonMicro(), d.out_lat, d.out_lon) : 0.0);
    // Locations are coarse (0.001 degree): allow for the rounding.
    uint32_t reported = std::max(d.in_distance, d.out_distance);
    if (reported > max_distance_ || from_home > max_distance_ + 160) {
      add("off_location", "checked in " + std::to_string(std::max<uint32_t>(reported, static_cast<uint32_t>(from_home))) +
                              " m from the home (limit " + std::to_string(max_distance_) + " m)");
    }
    if (first_seen) {
      auto first = keys::DecodeLookup(*first_seen);
      if (first && first->index < d.index) {
        add("evidence_reuse", "the same evidence hash as the delivery at index " + std::to_string(first->index), {first->index});
      }
    }
    if (!AssignedTo(e, d.enterprise, d.date, d.date)) {
      add("unassigned_elder", "no assignment of " + d.elder + " to " + d.enterprise + " in force on " + FormatDate(d.date) +
                                  ": a claim for an elder the programme did not assign to it (headcount inflation)");
    }
    if (ContractOn(ent, Str(home.getCommunity()), d.programme, d.date) != S::Refusal::NONE) {
      add("outside_contract", "no contract of " + d.enterprise + " covers community " + Str(home.getCommunity()) + " for " +
                                  d.programme + " on " + FormatDate(d.date));
    }
  }

  void Worker(const std::string& ent, std::vector<const Delivery*>& visits, std::vector<Finding>& out) {
    // Overlaps first; travel is checked only between visits that overlap
    // nothing (a worker in two places at once is reported once, as that).
    std::set<const Delivery*> overlapping;
    const Delivery* longest = nullptr;
    for (const Delivery* v : visits) {  // by check-in
      if (longest && v->in < longest->out) {
        Finding f = Make("worker_overlap", ent, v->elder,
                         "worker " + v->worker + " at " + longest->elder + " and " + v->elder + " at the same time");
        f.deliveries = {longest->id, v->id};
        f.evidence = {longest->index, v->index};
        out.push_back(std::move(f));
        overlapping.insert(v);
        overlapping.insert(longest);
      }
      if (!longest || v->out > longest->out) longest = v;
    }
    const Delivery* prev = nullptr;
    for (const Delivery* v : visits) {
      if (overlapping.count(v)) {
        prev = nullptr;
        continue;
      }
      if (prev && v->in > prev->out) {
        double km = DistanceM(prev->out_lat, prev->out_lon, v->in_lat, v->in_lon) / 1000.0;
        double hours = static_cast<double>(v->in - prev->out) / 3600e6;
        if (km > 1.0 && km / hours > max_kmh_) {
          Finding f = Make("impossible_travel", ent, v->elder,
                           "worker " + v->worker + " covered " + std::to_string(static_cast<int>(km * 10) / 10.0).substr(0, 4) +
                               " km in " + std::to_string(static_cast<int>(hours * 60)) + " minutes");
          f.deliveries = {v->id};
          f.evidence = {prev->index, v->index};
          out.push_back(std::move(f));
        }
      }
      prev = v;
    }
  }

  void DoubleBenefit(const std::string& ent, const std::string& elder, std::vector<Finding>& out) {
    if (!reported_elders_.insert(elder).second) return;
    auto facts = LoadElder(snap_, elder);
    if (!facts) return;
    std::map<std::string, std::vector<uint64_t>> approvals;
    for (const auto& app : facts->applications) {
      auto d = app.get().getDecision();
      if (d.getIndex() != 0 && d.getDecision() == S::Decision::PASS && d.getEffectiveFrom() <= last_) {
        approvals[Str(app.get().getProgramme())].push_back(d.getIndex());
      }
    }
    for (const auto& [programme, indexes] : approvals) {
      if (indexes.size() < 2) continue;
      Finding f = Make("double_benefit", ent, elder,
                       "approved " + std::to_string(indexes.size()) + " times for " + programme);
      f.evidence = indexes;
      out.push_back(std::move(f));
    }
  }

  // The follow-up cross-check: the elder's own account of the month (how many
  // visits, how long a visit typically lasts, whether it is always the same
  // worker) against what the enterprise recorded. Contradicted when the
  // records show at least two more visits, a median visit at least
  // max(20 min, half) longer than the elder's "typical", or three or more
  // workers where the elder says it is always the same one.
  void Calls(const std::string& ent, const std::map<std::string, int>& per_elder, const std::vector<Delivery>& dels,
             std::vector<Finding>& out) {
    snap_.Scan<S::CallRecord>(keys::Prefix({"fc", ent, month_}), [&](std::string_view, const Record<S::CallRecord>& r) {
      auto c = r.get().getCall();
      if (c.getOutcome() == S::CallOutcome::UNREACHABLE) return true;
      std::string elder = Str(c.getElderId());
      auto it = per_elder.find(elder);
      int recorded = it == per_elder.end() ? 0 : it->second;
      int reported = c.getReportedVisits();
      std::vector<int64_t> minutes;
      std::set<std::string> workers;
      for (const Delivery& d : dels) {
        if (d.elder != elder) continue;
        minutes.push_back((d.out - d.in) / (60 * kMicrosPerSecond));
        workers.insert(d.worker);
      }
      std::sort(minutes.begin(), minutes.end());
      int64_t median = minutes.empty() ? 0 : minutes[minutes.size() / 2];
      int64_t typical = c.getReportedMinutes();
      std::vector<std::string> sides;
      if (recorded - reported >= 2) {
        sides.push_back("the elder says " + std::to_string(reported) + " visits in " + month_ + ", the records show " +
                        std::to_string(recorded));
      }
      if (typical > 0 && !minutes.empty() && median >= typical + std::max<int64_t>(20, typical / 2)) {
        sides.push_back("the elder says a visit lasts about " + std::to_string(typical) + " min, the records' median is " +
                        std::to_string(median) + " min");
      }
      if (c.getSameWorker() == S::YesNo::YES && workers.size() >= 3) {
        sides.push_back("the elder says always the same worker, the records show " + std::to_string(workers.size()) +
                        " workers");
      }
      if (sides.empty()) return true;
      std::string detail;
      for (const auto& side : sides) detail += (detail.empty() ? "" : "; ") + side;
      Finding f = Make("follow_up_contradiction", ent, elder, detail);
      f.evidence = {r.get().getIndex()};
      for (const Delivery& d : dels) {
        if (d.elder == elder) {
          f.deliveries.push_back(d.id);
          f.evidence.push_back(d.index);
        }
      }
      out.push_back(std::move(f));
      return true;
    });
  }

  void Money(const std::string& ent, std::vector<Finding>& out) {
    auto close = snap_.Load<S::CloseRecord>(keys::Join({"bc", ent, month_}));
    int64_t city = 0, district = 0, paid = 0;
    std::vector<uint64_t> evidence;
    snap_.Scan<S::AllocationRecord>(keys::Prefix({"fa", month_, ent}), [&](std::string_view, const Record<S::AllocationRecord>& r) {
      (r.get().getAllocation().getSource() == S::FundSource::CITY ? city : district) += r.get().getAllocation().getAmountFen();
      evidence.push_back(r.get().getIndex());
      return true;
    });
    snap_.Scan<S::PaymentRecord>(keys::Prefix({"fp", month_, ent}), [&](std::string_view, const Record<S::PaymentRecord>& r) {
      paid += r.get().getPayment().getAmountFen();
      evidence.push_back(r.get().getIndex());
      return true;
    });
    std::vector<std::string> problems;
    int64_t total = close ? close->get().getClose().getTotalFen() : 0;
    if (!close && (paid || city || district)) problems.push_back("money for a month that is not closed");
    if (close && paid && paid != total) {
      problems.push_back("paid " + std::to_string(paid) + " fen against a closed statement of " + std::to_string(total));
    }
    if (close && (city || district) && city + district != total) {
      problems.push_back("allocated " + std::to_string(city + district) + " fen against " + std::to_string(total));
    }
    if ((city || district) && std::llabs(city - district) > 1) {
      problems.push_back("city " + std::to_string(city) + " and district " + std::to_string(district) + " are not 1:1");
    }
    if (problems.empty()) return;
    // Money paid back since does not undo the mismatch, but the inspector
    // sees it beside the finding (reconcile shows the month settled).
    int64_t recovered = 0;
    std::vector<uint64_t> recoveries;
    snap_.Scan<S::RecoveryRecord>(keys::Prefix({"fr", month_, ent}), [&](std::string_view, const Record<S::RecoveryRecord>& r) {
      recovered += r.get().getRecovery().getAmountFen();
      recoveries.push_back(r.get().getIndex());
      return true;
    });
    Finding f = Make("spending_mismatch", ent, "", "");
    for (const auto& p : problems) f.detail += (f.detail.empty() ? "" : "; ") + p;
    if (recovered) f.detail += "; " + std::to_string(recovered) + " fen paid back since";
    if (close) evidence.insert(evidence.begin(), close->get().getIndex());
    evidence.insert(evidence.end(), recoveries.begin(), recoveries.end());
    f.evidence = evidence;
    out.push_back(std::move(f));
  }

  const Snapshot& snap_;
  std::string month_;
  int32_t first_ = 0, last_ = 0;
  std::vector<Record<S::PolicyRecord>> policies_;
  uint32_t max_distance_ = 300, max_kmh_ = 40;
  static constexpr uint32_t kDefaultLateToleranceMinutes = 30;
  std::map<std::string, std::optional<Record<S::ElderRecord>>> elders_;
  std::set<std::string> reported_elders_;
};

}  // namespace

const std::vector<std::string>& FindingCodes() {
  static const std::vector<std::string> codes = {"after_death",       "double_benefit",   "worker_overlap",
                                                 "impossible_travel", "short_visit",      "off_location",
                                                 "late_visit",        "unassigned_elder", "evidence_reuse",
                                                 "outside_contract",  "spending_mismatch", "follow_up_contradiction"};
  return codes;
}

Result<std::vector<Finding>> DetectAnomalies(const Snapshot& snap, const std::string& month, const std::string& enterprise) {
  if (!ParseMonth(month).ok()) return Status::InvalidArgument("month '" + month + "' is not YYYY-MM");
  std::vector<std::string> enterprises;
  if (!enterprise.empty()) {
    if (!snap.Load<S::EnterpriseRecord>(keys::Join({"en", enterprise}))) {
      return Status::NotFound("unknown enterprise '" + enterprise + "'");
    }
    enterprises.push_back(enterprise);
  } else {
    snap.Scan<S::EnterpriseRecord>(keys::Prefix({"en"}), [&](std::string_view k, const Record<S::EnterpriseRecord>&) {
      enterprises.emplace_back(k.substr(3));
      return true;
    });
  }
  Detector d(snap, month);
  std::vector<Finding> out;
  for (const auto& e : enterprises) d.Enterprise(e, out);
  return out;
}

}  // namespace eldercare::proj
