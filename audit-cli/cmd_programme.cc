// eligibility, billing, supervision, enterprise, projection digest|rebuild (also top-level digest, rebuild).
#include <map>
#include <set>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "audit-cli/context.h"
#include "ledger/event_json.h"
#include "ledger/time_util.h"
#include "projections/billing.h"
#include "projections/digest.h"
#include "projections/eligibility.h"
#include "projections/gbt42195.h"
#include "projections/keys.h"
#include "projections/supervision.h"

namespace eldercare::cli {
namespace {

namespace S = schema;
using nlohmann::json;

struct AsOf {
  std::string ledger;
  int64_t at_size = -1;
  bool json = false;
};

void AddAsOf(CLI::App* cmd, AsOf& a) {
  cmd->add_option("--ledger", a.ledger, "Ledger directory (opened read-only)")->required();
  AddAtSize(cmd, a.at_size);
  cmd->add_flag("--json", a.json, "Print JSON");
}

// Opens the ledger and a snapshot of its projections at --at-size.
struct View {
  std::unique_ptr<Ledger> ledger;
  ProjectionView projections;
  std::unique_ptr<proj::Snapshot> snap;
};
Result<View> OpenView(const Context& ctx, const AsOf& a) {
  View v;
  ELDERCARE_ASSIGN_OR_RETURN(v.ledger, OpenLedger(ctx, a.ledger, false));
  ELDERCARE_ASSIGN_OR_RETURN(v.projections, v.ledger->Projections());
  ELDERCARE_ASSIGN_OR_RETURN(v.snap, SnapshotAt(v.projections, a.at_size));
  return v;
}

const char* CareName(S::CareLevel c) {
  switch (c) {
    case S::CareLevel::NONE: return "none";
    case S::CareLevel::LIGHT: return "light";
    case S::CareLevel::MODERATE: return "moderate";
    case S::CareLevel::SEVERE: return "severe";
  }
  return "unknown";
}

json EligibilityJson(const proj::Eligibility& e, uint64_t size) {
  json reasons = json::array();
  for (const auto& r : e.reasons) reasons.push_back({{"code", r.code}, {"detail", r.detail}});
  return {{"elder", e.elder_id},
          {"programme", e.programme},
          {"on", FormatDate(e.day)},
          {"at_size", size},
          {"eligible", e.eligible},
          {"policy_version", e.policy_version},
          {"age", e.age},
          {"condition", e.condition},
          {"condition_label", e.condition_label},
          {"conditions_met", e.conditions_met},
          {"reasons", reasons},
          {"assessed", e.assessed},
          {"ability", e.assessed ? proj::LevelName(e.ability) : "unassessed"},
          {"care_level", CareName(e.care_level)},
          {"monthly_entitlement_fen", e.monthly_entitlement_fen},
          {"assessment_id", e.assessment_id},
          {"application_id", e.application_id}};
}

void PrintEligibility(std::ostream& out, const proj::Eligibility& e) {
  out << e.elder_id << "  " << e.programme << "  " << FormatDate(e.day) << ": "
      << (e.eligible ? "ELIGIBLE" : "not eligible") << "  (policy " << e.policy_version << ", age " << e.age;
  if (e.assessed) out << ", assessed " << proj::LevelName(e.ability) << ", care level " << CareName(e.care_level);
  out << ")\n";
  if (e.eligible) {
    out << "  condition applied: " << e.condition << (e.condition_label.empty() ? "" : " -- " + e.condition_label)
        << "\n  monthly entitlement: " << Yuan(e.monthly_entitlement_fen) << " yuan\n";
    if (e.conditions_met.size() > 1) {
      out << "  also met (highest standard applies once):";
      for (const auto& c : e.conditions_met) out << " " << c;
      out << "\n";
    }
  }
  for (const auto& r : e.reasons) out << "  why not: " << r.code << " -- " << r.detail << "\n";
}

// Counts over every elder: by programme, eligible by condition applied, not
// eligible by first reason.
Status EligibilitySummary(Context& ctx, const proj::Snapshot& snap, int32_t day, bool as_json) {
  auto policies = proj::LoadPolicies(snap);
  const auto* policy = proj::PolicyOn(policies, day);
  if (!policy) return Status::NotFound("no policy is in force on " + FormatDate(day));
  std::map<std::string, std::map<std::string, uint32_t>> eligible, refused;
  std::map<std::string, uint32_t> totals;
  uint32_t elders = 0;
  snap.Scan<S::ElderRecord>(keys::Prefix({"el"}), [&](std::string_view, const proj::Record<S::ElderRecord>& r) {
    ++elders;
    proj::ElderFacts facts{r, {}};
    for (auto ref : r.get().getApplications()) {
      if (auto app = snap.Load<S::ApplicationRecord>(keys::Join({"ap", proj::Str(ref.getApplicationId())}))) {
        facts.applications.push_back(*app);
      }
    }
    S::PolicyPublished::Reader p = policy->get().getPolicy();
    for (auto prog : p.getProgrammes()) {
      std::string id = proj::Str(prog.getId());
      auto e = proj::Evaluate(facts, &p, id, day);
      if (e.eligible) {
        ++totals[id];
        ++eligible[id][e.condition];
      } else {
        ++refused[id][e.reasons.front().code];
      }
    }
    return true;
  });
  if (as_json) {
    ctx.out << json{{"on", FormatDate(day)}, {"at_size", snap.size()}, {"elders", elders},
                    {"eligible", totals}, {"by_condition", eligible}, {"not_eligible_by_first_reason", refused}}
                   .dump(2)
            << "\n";
    return Status::Ok();
  }
  ctx.out << "eligibility on " << FormatDate(day) << " at log size " << snap.size() << ": " << elders
          << " registered elders\n";
  for (auto prog : policy->get().getPolicy().getProgrammes()) {
    std::string id = proj::Str(prog.getId());
    ctx.out << "  " << id << ": " << totals[id] << " eligible\n";
    for (const auto& [cond, n] : eligible[id]) ctx.out << "      by " << cond << ": " << n << "\n";
    for (const auto& [why, n] : refused[id]) ctx.out << "      not eligible, first reason " << why << ": " << n << "\n";
  }
  return Status::Ok();
}

}  // namespace

void PrintStatement(std::ostream& out, const proj::Statement& st, bool lines) {
  auto r = st.get();
  out << "statement " << r.getEnterpriseId().cStr() << " " << r.getMonth().cStr() << " at log size " << r.getAtSize()
      << "\n  digest " << HexEncode(st.digest()) << "\n  deliveries " << r.getDeliveries() << ", billable "
      << r.getBillable() << "; claimed " << Yuan(r.getClaimedFen()) << ", billed " << Yuan(r.getBilledFen())
      << " yuan (city " << Yuan(r.getCityFen()) << ", district " << Yuan(r.getDistrictFen()) << ")\n";
  for (auto p : r.getProgrammes()) {
    out << "  " << p.getProgramme().cStr() << ": " << p.getDeliveries() << " billable, " << Yuan(p.getBilledFen())
        << " yuan\n";
  }
  for (auto rc : r.getRefusals()) {
    out << "  refused " << proj::RefusalName(rc.getRefusal()) << ": " << rc.getCount() << " ("
        << Yuan(rc.getClaimedFen()) << " yuan claimed)\n";
  }
  // Corrections to closed earlier months, and what is owed this month.
  for (auto a : r.getAdjustments()) {
    out << "  adjustment for " << a.getMonth().cStr() << ": accounted " << Yuan(a.getAccountedFen()) << ", now "
        << Yuan(a.getNowFen()) << " yuan (" << (a.getNowFen() >= a.getAccountedFen() ? "+" : "")
        << Yuan(a.getNowFen() - a.getAccountedFen()) << ")\n";
  }
  out << "  payable " << Yuan(r.getPayableFen()) << " yuan";
  if (r.getAdjustments().size() > 0) out << " (billed " << Yuan(r.getBilledFen()) << ", adjustments " << Yuan(r.getAdjustmentsFen()) << ")";
  out << "\n";
  if (!lines) return;
  for (auto l : r.getLines()) {
    out << "    #" << l.getIndex() << " " << FormatDate(l.getDate()) << " " << l.getDeliveryId().cStr() << " "
        << l.getElderId().cStr() << " " << l.getService().cStr() << " " << l.getMinutes() << "min "
        << Yuan(l.getBilledFen()) << "/" << Yuan(l.getClaimedFen());
    if (l.getRefusal() != S::Refusal::NONE) out << " REFUSED " << proj::RefusalName(l.getRefusal());
    if (l.getCapped()) out << " (capped)";
    if (l.getDetail().size() > 0) out << " -- " << l.getDetail().cStr();
    out << "\n";
  }
}

namespace {

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

void StatementCsv(std::ostream& out, const proj::Statement& st) {
  out << "\xEF\xBB\xBF";  // UTF-8 BOM: spreadsheets then show Chinese correctly
  out << "index,date,delivery_id,elder_id,service,programme,worker_id,minutes,claimed_yuan,billed_yuan,refusal,"
         "reasons,capped,detail\n";
  for (auto l : st.get().getLines()) {
    std::string reasons;
    for (auto r : l.getReasons()) reasons += (reasons.empty() ? "" : ";") + proj::RefusalName(r);
    out << l.getIndex() << "," << FormatDate(l.getDate()) << "," << CsvField(l.getDeliveryId().cStr()) << ","
        << CsvField(l.getElderId().cStr()) << "," << CsvField(l.getService().cStr()) << ","
        << CsvField(l.getProgramme().cStr()) << "," << CsvField(l.getWorkerId().cStr()) << "," << l.getMinutes() << ","
        << Yuan(l.getClaimedFen()) << "," << Yuan(l.getBilledFen()) << ","
        << (l.getRefusal() == S::Refusal::NONE ? "" : proj::RefusalName(l.getRefusal())) << "," << reasons << ","
        << (l.getCapped() ? "yes" : "") << "," << CsvField(l.getDetail().cStr()) << "\n";
  }
}

json SupervisionJson(const proj::Supervision& s) {
  return {{"enterprise", s.enterprise}, {"name", s.name}, {"month", s.month}, {"status", s.status},
          {"status_since", s.status_since ? json(FormatDate(s.status_since)) : json(nullptr)},
          {"contracts", s.contracts}, {"deliveries", s.deliveries}, {"billable", s.billable},
          {"claimed_fen", s.claimed_fen}, {"billed_fen", s.billed_fen}, {"refusals", s.refusals},
          {"calls", s.calls}, {"confirmed", s.confirmed}, {"denied", s.denied}, {"unreachable", s.unreachable},
          {"confirmation_permille", s.confirmation_permille}, {"satisfaction", s.satisfaction},
          {"complaints_filed", s.complaints_filed}, {"complaints_open", s.complaints_open},
          {"complaints_upheld", s.complaints_upheld}, {"spot_checks", s.spot_checks},
          {"assigned_elders", s.assigned_elders}, {"unserved_elders", s.unserved_elders}, {"month_over", s.month_over},
          {"to_reassign", s.to_reassign}};
}

// Ids on one line: all of them, or the first `most` and how many more.
std::string IdList(const std::vector<std::string>& ids, size_t most = 12) {
  std::string out;
  for (size_t i = 0; i < ids.size() && i < most; ++i) out += (i ? " " : "") + ids[i];
  if (ids.size() > most) out += " ... and " + std::to_string(ids.size() - most) + " more (--json lists all)";
  return out;
}

void PrintSupervision(std::ostream& out, const proj::Supervision& s, uint64_t size) {
  auto counts = [](const std::map<std::string, uint32_t>& m) {
    std::string t;
    for (const auto& [k, n] : m) t += (t.empty() ? "" : ", ") + k + " " + std::to_string(n);
    return t.empty() ? std::string("none") : t;
  };
  out << "supervision " << s.enterprise << " " << s.name << " " << s.month << " at log size " << size << "\n";
  out << "  status: " << s.status << (s.status_since ? " since " + FormatDate(s.status_since) : "")
      << "; contracts on " << FormatDate(s.on) << ": "
      << (s.contracts.empty() ? std::string("none") : IdList(s.contracts)) << "\n";
  out << "  deliveries " << s.deliveries << ", billable " << s.billable << "; claimed " << Yuan(s.claimed_fen)
      << ", billed " << Yuan(s.billed_fen) << " yuan\n";
  out << "  refused: " << counts(s.refusals) << "\n";
  out << "  follow-up calls " << s.calls << ": confirmed " << s.confirmed << ", denied " << s.denied << ", unreachable "
      << s.unreachable;
  if (s.confirmed + s.denied > 0) {
    out << "; confirmation " << s.confirmation_permille / 10 << "." << s.confirmation_permille % 10 << "%";
  }
  if (s.satisfaction > 0) out << "; satisfaction " << fmt::format("{:.2f}", s.satisfaction) << " of 5";
  out << "\n";
  out << "  complaints: " << s.complaints_filed << " filed (" << s.complaints_upheld << " of them upheld on closing); "
      << s.complaints_open << " open at the month's end\n";
  out << "  spot-checks: " << counts(s.spot_checks) << "\n";
  out << "  assigned elders " << s.assigned_elders << "; owed service and without a delivery this month "
      << (s.month_over ? "" : "so far (the month is not over at this log size) ") << s.unserved_elders.size()
      << (s.unserved_elders.empty() ? "" : ": " + IdList(s.unserved_elders)) << "\n";
  if (!s.to_reassign.empty()) {
    const std::string why = s.status != "active" ? s.status : "no contract covering them on " + FormatDate(s.on);
    out << "  to reassign (" << why << "): " << s.to_reassign.size() << " elders: " << IdList(s.to_reassign) << "\n";
  }
}

}  // namespace

void AddProgrammeCommands(CLI::App& app, Context& ctx) {
  struct EligArgs : AsOf {
    std::string elder, programme, on;
    bool summary = false;
  };
  auto ea = std::make_shared<EligArgs>();
  auto* elig = app.add_subcommand("eligibility", "Is an elder eligible on a date, under which condition, or why not");
  AddAsOf(elig, *ea);
  elig->add_option("--elder", ea->elder, "Elder id (omit with --summary)");
  elig->add_option("--programme,--program", ea->programme, "Programme id (default: every programme of the policy in force)");
  elig->add_option("--on", ea->on, "Business date YYYY-MM-DD (default: today in China, UTC+8)");
  elig->add_flag("--summary", ea->summary, "Counts over every registered elder, by programme and condition");
  elig->callback([&ctx, ea] {
    ctx.action = [&ctx, ea]() -> Status {
      ELDERCARE_ASSIGN_OR_RETURN(int32_t day, DayOr(ea->on));
      ELDERCARE_ASSIGN_OR_RETURN(View v, OpenView(ctx, *ea));
      if (ea->summary) return EligibilitySummary(ctx, *v.snap, day, ea->json);
      if (ea->elder.empty()) return Status::InvalidArgument("give --elder ID, or --summary");
      // (The projection answers not_registered; at the command line an id
      // nobody registered is more likely mistyped, as for `enterprise --id`.)
      if (!v.snap->Load<S::ElderRecord>(keys::Join({"el", ea->elder}))) {
        return Status::NotFound("unknown elder '" + ea->elder + "' at log size " + std::to_string(v.snap->size()));
      }
      auto policies = proj::LoadPolicies(*v.snap);
      std::vector<std::string> programmes;
      if (!ea->programme.empty()) {
        // A programme of no policy ever published is a mistyped id, not an
        // answer; one that the policy of that day lacks is answered (not
        // eligible: unknown_programme).
        std::set<std::string> known;
        for (const auto& p : policies) {
          for (auto prog : p.get().getPolicy().getProgrammes()) known.insert(proj::Str(prog.getId()));
        }
        if (!known.contains(ea->programme)) {
          std::string names;
          for (const auto& k : known) names += (names.empty() ? "" : ", ") + k;
          return Status::InvalidArgument("--program '" + ea->programme + "' is in no policy published at log size " +
                                         std::to_string(v.snap->size()) + " (programmes: " +
                                         (names.empty() ? "none" : names) + ")");
        }
        programmes.push_back(ea->programme);
      } else if (const auto* p = proj::PolicyOn(policies, day)) {
        for (auto prog : p->get().getPolicy().getProgrammes()) programmes.push_back(proj::Str(prog.getId()));
      } else {
        return Status::NotFound("no policy is in force on " + FormatDate(day));
      }
      for (const auto& prog : programmes) {
        auto e = proj::QueryEligibility(*v.snap, policies, ea->elder, prog, day);
        if (ea->json) {
          ctx.out << EligibilityJson(e, v.snap->size()).dump() << "\n";
        } else {
          PrintEligibility(ctx.out, e);
        }
      }
      return Status::Ok();
    };
  });

  struct BillArgs : AsOf {
    std::string month, enterprise;
    bool lines = false, csv = false;
  };
  auto ba = std::make_shared<BillArgs>();
  auto* bill = app.add_subcommand("billing", "An enterprise's monthly statement: billable and refused, priced, capped");
  AddAsOf(bill, *ba);
  bill->add_option("--month", ba->month, "YYYY-MM")->required();
  bill->add_option("--enterprise", ba->enterprise, "Enterprise id (default: a summary of every enterprise)");
  bill->add_flag("--lines", ba->lines, "Also list every delivery with its verdict");
  bill->add_flag("--csv", ba->csv, "The lines as CSV (UTF-8 with BOM)");
  bill->callback([&ctx, ba] {
    ctx.action = [&ctx, ba]() -> Status {
      ELDERCARE_RETURN_IF_ERROR(ParseMonth(ba->month).status());
      ELDERCARE_ASSIGN_OR_RETURN(View v, OpenView(ctx, *ba));
      std::vector<std::string> enterprises;
      if (!ba->enterprise.empty()) {
        enterprises.push_back(ba->enterprise);
      } else {
        v.snap->Scan<S::EnterpriseRecord>(keys::Prefix({"en"}), [&](std::string_view k, const proj::Record<S::EnterpriseRecord>&) {
          enterprises.emplace_back(k.substr(3));
          return true;
        });
      }
      // Whether the month is closed at this size (finance books the close,
      // not a recomputation), or not even over.
      ELDERCARE_ASSIGN_OR_RETURN(int32_t month, ParseMonth(ba->month));
      ELDERCARE_ASSIGN_OR_RETURN(int32_t log_day, LogDay(*v.ledger, v.snap->size()));
      const bool month_over = proj::MonthOver(month, log_day);
      for (const auto& e : enterprises) {
        ELDERCARE_ASSIGN_OR_RETURN(auto st, proj::ComputeStatement(*v.snap, e, ba->month));
        auto close = v.snap->Load<S::CloseRecord>(keys::Join({"bc", e, ba->month}));
        if (ba->csv) {
          StatementCsv(ctx.out, *st);
        } else if (ba->json) {
          json j = events::StructToJson(capnp::toDynamic(st->get()));
          j["digest"] = HexEncode(st->digest());
          if (!ba->lines) j.erase("lines");
          j["month_over"] = month_over;
          j["close"] = nullptr;
          if (close) {
            auto c = close->get().getClose();
            j["close"] = {{"index", close->get().getIndex()},
                          {"at_size", c.getAtSize()},
                          {"statement_digest", HexEncode(ByteSpan(c.getStatementDigest().begin(), c.getStatementDigest().size()))},
                          {"total_fen", c.getTotalFen()},
                          {"closed_on", FormatDate(c.getClosedOn())}};
          }
          ctx.out << j.dump() << "\n";
        } else {
          PrintStatement(ctx.out, *st, ba->lines);
          if (close) {
            // (Digests name the log size a statement was computed at: the
            // amounts are what compare.)
            auto c = close->get().getClose();
            const int64_t now = st->get().getPayableFen();
            ctx.out << "  closed on " << FormatDate(c.getClosedOn()) << " (index " << close->get().getIndex()
                    << "), computed at log size " << c.getAtSize() << ": payable " << Yuan(c.getTotalFen()) << " yuan";
            if (now == c.getTotalFen()) {
              ctx.out << ", as above\n";
            } else {
              ctx.out << "; recomputed at this size " << Yuan(now) << " yuan (" << (now > c.getTotalFen() ? "+" : "")
                      << Yuan(now - c.getTotalFen()) << "): finance books the close, and a later statement carries "
                      << "the difference as an adjustment\n";
            }
          } else {
            ctx.out << "  not closed at this log size"
                    << (month_over ? "" : "; the month is not over (latest entry recorded on " + FormatDate(log_day) + ")")
                    << "\n";
          }
        }
      }
      return Status::Ok();
    };
  });

  struct SupArgs : AsOf {
    std::string month, enterprise;
  };
  auto sa = std::make_shared<SupArgs>();
  auto* sup = app.add_subcommand("supervision", "An enterprise's record for a month: deliveries, refusals, calls, complaints, spot-checks");
  AddAsOf(sup, *sa);
  sup->add_option("--month", sa->month, "YYYY-MM")->required();
  sup->add_option("--enterprise", sa->enterprise, "Enterprise id")->required();
  sup->callback([&ctx, sa] {
    ctx.action = [&ctx, sa]() -> Status {
      ELDERCARE_ASSIGN_OR_RETURN(View v, OpenView(ctx, *sa));
      ELDERCARE_ASSIGN_OR_RETURN(int32_t log_day, LogDay(*v.ledger, v.snap->size()));
      ELDERCARE_ASSIGN_OR_RETURN(proj::Supervision s,
                                 proj::ComputeSupervision(*v.snap, sa->enterprise, sa->month, log_day));
      if (sa->json) {
        json j = SupervisionJson(s);
        j["at_size"] = v.snap->size();
        ctx.out << j.dump(2) << "\n";
      } else {
        PrintSupervision(ctx.out, s, v.snap->size());
      }
      return Status::Ok();
    };
  });

  // An enterprise's whole record: its status now, and the supervision
  // figures of every month it delivered in (or of one --month).
  struct EntArgs : AsOf {
    std::string id, month;
  };
  auto na = std::make_shared<EntArgs>();
  auto* ent = app.add_subcommand("enterprise", "An enterprise's supervision record: status, contracts and every month's deliveries, refusals, calls, complaints, spot-checks");
  AddAsOf(ent, *na);
  ent->add_option("--id", na->id, "Enterprise id")->required();
  ent->add_option("--month", na->month, "Only this month, YYYY-MM");
  ent->callback([&ctx, na] {
    ctx.action = [&ctx, na]() -> Status {
      ELDERCARE_ASSIGN_OR_RETURN(View v, OpenView(ctx, *na));
      auto record = v.snap->Load<S::EnterpriseRecord>(keys::Join({"en", na->id}));
      if (!record) {
        return Status::NotFound("unknown enterprise '" + na->id + "' at log size " + std::to_string(v.snap->size()));
      }
      std::set<std::string> months;
      if (!na->month.empty()) {
        ELDERCARE_RETURN_IF_ERROR(ParseMonth(na->month).status());
        months.insert(na->month);
      } else {
        // The months it delivered in ("de" keys are enterprise, month,
        // elder), those closed for it ("bc": enterprise, month), and those
        // its status changed in, so that the status shown last is its latest
        // (an enterprise that exited after its last delivery has exited).
        for (const char* kind : {"de", "bc"}) {
          std::string prefix = keys::Prefix({kind, na->id});
          for (const std::string& k : v.snap->Keys(prefix)) months.insert(k.substr(prefix.size(), 7));
        }
        for (auto change : record->get().getStatus()) {
          months.insert(FormatMonth(MonthOfDate(change.getEffectiveFrom())));
        }
      }
      ELDERCARE_ASSIGN_OR_RETURN(int32_t log_day, LogDay(*v.ledger, v.snap->size()));
      // Months are independent reads of one snapshot: on every core.
      const std::vector<std::string> month_list(months.begin(), months.end());
      ELDERCARE_ASSIGN_OR_RETURN(std::vector<proj::Supervision> rows,
                                 proj::MapEach<proj::Supervision>(InParallel, month_list.size(), [&](size_t i) {
                                   return proj::ComputeSupervision(*v.snap, na->id, month_list[i], log_day);
                                 }));
      if (na->json) {
        json out = {{"enterprise", na->id}, {"at_size", v.snap->size()}, {"months", json::array()}};
        for (const auto& r : rows) out["months"].push_back(SupervisionJson(r));
        ctx.out << out.dump(2) << "\n";
        return Status::Ok();
      }
      ctx.out << "enterprise " << na->id << " at log size " << v.snap->size() << "\n";
      if (rows.empty()) {
        ctx.out << "no deliveries recorded\n";
        return Status::Ok();
      }
      const auto& last = rows.back();
      ctx.out << "name: " << last.name << "\nstatus at the end of " << last.month << ": " << last.status
              << (last.status_since ? " since " + FormatDate(last.status_since) : "") << "\ncontracts on "
              << FormatDate(last.on) << ": " << (last.contracts.empty() ? std::string("none") : IdList(last.contracts))
              << "\n\n";
      std::vector<std::vector<std::string>> table = {{"month", "deliveries", "billable", "billed (yuan)", "refused",
                                                      "calls", "confirmed", "denied", "satisfaction", "complaints",
                                                      "upheld", "spot-checks", "unserved"}};
      for (const auto& r : rows) {
        uint32_t refused = 0, checks = 0;
        for (const auto& [k, n] : r.refusals) refused += n;
        for (const auto& [k, n] : r.spot_checks) checks += n;
        char sat[16];
        std::snprintf(sat, sizeof sat, "%.2f", r.satisfaction);
        table.push_back({r.month, std::to_string(r.deliveries), std::to_string(r.billable), Yuan(r.billed_fen),
                         std::to_string(refused), std::to_string(r.calls), std::to_string(r.confirmed),
                         std::to_string(r.denied), sat, std::to_string(r.complaints_filed),
                         std::to_string(r.complaints_upheld), std::to_string(checks),
                         std::to_string(r.unserved_elders.size())});
      }
      std::vector<size_t> width(table[0].size(), 0);
      for (const auto& row : table) {
        for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], DisplayWidth(row[i]));
      }
      for (const auto& row : table) {
        for (size_t i = 0; i < row.size(); ++i) ctx.out << (i ? "  " : "") << PadDisplay(row[i], width[i]);
        ctx.out << "\n";
      }
      std::map<std::string, uint32_t> refusals, checks;
      for (const auto& r : rows) {
        for (const auto& [k, n] : r.refusals) refusals[k] += n;
        for (const auto& [k, n] : r.spot_checks) checks[k] += n;
      }
      ctx.out << "\nrefusals by reason:";
      for (const auto& [k, n] : refusals) ctx.out << " " << k << "=" << n;
      ctx.out << "\nspot-check outcomes:";
      for (const auto& [k, n] : checks) ctx.out << " " << k << "=" << n;
      ctx.out << "\n";
      return Status::Ok();
    };
  });

  auto* projection = app.add_subcommand("projection", "The projection state: its digest, or a rebuild from the log");
  projection->require_subcommand(1);
  // `projection digest` and `projection rebuild`, also as the top-level
  // `digest` and `rebuild` that scripts call.
  auto da = std::make_shared<AsOf>();
  auto digest_action = [&ctx, da] {
    ctx.action = [&ctx, da]() -> Status {
      ELDERCARE_ASSIGN_OR_RETURN(View v, OpenView(ctx, *da));
      auto d = proj::ComputeDigest(*v.snap);
      if (da->json) {
        ctx.out << json{{"at_size", v.snap->size()}, {"records", d.records}, {"digest", HexEncode(d.digest)}}.dump() << "\n";
      } else {
        // The digest alone on the last line, for scripts.
        ctx.out << "projection digest at log size " << v.snap->size() << " (" << d.records << " records):\n"
                << HexEncode(d.digest) << "\n";
      }
      return Status::Ok();
    };
  };
  for (CLI::App* parent : {projection, &app}) {
    auto* digest = parent->add_subcommand("digest", "One hash of the whole projection state at a log size (last line)");
    AddAsOf(digest, *da);
    digest->callback(digest_action);
  }
  auto rb = std::make_shared<std::string>();
  auto rebuild_action = [&ctx, rb] {
    ctx.action = [&ctx, rb]() -> Status {
      // Opened as it is: stale projections are folded once, here, not also
      // by the open.
      LedgerOptions o;
      o.projector = ctx.projector;
      o.rebuild_stale_projections = false;
      o.progress = TerminalProgress(ctx);
      ELDERCARE_ASSIGN_OR_RETURN(auto ledger, Ledger::Open(*rb, o));
      std::string stale = ledger->StaleProjections();
      std::optional<Hash> before;
      if (stale.empty()) {
        ELDERCARE_ASSIGN_OR_RETURN(auto view, ledger->Projections());
        before = proj::ComputeDigest(proj::Snapshot(*view.state, view.size, view.size)).digest;
      }
      ELDERCARE_RETURN_IF_ERROR(ledger->RebuildProjections());
      ELDERCARE_ASSIGN_OR_RETURN(auto view, ledger->Projections());
      Hash after = proj::ComputeDigest(proj::Snapshot(*view.state, view.size, view.size)).digest;
      ctx.out << "rebuilt " << view.size << " entries; digest " << HexEncode(after);
      if (!before) {
        ctx.out << " (the projections were out of date: " << stale << ")\n";
      } else {
        ctx.out << (*before == after ? " (unchanged)" : " (CHANGED from " + HexEncode(*before) + ")") << "\n";
      }
      return Status::Ok();
    };
  };
  for (CLI::App* parent : {projection, &app}) {
    auto* rebuild = parent->add_subcommand("rebuild", "Drop the projection state and fold the whole log again");
    rebuild->add_option("--ledger", *rb, "Ledger directory")->required();
    rebuild->callback(rebuild_action);
  }
}

}  // namespace eldercare::cli
