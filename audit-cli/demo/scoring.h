// How well the detectors find what the generator injected: precision and
// recall per pattern, in the unit each pattern is reported in (a delivery,
// an elder, an elder-month, an enterprise-month).
#ifndef ELDERCARE_AUDIT_CLI_DEMO_SCORING_H_
#define ELDERCARE_AUDIT_CLI_DEMO_SCORING_H_

#include <string>
#include <vector>

#include "audit-cli/demo/district.h"
#include "projections/anomalies.h"

namespace eldercare::demo {

struct PatternScore {
  std::string pattern;
  size_t injected = 0;   // truth units
  size_t found = 0;      // truth units some finding covers
  size_t reported = 0;   // finding units
  size_t correct = 0;    // finding units that are injected
  double recall() const { return injected ? static_cast<double>(found) / injected : 1.0; }
  double precision() const { return reported ? static_cast<double>(correct) / reported : 1.0; }
};

std::vector<PatternScore> Score(const std::vector<TruthCase>& truth, const std::vector<proj::Finding>& findings);

// Reads DIR/ground-truth.jsonl as written by GenerateDistrict.
Result<std::vector<TruthCase>> ReadTruth(const std::string& path);

}  // namespace eldercare::demo

#endif  // ELDERCARE_AUDIT_CLI_DEMO_SCORING_H_
