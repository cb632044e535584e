// Fraud detectors and the follow-up cross-check (DOMAIN.md "What auditors
// look for"). Each finding has a stable reason code and its evidence: the log
// indexes of the events behind it, so that an inspector can prove every one
// with an inclusion proof.
//
//   after_death              a delivery on or after the elder's recorded death
//   double_benefit           one person approved twice for the same programme
//   worker_overlap           one worker in two homes at once
//   impossible_travel        a worker's consecutive visits too far apart for the
//                            time between them (policy: max_travel_kmh)
//   short_visit              shorter than the service's minimum length
//   off_location             checked in or out farther from the home than the
//                            policy's max_checkin_distance_m
//   late_visit               checked in later than the planned start by more
//                            than the policy's late_tolerance_minutes
//   unassigned_elder         a delivery to an elder the enterprise was not
//                            assigned that day, for any programme (headcounts
//                            inflated because pay grows with them)
//   evidence_reuse           the same evidence hash as an earlier delivery
//   outside_contract         no contract of the enterprise covers the elder's
//                            community for the programme on that day
//   spending_mismatch        paid or allocated money that does not match the
//                            closed statement (or the 1:1 split)
//   follow_up_contradiction  the elder's own account on a follow-up call says at
//                            least two fewer visits than recorded
//
// All as of a snapshot: deterministic, reproducible at any log size.
#ifndef ELDERCARE_PROJECTIONS_ANOMALIES_H_
#define ELDERCARE_PROJECTIONS_ANOMALIES_H_

#include <string>
#include <vector>

#include "ledger/status.h"
#include "projections/snapshot.h"

namespace eldercare::proj {

struct Finding {
  std::string code;
  std::string enterprise;
  std::string month;
  std::string elder;
  std::vector<std::string> deliveries;  // delivery ids involved
  std::vector<uint64_t> evidence;       // log indexes of the events behind it
  std::string detail;                   // both sides, for people
};

// Findings for the deliveries checked in during `month` (and that month's
// calls and money), optionally for one enterprise only.
Result<std::vector<Finding>> DetectAnomalies(const Snapshot& snap, const std::string& month,
                                             const std::string& enterprise = {});

const std::vector<std::string>& FindingCodes();

}  // namespace eldercare::proj

#endif  // ELDERCARE_PROJECTIONS_ANOMALIES_H_
