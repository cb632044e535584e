#include "audit-cli/demo/scoring.h"

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

namespace eldercare::demo {
namespace {

enum class Unit { kDelivery, kElder, kElderMonth, kEnterpriseMonth };

Unit UnitOf(const std::string& pattern) {
  if (pattern == "double_benefit") return Unit::kElder;
  if (pattern == "follow_up_contradiction") return Unit::kElderMonth;
  if (pattern == "spending_mismatch") return Unit::kEnterpriseMonth;
  return Unit::kDelivery;
}

}  // namespace

std::vector<PatternScore> Score(const std::vector<TruthCase>& truth, const std::vector<proj::Finding>& findings) {
  std::vector<PatternScore> out;
  for (const std::string& pattern : FraudPatterns()) {
    PatternScore s{pattern};
    Unit unit = UnitOf(pattern);
    std::set<std::string> truth_units, reported_units;
    std::map<std::string, std::set<std::string>> finding_deliveries;  // finding unit -> its deliveries
    for (const TruthCase& t : truth) {
      if (t.pattern != pattern) continue;
      switch (unit) {
        case Unit::kDelivery:
          for (const auto& d : t.deliveries) truth_units.insert(t.enterprise + "/" + d);
          break;
        case Unit::kElder: truth_units.insert(t.elder); break;
        case Unit::kElderMonth: truth_units.insert(t.elder + "/" + t.month); break;
        case Unit::kEnterpriseMonth: truth_units.insert(t.enterprise + "/" + t.month); break;
      }
    }
    std::set<std::string> covered;
    for (const proj::Finding& f : findings) {
      if (f.code != pattern) continue;
      if (unit == Unit::kDelivery) {
        // A finding is one unit; it is correct if it involves an injected delivery.
        std::string id = f.enterprise + "/" + f.month + "/" + (f.deliveries.empty() ? "" : f.deliveries.back()) +
                         "/" + std::to_string(f.evidence.empty() ? 0 : f.evidence.front());
        bool hit = false;
        for (const auto& d : f.deliveries) {
          if (truth_units.count(f.enterprise + "/" + d)) {
            covered.insert(f.enterprise + "/" + d);
            hit = true;
          }
        }
        ++s.reported;
        s.correct += hit;
        (void)id;
        continue;
      }
      std::string u = unit == Unit::kElder ? f.elder : unit == Unit::kElderMonth ? f.elder + "/" + f.month
                                                                                  : f.enterprise + "/" + f.month;
      reported_units.insert(u);
      if (truth_units.count(u)) covered.insert(u);
    }
    if (unit != Unit::kDelivery) {
      s.reported = reported_units.size();
      for (const auto& u : reported_units) s.correct += truth_units.count(u);
    }
    s.injected = truth_units.size();
    s.found = covered.size();
    out.push_back(s);
  }
  return out;
}

Result<std::vector<TruthCase>> ReadTruth(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("no ground truth at " + path);
  std::vector<TruthCase> out;
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) return Status::InvalidArgument("malformed ground truth line");
    TruthCase t{j.value("pattern", ""), j.value("enterprise", ""), j.value("month", ""), j.value("elder", ""), {}};
    for (const auto& d : j["deliveries"]) t.deliveries.push_back(d.get<std::string>());
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace eldercare::demo
