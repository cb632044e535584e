// Monthly statements: every delivery billable or refused with a reason code,
// priced by the catalogue in force on its date, capped per elder per month.
//
// A delivery is billable only if, on its date (DOMAIN.md "Services and
// billing"), all of these hold; otherwise it is refused with every failing
// reason, the first being `refusal`:
//   voided                  the enterprise voided it
//   denied_by_spot_check    a spot-check found it not (or only partly) delivered
//   denied_by_follow_up     the elder denied it on a follow-up call
//   duplicate               an earlier claim for the same elder and service
//                           overlaps it in time, or carries the same evidence
//   elder_deceased          the elder had died
//   ineligible              the elder was not eligible for the programme
//   enterprise_exited / enterprise_suspended
//   no_contract             no contract of the enterprise covers the elder's
//                           community for this programme
//   outside_contract_period one does, but not on this date
//   unknown_service         the service is not in the catalogue in force
//   below_min_duration      shorter than the service's minimum
//   units_exceed_duration   more hours claimed than checked in
//   worker_overlap          the same worker was in another home at the time
//   over_monthly_cap        the elder's monthly entitlement is used up
// The cap counts billable deliveries by every enterprise, in check-in order.
// The statement is a pure function of the snapshot: its digest is the
// SHA-256 of its canonical bytes, reproducible by anyone at the same size.
#ifndef ELDERCARE_PROJECTIONS_BILLING_H_
#define ELDERCARE_PROJECTIONS_BILLING_H_

#include <capnp/message.h>

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "ledger/crypto.h"
#include "ledger/status.h"
#include "projections/snapshot.h"
#include "schema/projection.capnp.h"

namespace eldercare::proj {

class Statement {
 public:
  // `first_segment_words`: room for the whole statement, so that it is
  // built in one allocation (see Bill).
  explicit Statement(unsigned first_segment_words) : msg_(first_segment_words) {}
  schema::Statement::Reader get() const { return root_.asReader(); }
  // The statement's canonical bytes (valid while it is).
  std::string_view canonical() const {
    return std::string_view(reinterpret_cast<const char*>(canonical_.begin()), canonical_words_ * sizeof(capnp::word));
  }
  const Hash& digest() const { return digest_; }

 private:
  friend Result<std::unique_ptr<Statement>> ComputeStatement(const Snapshot&, const std::string&, const std::string&);
  friend Result<std::unique_ptr<Statement>> ComputeBilled(const Snapshot&, const std::string&, const std::string&);
  // The month's own billing, not yet sealed; Seal() fixes the canonical
  // bytes and the digest once the statement is complete.
  static Result<std::unique_ptr<Statement>> Bill(const Snapshot& snap, const std::string& enterprise,
                                                 const std::string& month);
  void Seal();
  capnp::MallocMessageBuilder msg_;
  schema::Statement::Builder root_ = msg_.initRoot<schema::Statement>();
  kj::Array<capnp::word> canonical_;  // the first canonical_words_ of it
  size_t canonical_words_ = 0;
  Hash digest_{};
};

// NotFound for an unknown enterprise; InvalidArgument for a bad month.
// Includes the adjustments: for every closed earlier month of the
// enterprise whose billing changed since it was last accounted for, the
// difference (never an edit of the closed month); payable = billed + them.
Result<std::unique_ptr<Statement>> ComputeStatement(const Snapshot& snap, const std::string& enterprise,
                                                    const std::string& month);
// The closed months before `month` whose billing a statement of
// `enterprise` recomputes for its adjustments: those that something recorded
// since the latest close could have changed (billing.cc says what counts).
std::set<std::string> MonthsToRecheck(const Snapshot& snap, const std::string& enterprise, const std::string& month);
// The month's own billing only, without adjustments.
Result<std::unique_ptr<Statement>> ComputeBilled(const Snapshot& snap, const std::string& enterprise,
                                                 const std::string& month);

std::string RefusalName(schema::Refusal r);

// none, no_contract (no contract of the enterprise covers the community for
// the programme) or outside_contract_period (one does, not on `day`).
schema::Refusal ContractOn(schema::EnterpriseRecord::Reader enterprise, std::string_view community,
                           std::string_view programme, int32_t day);

// The enterprise's last status change effective by `day` (none: never
// suspended), and its kind.
std::optional<schema::StatusFact::Reader> StatusChangeOn(schema::EnterpriseRecord::Reader enterprise, int32_t day);
std::optional<schema::StatusKind> StatusOn(schema::EnterpriseRecord::Reader enterprise, int32_t day);

// Whether the contract is in force on `day`: within its period, not ended.
bool ContractInForce(schema::ContractFact::Reader contract, int32_t day);

// Whether the enterprise may serve (and bill) the programme in the community
// on `day`: neither suspended nor exited, and a contract covering them in force.
bool MayServe(schema::EnterpriseRecord::Reader enterprise, std::string_view community, std::string_view programme,
              int32_t day);

}  // namespace eldercare::proj

#endif  // ELDERCARE_PROJECTIONS_BILLING_H_
