// anomalies (and their score against a demo's ground truth).
#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include "audit-cli/context.h"
#include "audit-cli/demo/scoring.h"
#include "ledger/time_util.h"
#include "projections/anomalies.h"
#include "projections/keys.h"

namespace eldercare::cli {
namespace {

namespace S = schema;
using nlohmann::json;

std::string Csv(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

// The months the log has deliveries or closes for, from its projections.
std::vector<std::string> MonthsWithActivity(const proj::Snapshot& snap) {
  std::set<std::string> months;
  snap.state().Scan(keys::Prefix({"de"}), [&](std::string_view k, std::string_view) {
    size_t a = k.find('\0', 3);
    if (a != std::string_view::npos) months.insert(std::string(k.substr(a + 1, 7)));
    return true;
  });
  return {months.begin(), months.end()};
}

struct AnomalyArgs {
  std::string ledger, month, enterprise, truth;
  int64_t at_size = -1;
  bool json = false, csv = false, all = false;
};

Status Anomalies(Context& ctx, const AnomalyArgs& a) {
  if (a.month.empty() == !a.all) return Status::InvalidArgument("give --month YYYY-MM or --all");
  ELDERCARE_ASSIGN_OR_RETURN(auto ledger, OpenLedger(ctx, a.ledger, false));
  ELDERCARE_ASSIGN_OR_RETURN(auto view, ledger->Projections());
  uint64_t size = a.at_size < 0 ? view.size : static_cast<uint64_t>(a.at_size);
  proj::Snapshot snap(*view.state, view.size, size);
  std::vector<std::string> months = a.all ? MonthsWithActivity(snap) : std::vector<std::string>{a.month};
  std::vector<proj::Finding> findings;
  for (const auto& m : months) {
    ELDERCARE_ASSIGN_OR_RETURN(auto found, proj::DetectAnomalies(snap, m, a.enterprise));
    findings.insert(findings.end(), found.begin(), found.end());
  }
  if (!a.truth.empty()) {
    ELDERCARE_ASSIGN_OR_RETURN(auto truth, demo::ReadTruth(a.truth));
    auto scores = demo::Score(truth, findings);
    json j = json::array();
    if (!a.json) ctx.out << "pattern                   injected  found  recall  reported  correct  precision\n";
    for (const auto& s : scores) {
      if (a.json) {
        j.push_back({{"pattern", s.pattern}, {"injected", s.injected}, {"found", s.found}, {"recall", s.recall()},
                     {"reported", s.reported}, {"correct", s.correct}, {"precision", s.precision()}});
        continue;
      }
      char line[160];
      std::snprintf(line, sizeof line, "%-24s %9zu %6zu %7.3f %9zu %8zu %10.3f\n", s.pattern.c_str(), s.injected, s.found,
                    s.recall(), s.reported, s.correct, s.precision());
      ctx.out << line;
    }
    if (a.json) ctx.out << j.dump(2) << "\n";
    return Status::Ok();
  }
  if (a.csv) {
    ctx.out << "\xEF\xBB\xBF" << "code,enterprise,month,elder,deliveries,evidence_indexes,detail\n";
    for (const auto& f : findings) {
      std::string dels, ev;
      for (const auto& d : f.deliveries) dels += (dels.empty() ? "" : ";") + d;
      for (auto i : f.evidence) ev += (ev.empty() ? "" : ";") + std::to_string(i);
      ctx.out << f.code << "," << Csv(f.enterprise) << "," << f.month << "," << Csv(f.elder) << "," << Csv(dels) << ","
              << ev << "," << Csv(f.detail) << "\n";
    }
    return Status::Ok();
  }
  if (a.json) {
    for (const auto& f : findings) {
      ctx.out << json{{"code", f.code}, {"enterprise", f.enterprise}, {"month", f.month}, {"elder", f.elder},
                      {"deliveries", f.deliveries}, {"evidence", f.evidence}, {"detail", f.detail}}.dump()
              << "\n";
    }
    return Status::Ok();
  }
  std::map<std::string, size_t> counts;
  for (const auto& f : findings) ++counts[f.code];
  ctx.out << findings.size() << " findings at log size " << snap.size() << ":";
  for (const auto& [c, n] : counts) ctx.out << " " << c << "=" << n;
  ctx.out << "\n";
  for (const auto& f : findings) {
    ctx.out << "  " << f.code << "  " << f.enterprise << "  " << f.month << "  " << f.elder << "  " << f.detail
            << "  [indexes";
    for (auto i : f.evidence) ctx.out << " " << i;
    ctx.out << "]\n";
  }
  return Status::Ok();
}

}  // namespace

void AddSuperviseCommands(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<AnomalyArgs>();
  auto* an = app.add_subcommand("anomalies", "Fraud detectors and the follow-up cross-check, with their evidence indexes");
  an->add_option("--ledger", a->ledger, "Ledger directory (opened read-only)")->required();
  an->add_option("--month", a->month, "YYYY-MM");
  an->add_flag("--all", a->all, "Every month with deliveries");
  an->add_option("--enterprise", a->enterprise, "Only this enterprise");
  an->add_option("--at-size", a->at_size, "As of this log size");
  an->add_flag("--json", a->json, "JSON lines");
  an->add_flag("--csv", a->csv, "CSV (UTF-8 with BOM)");
  an->add_option("--score", a->truth, "Compare with a demo's ground-truth.jsonl: precision and recall per pattern");
  an->callback([&ctx, a] { ctx.action = [&ctx, a]() { return Anomalies(ctx, *a); }; });
}

}  // namespace eldercare::cli
