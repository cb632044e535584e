@0x934879d8674790b8;
# Projection records: the state folded from the log (projections/fold.cc),
# stored in the "projections" column family under the keys of
# projections/keys.h, as canonical Cap'n Proto.
#
# As-of rule: every record and every fact inside one carries `index`, the log
# index of the event that made it. The state as of log size N is obtained by
# dropping records and facts whose index is >= N (index 0 means "absent":
# entry 0 is always genesis). Nothing is ever overwritten without keeping the
# index of the change, so any past size can be answered from today's state.

using Cxx = import "/capnp/c++.capnp";
using Common = import "common.capnp";
using P = import "programme.capnp";
$Cxx.namespace("eldercare::schema");

struct CircumstanceFact {
  index @0 :UInt64;
  circumstance @1 :P.Circumstance;
  change @2 :P.Change;
  effectiveOn @3 :Int32;
}

struct AssessmentFact {
  index @0 :UInt64;
  assessmentId @1 :Text;
  assessedOn @2 :Int32;
  validUntil @3 :Int32;
  level @4 :P.AbilityLevel;
  dementia @5 :Bool;
  total @6 :UInt8;
}

struct ApplicationRef {
  index @0 :UInt64;
  applicationId @1 :Text;
  programme @2 :Text;
}

struct EntitlementEndFact {
  index @0 :UInt64;
  programme @1 :Text;
  endedOn @2 :Int32;
  reason @3 :P.EndReason;
}

struct AssignmentFact {
  index @0 :UInt64;
  assignmentId @1 :Text;
  enterpriseId @2 :Text;
  programme @3 :Text;
  validFrom @4 :Int32;
  validUntil @5 :Int32;
}

struct ErasureFact {
  index @0 :UInt64;
  erasedOn @1 :Int32;
}

struct RevealRecord {
  # key "rv\0" elderId "\0" BE64(index)
  index @0 :UInt64;
  writer @1 :Text;
  reveal @2 :P.PersonalDataRevealed;
}

struct ElderRecord {
  # key "el\0" elderId
  index @0 :UInt64;
  profile @1 :P.ElderRegistered;
  circumstances @2 :List(CircumstanceFact);
  assessments @3 :List(AssessmentFact);
  applications @4 :List(ApplicationRef);
  entitlementEnds @5 :List(EntitlementEndFact);
  assignments @6 :List(AssignmentFact);
  erased @7 :ErasureFact;
}

struct StageFact {
  index @0 :UInt64;       # 0 = not yet
  decision @1 :P.Decision;
  on @2 :Int32;
  effectiveFrom @3 :Int32;
  writer @4 :Text;
}

struct ApplicationRecord {
  # key "ap\0" applicationId
  index @0 :UInt64;
  elderId @1 :Text;
  programme @2 :Text;
  filedBy @3 :P.Filer;
  filedOn @4 :Int32;
  writer @5 :Text;
  claimed @6 :List(P.Circumstance);
  communityReview @7 :StageFact;
  subdistrictReview @8 :StageFact;
  decision @9 :StageFact;
  applicationId @10 :Text;
}

enum StatusKind {
  suspended @0;
  reinstated @1;
  exited @2;
}

struct StatusFact {
  index @0 :UInt64;
  kind @1 :StatusKind;
  effectiveFrom @2 :Int32;
  reason @3 :Text;
  evidence @4 :List(UInt64);
}

struct ContractEndFact {
  index @0 :UInt64;
  endedOn @1 :Int32;
}

struct ContractFact {
  index @0 :UInt64;
  contractId @1 :Text;
  communities @2 :List(Text);
  programmes @3 :List(Text);
  validFrom @4 :Int32;
  validUntil @5 :Int32;
  ended @6 :ContractEndFact;
}

struct EnterpriseRecord {
  # key "en\0" enterpriseId
  index @0 :UInt64;
  name @1 :Text;
  creditCode @2 :Text;
  registeredOn @3 :Int32;
  contracts @4 :List(ContractFact);
  status @5 :List(StatusFact);
}

struct VoidFact {
  index @0 :UInt64;
  voidedOn @1 :Int32;
  reason @2 :Text;
}

struct CheckFact {
  # A follow-up call or spot-check that spoke about this delivery.
  index @0 :UInt64;
  ref @1 :Text;                # callId or planId
  followUp @2 :P.CallOutcome;
  spotCheck @3 :P.SpotCheckOutcome;
  isSpotCheck @4 :Bool;
}

struct DeliveryRecord {
  # key "dl\0" elderId "\0" month "\0" BE64(checkIn) "\0" enterpriseId "\0" deliveryId
  index @0 :UInt64;
  recordedAt @1 :Int64;
  claim @2 :P.ServiceDelivered;
  voided @3 :VoidFact;
  checks @4 :List(CheckFact);
  reusesEvidence @5 :Bool;   # a delivery earlier in the log carried the same evidence hash
}

struct PolicyRecord {
  # key "po\0" BE32(effectiveFrom + 2^31) "\0" BE64(index)
  index @0 :UInt64;
  policy @1 :P.PolicyPublished;
}

struct CallRecord {
  # key "fc\0" enterpriseId "\0" month "\0" callId
  index @0 :UInt64;
  call @1 :P.FollowUpCall;
}

struct ComplaintClosedFact {
  index @0 :UInt64;
  closedOn @1 :Int32;
  outcome @2 :P.ComplaintOutcome;
}

struct ComplaintRecord {
  # key "co\0" enterpriseId "\0" complaintId
  index @0 :UInt64;
  complaint @1 :P.ComplaintFiled;
  closed @2 :ComplaintClosedFact;
}

struct PlanRecord {
  # key "sp\0" planId
  index @0 :UInt64;
  plan @1 :P.SpotCheckPlanned;
}

struct SpotResultRecord {
  # key "sr\0" enterpriseId "\0" month "\0" planId "\0" deliveryId
  index @0 :UInt64;
  result @1 :P.SpotCheckResult;
}

struct CloseRecord {
  # key "bc\0" enterpriseId "\0" month
  index @0 :UInt64;
  close @1 :P.BillingPeriodClosed;
}

struct AllocationRecord {
  # key "fa\0" month "\0" enterpriseId "\0" allocationId
  index @0 :UInt64;
  allocation @1 :P.FundsAllocated;
}

struct PaymentRecord {
  # key "fp\0" month "\0" enterpriseId "\0" paymentId
  index @0 :UInt64;
  payment @1 :P.DisbursementPaid;
}

struct RecoveryRecord {
  # key "fr\0" month "\0" enterpriseId "\0" recoveryId
  index @0 :UInt64;
  recovery @1 :P.RecoveryReceived;
}

struct EvaluationRecord {
  # key "er\0" reportId
  index @0 :UInt64;
  writer @1 :Text;
  evaluation @2 :P.EvaluationFiled;
}

# --- Statements ------------------------------------------------------------------

enum Refusal {
  # Why a delivery is not billable. Stable codes: finance and inspectors filter on them.
  none @0;
  voided @1;
  deniedBySpotCheck @2;
  deniedByFollowUp @3;
  duplicate @4;
  elderDeceased @5;
  ineligible @6;
  enterpriseExited @7;
  enterpriseSuspended @8;
  noContract @9;
  outsideContractPeriod @10;
  unknownService @11;
  belowMinDuration @12;
  unitsExceedDuration @13;
  workerOverlap @14;
  overMonthlyCap @15;
}

struct StatementLine {
  deliveryId @0 :Text;
  index @1 :UInt64;
  elderId @2 :Text;
  date @3 :Int32;
  service @4 :Text;
  programme @5 :Text;
  workerId @6 :Text;
  minutes @7 :UInt32;
  claimedFen @8 :Int64;
  billedFen @9 :Int64;
  refusal @10 :Refusal;              # the first reason
  reasons @11 :List(Refusal);        # every reason
  detail @12 :Text;                  # e.g. which eligibility conditions failed
  capped @13 :Bool;                  # billed less than claimed because of the monthly cap
}

struct RefusalCount {
  refusal @0 :Refusal;
  count @1 :UInt32;
  claimedFen @2 :Int64;
}

struct ProgrammeTotal {
  programme @0 :Text;
  deliveries @1 :UInt32;
  billedFen @2 :Int64;
}

struct Adjustment {
  # A closed earlier month whose billing changed since it was last accounted
  # for (a death recorded late, a spot-check after the close...): the
  # difference is carried here, never edited into the closed month.
  month @0 :Text;
  accountedFen @1 :Int64;   # as billed when last accounted for (its close, or a later statement's adjustment)
  nowFen @2 :Int64;         # as it bills at this statement's size
}

struct Statement {
  enterpriseId @0 :Text;
  month @1 :Text;
  atSize @2 :UInt64;
  policyVersions @3 :List(Text);
  deliveries @4 :UInt32;
  billable @5 :UInt32;
  claimedFen @6 :Int64;
  billedFen @7 :Int64;
  cityFen @8 :Int64;
  districtFen @9 :Int64;
  refusals @10 :List(RefusalCount);
  programmes @11 :List(ProgrammeTotal);
  lines @12 :List(StatementLine);
  adjustmentsFen @13 :Int64;         # sum of the adjustments below
  adjustments @14 :List(Adjustment);
  payableFen @15 :Int64;             # billed + adjustments: what finance pays for this statement
}
