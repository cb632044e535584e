// Reconciliation: for each enterprise and month, the statement (the closed
// one, or today's if the month is open) against what the city and the
// district allocated, what was paid (据实拨付) and what was paid back.
#ifndef ELDERCARE_PROJECTIONS_FINANCE_H_
#define ELDERCARE_PROJECTIONS_FINANCE_H_

#include <string>
#include <vector>

#include "ledger/status.h"
#include "projections/snapshot.h"

namespace eldercare::proj {

struct Reconciliation {
  std::string enterprise;
  std::string name;
  std::string month;
  bool closed = false;
  uint64_t close_index = 0;
  std::string statement_digest;  // hex: the frozen digest, or today's
  int64_t statement_fen = 0;     // payable: billed + adjustments
  int64_t city_fen = 0, district_fen = 0, paid_fen = 0;
  int64_t recovered_fen = 0;     // what the enterprise paid back (recovery_received)
  // paid - recovered - statement: above zero the enterprise holds money the
  // programme must get back, below zero the programme owes it.
  int64_t difference_fen = 0;
  // Closed months: close_does_not_reproduce (the statement replayed to the
  // close's log size has another digest or payable amount than the close
  // recorded); unpaid_closed_statement; overpaid (paid, and the
  // difference above zero); underpaid (paid, nothing recovered, the
  // difference below zero); recovery_due (the statement is below zero,
  // adjustments took back more than the month billed, and the difference is
  // not yet recovered); over_recovered (more recovered than was due).
  // Open months: paid_without_closed_statement,
  // recovery_without_closed_statement. Any month: allocation_not_1_to_1,
  // allocation_differs_from_statement, paid_beyond_allocation (paid, net of
  // what was paid back, more than the city and the district allocated).
  std::vector<std::string> flags;
  std::vector<uint64_t> evidence;  // close, allocations, payments, recoveries
};

// One row per enterprise with anything to reconcile in `month`, in
// enterprise order, computed through `each` (default: one after another).
Result<std::vector<Reconciliation>> Reconcile(const Snapshot& snap, const std::string& month,
                                              const ForEachIndex& each = {});

}  // namespace eldercare::proj

#endif  // ELDERCARE_PROJECTIONS_FINANCE_H_
