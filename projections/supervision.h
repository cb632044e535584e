// Supervision state of one enterprise: what an inspector looks at.
//   contract and status on a date; for a month: deliveries billed and refused
//   by reason (from the statement), follow-up calls and their confirmation
//   rate and satisfaction, complaints, spot-check outcomes, and the assigned
//   elders who received no service.
#ifndef ELDERCARE_PROJECTIONS_SUPERVISION_H_
#define ELDERCARE_PROJECTIONS_SUPERVISION_H_

#include <map>
#include <string>
#include <vector>

#include "ledger/status.h"
#include "projections/snapshot.h"
#include "schema/projection.capnp.h"

namespace eldercare::proj {

struct Supervision {
  std::string enterprise;
  std::string name;
  std::string month;
  int32_t on = 0;                         // last day of the month: the date contract/status are read at
  std::string status = "active";          // active, suspended, exited
  int32_t status_since = 0;
  std::vector<std::string> contracts;     // active on `on`
  uint32_t deliveries = 0, billable = 0;
  int64_t claimed_fen = 0, billed_fen = 0;
  std::map<std::string, uint32_t> refusals;  // by reason code
  uint32_t calls = 0, confirmed = 0, denied = 0, unreachable = 0;
  uint32_t confirmation_permille = 0;     // confirmed / (confirmed + denied)
  double satisfaction = 0;                // mean of answered ratings
  uint32_t complaints_filed = 0, complaints_open = 0, complaints_upheld = 0;
  std::map<std::string, uint32_t> spot_checks;  // by outcome
  uint32_t assigned_elders = 0;
  // Assigned, owed service some day of the month (the enterprise neither
  // suspended nor exited, a contract covering the elder in force), and no
  // delivery this month.
  std::vector<std::string> unserved_elders;
  // Whether the log had passed the month's last day at this size.
  bool month_over = true;
  // Assigned, and on the month's last day the enterprise may not serve them
  // (suspended, exited, or no contract covering them): another enterprise must.
  std::vector<std::string> to_reassign;
};

// A policy threshold an enterprise crossed: grounds for suspension or exit
// (退出机制), with the events that show it.
struct Recommendation {
  std::string enterprise;
  std::string threshold;  // spot_check_failures, follow_up_denials, complaints, unserved_assigned_elders
  uint64_t value = 0;     // per mille, or a count
  uint64_t limit = 0;
  std::string detail;
  std::vector<uint64_t> evidence;
};

// Every enterprise (still in the programme) over any supervision threshold
// of the policy in force, for `month` (spot-checks over it and the two
// months before, at least 10 results; denials over at least 5 answered calls).
// Whether `month` (months since 1970-01) is over for a log whose latest
// entry was recorded on `log_day` (China time): recorded after its last day.
bool MonthOver(int32_t month, int32_t log_day);

// `log_day`: the day (China time) the latest entry at the snapshot's size
// was recorded. Until the log has passed the month's last day the month is
// not over, and an assigned elder not served yet is no failure:
// unserved_assigned_elders is judged only once it is.
Result<std::vector<Recommendation>> ExitRecommendations(const Snapshot& snap, const std::string& month,
                                                        int32_t log_day);

// `log_day` as above: with the month not over, unserved_elders are those
// not served so far (month_over is false).
Result<Supervision> ComputeSupervision(const Snapshot& snap, const std::string& enterprise, const std::string& month,
                                       int32_t log_day);

}  // namespace eldercare::proj

#endif  // ELDERCARE_PROJECTIONS_SUPERVISION_H_
