@0xbdb3854ff49c54da;
# The programme's events: policy, enterprises and contracts, elders and their
# circumstances, assessments, applications and the three reviews, services,
# supervision and money. Each struct is one member of EventBody's union
# (schema/ledger.capnp), which names the roles allowed to sign it.
#
# Conventions: dates are $date (days since 1970-01-01, JSON "YYYY-MM-DD"),
# instants are $timestamp (microseconds, JSON RFC 3339), money is Int64 fen
# (0.01 yuan) in fields ending in "Fen", rates are UInt32 per mille.
# Locations are coarse on purpose: Int32 micro-degrees rounded by the writer
# to 0.001 degree (about 100 m), enough for travel-time and distance checks.

using Cxx = import "/capnp/c++.capnp";
using Json = import "/capnp/compat/json.capnp";
using Common = import "common.capnp";
$Cxx.namespace("eldercare::schema");

# --- Vocabulary ----------------------------------------------------------------

enum Circumstance {
  # Facts about an elder that eligibility depends on, each with effective dates.
  extremePoverty @0;             # 特困 (scattered support)
  dibao @1;                      # 低保 household
  nearDibao @2;                  # 低保边缘 household
  livesAlone @3;                 # 独居
  emptyNest @4;                  # 空巢
  leftBehind @5;                 # 留守
  lostOnlyChild @6;              # 失独
  familyPlanningSpecial @7;      # 计生特扶
  modelWorker @8;                # city-level-or-higher model worker
  disabledOnDuty @9;             # 因公致残
  braveDeed @10;                 # 见义勇为伤残
  institutionNursingSubsidy @11; # lives in an institution drawing a nursing subsidy
  familyCareBedSubsidy @12;      # family care-bed (家庭护理型床位) subsidy
  ltcInsurance @13;              # covered by long-term-care insurance
  deceased @14;
  movedAway @15;                 # no longer lives in the district
  lowIncome @16;                 # low-income (Dawukou high-age allowance)
}

enum AbilityLevel {
  # GB/T 42195-2022 levels, from the total score (0-90).
  intact @0;     # 能力完好 90
  mild @1;       # 轻度失能 66-89
  moderate @2;   # 中度失能 46-65
  severe @3;     # 重度失能 30-45
  complete @4;   # 完全失能 0-29
}

enum CareLevel {
  # The seeds' subsidy levels (Tianjin 轻/中/重度); the policy maps AbilityLevel onto them.
  none @0;
  light @1;
  moderate @2;
  severe @3;
}

enum Change {
  begins @0;
  ends @1;
}

enum Decision {
  pass @0;
  reject @1;
}

enum Sex {
  unknown @0;
  female @1;
  male @2;
}

enum Filer {
  family @0;
  enterprise @1;
  community @2;
}

enum Unit {
  perVisit @0;
  perHour @1;
  perMeal @2;
}

enum EndReason {
  deceased @0;
  movedAway @1;
  institutionalised @2;
  ltcInsurance @3;
  noLongerEligible @4;
  withdrawn @5;
  other @6;
}

enum CallOutcome {
  confirmed @0;
  denied @1;
  unreachable @2;
}

enum YesNo {
  unknown @0;
  yes @1;
  no @2;
}

enum SpotCheckOutcome {
  verified @0;
  notDelivered @1;
  partlyDelivered @2;
  qualityProblem @3;
}

enum ComplaintOutcome {
  upheld @0;
  rejected @1;
  resolved @2;
}

enum FundSource {
  city @0;
  district @1;
}

# --- Policy ----------------------------------------------------------------------

struct Condition {
  # One way in: every stated part must hold on the day.
  id @0 :Text $Common.required $Common.maxLength(64);
  label @1 :Text $Common.maxLength(400);
  minAge @2 :UInt8;
  anyCircumstance @3 :List(Circumstance);   # at least one of them, when non-empty
  minAbility @4 :AbilityLevel;              # assessed at least this disabled (intact = no requirement)
  dementiaSatisfiesAbility @5 :Bool;        # a dementia diagnosis meets minAbility
  monthlyAmountFen @6 :Int64;               # the standard this condition grants (0 = programme's)
}

struct Exclusion {
  # A way out: when every stated part holds, the elder is not eligible.
  id @0 :Text $Common.required $Common.maxLength(64);
  label @1 :Text $Common.maxLength(400);
  anyCircumstance @2 :List(Circumstance) $Common.required;
  minAbility @3 :AbilityLevel;
}

struct AmountRule {
  # Monthly entitlement: the highest amount among the rules that hold.
  minAge @0 :UInt8;
  maxAge @1 :UInt8;          # 0 = no upper bound
  careLevel @2 :CareLevel;   # none = any
  amountFen @3 :Int64;
}

struct ProgrammeRule {
  id @0 :Text $Common.required $Common.maxLength(64);   # "home_visit", "meal_aid", ...
  name @1 :Text $Common.maxLength(200);
  minAge @2 :UInt8;
  requiresAbilityAtLeast @3 :AbilityLevel;   # intact = no disability required
  requiresAssessment @4 :Bool;               # 先评估后服务
  requiresApproval @5 :Bool;                 # the three-level review must approve
  conditions @6 :List(Condition);            # at least one must hold (empty = none needed)
  exclusions @7 :List(Exclusion);
  amounts @8 :List(AmountRule);
  monthlyCapPerElderFen @9 :Int64;           # billing cap per elder per month when no amount applies
  monthlyBudgetFen @10 :Int64;               # whole programme, per month (0 = not set)
  cashAllowance @11 :Bool;                   # paid to the elder, not billed by enterprises
}

struct CareLevelMap {
  ability @0 :AbilityLevel;
  care @1 :CareLevel;
}

struct ServiceRule {
  code @0 :Text $Common.required $Common.maxLength(64);  # "bathing"
  name @1 :Text $Common.maxLength(200);                  # "助浴"
  programme @2 :Text $Common.required $Common.maxLength(64);
  unit @3 :Unit;
  unitPriceFen @4 :Int64;
  minMinutes @5 :UInt32;
  example @6 :Bool;                                      # an illustrative price, not from a seed
}

struct SupervisionThresholds {
  spotCheckFailurePermille @0 :UInt32;     # exit recommendation above this
  followUpDenialPermille @1 :UInt32;
  complaintsPerMonth @2 :UInt32;
  unservedAssignedElders @3 :UInt32;       # assigned elders left a month without service
  maxCheckinDistanceM @4 :UInt32;          # farther from home counts as off-location
  maxTravelKmh @5 :UInt32;                 # faster between consecutive visits is impossible
  lateToleranceMinutes @6 :UInt32;
}

struct FundingSplit {
  cityPermille @0 :UInt32;
  districtPermille @1 :UInt32;
}

struct PolicyPublished {
  version @0 :Text $Common.required $Common.maxLength(64);
  effectiveFrom @1 :Int32 $Common.date $Common.required;
  title @2 :Text $Common.maxLength(400);
  district @3 :Text $Common.required $Common.maxLength(64);   # household (户籍) district
  programmes @4 :List(ProgrammeRule) $Common.required;
  careLevels @5 :List(CareLevelMap);
  services @6 :List(ServiceRule);
  supervision @7 :SupervisionThresholds;
  funding @8 :FundingSplit;
  sources @9 :List(Text);                  # which seed each number comes from
}

# --- Enterprises and contracts ---------------------------------------------------

struct EnterpriseRegistered {
  enterpriseId @0 :Text $Common.required $Common.maxLength(128);  # its actor id
  name @1 :Text $Common.required $Common.maxLength(200);
  creditCode @2 :Text $Common.maxLength(32);                      # 统一社会信用代码
  registeredOn @3 :Int32 $Common.date $Common.required;
}

struct ContractSigned {
  contractId @0 :Text $Common.required $Common.maxLength(128);
  enterpriseId @1 :Text $Common.required $Common.maxLength(128);
  communities @2 :List(Text) $Common.required;
  programmes @3 :List(Text) $Common.required;
  validFrom @4 :Int32 $Common.date $Common.required;
  validUntil @5 :Int32 $Common.date $Common.required;
  confidentialityAgreement @6 :Data $Common.required $Common.size(32) $Common.hex $Json.hex;
  # SHA-256 of the signed 保密协议 (seed 002: required before elders' data is shared)
  signedOn @7 :Int32 $Common.date $Common.required;
}

struct ContractEnded {
  contractId @0 :Text $Common.required $Common.maxLength(128);
  endedOn @1 :Int32 $Common.date $Common.required;
  reason @2 :Text $Common.maxLength(1000);
}

# --- Elders ----------------------------------------------------------------------

struct SealedPersonal {
  # Personal data (name, ID number, phone, address, notes) as AES-256-GCM
  # ciphertext under the elder's data key, which never enters the log.
  keyId @0 :Data $Json.hex;
  nonce @1 :Data $Json.hex;
  ciphertext @2 :Data;
}

struct ElderRegistered {
  elderId @0 :Text $Common.required $Common.maxLength(128);   # pseudonymous
  householdDistrict @1 :Text $Common.required $Common.maxLength(64);
  subdistrict @2 :Text $Common.maxLength(128);
  community @3 :Text $Common.required $Common.maxLength(128);
  birthDate @4 :Int32 $Common.date $Common.required;
  sex @5 :Sex;
  homeLatMicro @6 :Int32;      # coarse home location, see the header
  homeLonMicro @7 :Int32;
  registeredOn @8 :Int32 $Common.date $Common.required;
  personal @9 :SealedPersonal;
  idNumberHmac @10 :Data $Common.size(32) $Json.hex $Common.hex;  # keyed hash, for duplicate detection
}

struct CircumstanceRecorded {
  elderId @0 :Text $Common.required $Common.maxLength(128);
  circumstance @1 :Circumstance $Common.required;
  change @2 :Change;
  effectiveOn @3 :Int32 $Common.date $Common.required;
  certificate @4 :Data $Common.size(32) $Json.hex $Common.hex;   # hash of the supporting document
  note @5 :Text $Common.maxLength(1000);
}

struct AssessmentRecorded {
  elderId @0 :Text $Common.required $Common.maxLength(128);
  assessmentId @1 :Text $Common.required $Common.maxLength(128);
  assessedOn @2 :Int32 $Common.date $Common.required;
  validUntil @3 :Int32 $Common.date $Common.required;
  selfCare @4 :UInt8;          # 0-32
  mobility @5 :UInt8;          # 0-15
  mental @6 :UInt8;            # 0-28
  perception @7 :UInt8;        # 0-15
  coma @8 :Bool;
  dementia @9 :Bool;           # diagnosed dementia or another psychiatric disorder
  riskEvents30d @10 :UInt8;    # falls, choking, wandering... in the last 30 days
  level @11 :AbilityLevel $Common.required;   # must equal GB/T 42195's level for the scores
}

struct ElderDataErased {
  # The receipt of crypto-shredding: the elder's data key was destroyed.
  elderId @0 :Text $Common.required $Common.maxLength(128);
  keyId @1 :Data $Json.hex $Common.hex;      # which data key
  erasedOn @2 :Int32 $Common.date $Common.required;
  reason @3 :Text $Common.maxLength(1000);   # "request of the elder (PIPL art. 47)", ...
}

struct PersonalDataRevealed {
  # Who decrypted an elder's personal data, when and why: written before the
  # plaintext is shown, so that no reveal goes unrecorded.
  elderId @0 :Text $Common.required $Common.maxLength(128);
  purpose @1 :Text $Common.required $Common.maxLength(400);
  revealedOn @2 :Int32 $Common.date $Common.required;
  fields @3 :List(Text);                     # which fields were shown
}

# --- Applications and the three reviews -----------------------------------------

struct ApplicationSubmitted {
  applicationId @0 :Text $Common.required $Common.maxLength(128);
  elderId @1 :Text $Common.required $Common.maxLength(128);
  programme @2 :Text $Common.required $Common.maxLength(64);
  claimed @3 :List(Circumstance);
  filedBy @4 :Filer;
  filedOn @5 :Int32 $Common.date $Common.required;
  consent @6 :Data $Common.size(32) $Json.hex $Common.hex;   # hash of the signed application form
}

struct Review {
  # community_review and subdistrict_review.
  applicationId @0 :Text $Common.required $Common.maxLength(128);
  decision @1 :Decision $Common.required;
  reviewedOn @2 :Int32 $Common.date $Common.required;
  reason @3 :Text $Common.maxLength(1000);
}

struct ApplicationDecided {
  applicationId @0 :Text $Common.required $Common.maxLength(128);
  decision @1 :Decision $Common.required;     # pass = approved
  effectiveFrom @2 :Int32 $Common.date;       # required when approved
  decidedOn @3 :Int32 $Common.date $Common.required;
  reason @4 :Text $Common.maxLength(1000);
}

struct EntitlementEnded {
  elderId @0 :Text $Common.required $Common.maxLength(128);
  programme @1 :Text $Common.required $Common.maxLength(64);
  endedOn @2 :Int32 $Common.date $Common.required;
  reason @3 :EndReason $Common.required;
}

# --- Services --------------------------------------------------------------------

struct ServiceAssigned {
  assignmentId @0 :Text $Common.required $Common.maxLength(128);
  elderId @1 :Text $Common.required $Common.maxLength(128);
  enterpriseId @2 :Text $Common.required $Common.maxLength(128);
  programme @3 :Text $Common.required $Common.maxLength(64);
  validFrom @4 :Int32 $Common.date $Common.required;
  validUntil @5 :Int32 $Common.date;           # 0 = open
}

struct ServiceDelivered {
  deliveryId @0 :Text $Common.required $Common.maxLength(128);   # unique per enterprise
  elderId @1 :Text $Common.required $Common.maxLength(128);
  enterpriseId @2 :Text $Common.required $Common.maxLength(128); # must be the signer
  workerId @3 :Text $Common.required $Common.maxLength(128);     # pseudonymous staff id
  service @4 :Text $Common.required $Common.maxLength(64);       # catalogue code
  programme @5 :Text $Common.required $Common.maxLength(64);
  plannedStart @6 :Int64 $Common.timestamp;
  plannedEnd @7 :Int64 $Common.timestamp;
  checkIn @8 :Int64 $Common.timestamp $Common.required;
  checkOut @9 :Int64 $Common.timestamp $Common.required;
  checkInLatMicro @10 :Int32;
  checkInLonMicro @11 :Int32;
  checkOutLatMicro @12 :Int32;
  checkOutLonMicro @13 :Int32;
  checkInDistanceM @14 :UInt32;     # platform-reported distance from the home
  checkOutDistanceM @15 :UInt32;
  evidence @16 :Data $Common.required $Common.size(32) $Json.hex $Common.hex;  # hash of photo/signature record
  units @17 :UInt32;                # visits, meals or hours claimed (0 counts as 1)
}

struct DeliveryVoided {
  deliveryId @0 :Text $Common.required $Common.maxLength(128);
  enterpriseId @1 :Text $Common.required $Common.maxLength(128);
  reason @2 :Text $Common.maxLength(1000);
  voidedOn @3 :Int32 $Common.date $Common.required;
}

# --- Supervision -----------------------------------------------------------------

struct FollowUpCall {
  callId @0 :Text $Common.required $Common.maxLength(128);
  elderId @1 :Text $Common.required $Common.maxLength(128);
  enterpriseId @2 :Text $Common.required $Common.maxLength(128);
  calledAt @3 :Int64 $Common.timestamp $Common.required;
  month @4 :Text $Common.required $Common.maxLength(7);   # "2024-03": the month asked about
  outcome @5 :CallOutcome $Common.required;
  satisfaction @6 :UInt8;          # 1-5, 0 = not asked
  reportedVisits @7 :UInt16;       # the elder's own account
  reportedMinutes @8 :UInt16;      # typical length of a visit
  sameWorker @9 :YesNo;
  deliveries @10 :List(Text);      # delivery ids asked about; a denial refuses them
  note @11 :Text $Common.maxLength(1000);
}

struct ComplaintFiled {
  complaintId @0 :Text $Common.required $Common.maxLength(128);
  enterpriseId @1 :Text $Common.required $Common.maxLength(128);
  elderId @2 :Text $Common.maxLength(128);
  filedOn @3 :Int32 $Common.date $Common.required;
  category @4 :Text $Common.maxLength(64);   # "no_show", "late", "quality", "conduct", ...
  summary @5 :Text $Common.maxLength(1000);
}

struct ComplaintClosed {
  complaintId @0 :Text $Common.required $Common.maxLength(128);
  closedOn @1 :Int32 $Common.date $Common.required;
  outcome @2 :ComplaintOutcome $Common.required;
  note @3 :Text $Common.maxLength(1000);
}

struct SpotCheckPlanned {
  planId @0 :Text $Common.required $Common.maxLength(128);
  enterprises @1 :List(Text) $Common.required;
  month @2 :Text $Common.required $Common.maxLength(7);
  sampleSize @3 :UInt32;              # deliveries to draw, or
  samplePermille @4 :UInt32;          # a share of the month's deliveries
  checkpointSize @5 :UInt64 $Common.required;   # the signed checkpoint the sample derives from
  checkpointRoot @6 :Data $Common.required $Common.size(32) $Json.hex $Common.hex;
  plannedOn @7 :Int32 $Common.date $Common.required;
}

struct SpotCheckResult {
  planId @0 :Text $Common.required $Common.maxLength(128);
  enterpriseId @1 :Text $Common.required $Common.maxLength(128);
  deliveryId @2 :Text $Common.required $Common.maxLength(128);
  outcome @3 :SpotCheckOutcome $Common.required;
  checkedOn @4 :Int32 $Common.date $Common.required;
  note @5 :Text $Common.maxLength(1000);
}

struct EnterpriseStatusChanged {
  # enterprise_suspended, enterprise_reinstated, enterprise_exited.
  enterpriseId @0 :Text $Common.required $Common.maxLength(128);
  effectiveFrom @1 :Int32 $Common.date $Common.required;
  reason @2 :Text $Common.maxLength(1000);
  evidence @3 :List(UInt64);       # log indexes of the events behind the decision
}

struct EvaluationFiled {
  reportId @0 :Text $Common.required $Common.maxLength(128);
  subject @1 :Text $Common.maxLength(200);       # enterprise, programme or district
  period @2 :Text $Common.maxLength(64);
  findings @3 :Data $Common.size(32) $Json.hex $Common.hex;   # hash of the full report
  summary @4 :Text $Common.maxLength(2000);
}

# --- Money -----------------------------------------------------------------------

struct BillingPeriodClosed {
  enterpriseId @0 :Text $Common.required $Common.maxLength(128);
  month @1 :Text $Common.required $Common.maxLength(7);
  atSize @2 :UInt64 $Common.required;     # log size the statement was computed at
  statementDigest @3 :Data $Common.required $Common.size(32) $Json.hex $Common.hex;
  totalFen @4 :Int64;
  closedOn @5 :Int32 $Common.date $Common.required;
}

struct FundsAllocated {
  allocationId @0 :Text $Common.required $Common.maxLength(128);
  month @1 :Text $Common.required $Common.maxLength(7);
  enterpriseId @2 :Text $Common.required $Common.maxLength(128);
  source @3 :FundSource $Common.required;
  amountFen @4 :Int64 $Common.required;
  allocatedOn @5 :Int32 $Common.date $Common.required;
}

struct DisbursementPaid {
  paymentId @0 :Text $Common.required $Common.maxLength(128);
  month @1 :Text $Common.required $Common.maxLength(7);
  enterpriseId @2 :Text $Common.required $Common.maxLength(128);
  amountFen @3 :Int64 $Common.required;
  paidOn @4 :Int32 $Common.date $Common.required;
  reference @5 :Text $Common.maxLength(128);   # bank transfer reference
}

struct RecoveryReceived {
  # Money an enterprise paid back to the programme for a month: what a
  # backdated decision took back (a closed statement below zero), or what a
  # disbursement paid beyond the month's statement.
  recoveryId @0 :Text $Common.required $Common.maxLength(128);
  month @1 :Text $Common.required $Common.maxLength(7);
  enterpriseId @2 :Text $Common.required $Common.maxLength(128);
  amountFen @3 :Int64 $Common.required;          # positive: what came back
  receivedOn @4 :Int32 $Common.date $Common.required;
  reference @5 :Text $Common.maxLength(128);     # bank transfer reference
}
