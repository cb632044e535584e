// A realistic, deterministic synthetic district, generated and ingested the
// way the real actors would write it: the bureau publishes the policy and
// signs contracts, communities register elders (personal data sealed) and
// certify circumstances, assessors assess, applications pass the three
// reviews, enterprises upload each day's deliveries as one signed
// submission, inspectors call elders and spot-check, the bureau closes each
// month, finance allocates and pays. Known fraud patterns are injected at a
// given rate, and their ground truth written next to the ledger.
//
// Sized on Dawukou (DOMAIN.md "Scale"): by default 42,900 elders aged 60+ with
// its age pyramid, ~9% disabled, over half empty-nest; 9 enterprises; 34
// communities. The ledger's clock follows business time, so recording times
// read naturally; with the same seed the same events come out (ciphertexts
// and so roots differ: data keys and nonces are random).
#ifndef ELDERCARE_AUDIT_CLI_DEMO_DISTRICT_H_
#define ELDERCARE_AUDIT_CLI_DEMO_DISTRICT_H_

#include <functional>
#include <string>
#include <vector>

#include "ledger/ledger.h"
#include "ledger/status.h"

namespace eldercare::demo {

struct DistrictOptions {
  uint32_t elders = 42900;      // registered elders aged 60+
  uint32_t months = 12;
  std::string start = "2024-01";
  uint64_t seed = 20240101;
  double fraud_rate = 0.01;     // chance an enterprise-day (or a case) carries a fraud pattern
  std::string out_dir;          // keys/, master.key and ground-truth.jsonl are written here
  std::function<void(const std::string&)> progress;  // progress lines; may be empty
};

// One injected case: what a detector should find.
struct TruthCase {
  std::string pattern;  // after_death, double_benefit, worker_overlap, impossible_travel, short_visit,
                        // off_location, late_visit, evidence_reuse, outside_contract,
                        // unassigned_elder, spending_mismatch, follow_up_contradiction
  std::string enterprise;
  std::string month;
  std::string elder;
  std::vector<std::string> deliveries;
};

// What the exit mechanism did to an enterprise: the day its suspension
// takes effect (backdated to the first visit its spot-checks found not
// delivered), the day the bureau decided it, and the day it exited (0 if it
// had not by the end); and what it paid back for statements below zero, as
// finance recorded it (recovery_received): the amount, the day, and the log
// index of the last record (0 fen: nothing was due, or not yet paid back).
struct ExitRecord {
  int32_t suspended_from = 0, suspension_decided = 0, exited_from = 0;
  int64_t recovered_fen = 0;
  int32_t recovered_on = 0;
  uint64_t recovery_index = 0;
};

struct DistrictReport {
  uint64_t events = 0;
  uint64_t submissions = 0;
  uint64_t elders = 0;
  uint64_t deliveries = 0;
  std::vector<std::string> enterprises;
  std::vector<std::string> months;
  std::vector<TruthCase> truth;
  // The enterprise the exit mechanism caught, if any, and what happened to it.
  std::string suspended_enterprise;
  ExitRecord exit;
};

// Creates the ledger in `ledger_dir` (must not exist) and fills it.
Result<DistrictReport> GenerateDistrict(const std::string& ledger_dir, const Projector* projector,
                                        const DistrictOptions& options);

// The patterns GenerateDistrict can inject, in a fixed order.
const std::vector<std::string>& FraudPatterns();

}  // namespace eldercare::demo

#endif  // ELDERCARE_AUDIT_CLI_DEMO_DISTRICT_H_
