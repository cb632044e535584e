// Eligibility: is elder X eligible for programme P on day D, which condition
// applied, and if not, every check that failed.
//
// Evaluated against the policy in force on D (the last published policy with
// effective_from <= D) and the elder's facts as of a log size. Checks, in
// order, each adding a reason when it fails:
//   no_policy, unknown_programme, not_registered, not_household, moved_away,
//   deceased, under_age, no_assessment, not_disabled, no_condition (with
//   each condition's failing parts), excluded, not_approved, entitlement_ended.
// Several conditions met: the highest standard applies, once (就高, 不得重复享受).
#ifndef ELDERCARE_PROJECTIONS_ELIGIBILITY_H_
#define ELDERCARE_PROJECTIONS_ELIGIBILITY_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/status.h"
#include "projections/snapshot.h"
#include "schema/projection.capnp.h"

namespace eldercare::proj {

struct Reason {
  std::string code;    // stable: "under_age", "no_condition", ...
  std::string detail;  // for people: "age 63 is below 65"
};

struct Eligibility {
  bool eligible = false;
  std::string elder_id;
  std::string programme;
  int32_t day = 0;
  std::string policy_version;
  int age = 0;
  std::string condition;        // the condition applied (highest standard)
  std::string condition_label;
  std::vector<std::string> conditions_met;
  std::vector<Reason> reasons;  // every failed check; empty when eligible
  bool assessed = false;
  schema::AbilityLevel ability = schema::AbilityLevel::INTACT;
  bool dementia = false;
  schema::CareLevel care_level = schema::CareLevel::NONE;
  int64_t monthly_entitlement_fen = 0;  // 0 unless eligible
  std::string assessment_id;
  std::string application_id;
};

// All policies as of the snapshot, by (effective_from, index).
std::vector<Record<schema::PolicyRecord>> LoadPolicies(const Snapshot& snap);
// The policy in force on `day`, or null.
const Record<schema::PolicyRecord>* PolicyOn(const std::vector<Record<schema::PolicyRecord>>& policies, int32_t day);
std::optional<schema::ProgrammeRule::Reader> FindProgramme(schema::PolicyPublished::Reader policy,
                                                           const std::string& id);

// An elder with the facts eligibility needs, as of a snapshot.
struct ElderFacts {
  Record<schema::ElderRecord> elder;
  std::vector<Record<schema::ApplicationRecord>> applications;
};
std::optional<ElderFacts> LoadElder(const Snapshot& snap, const std::string& elder_id);

// Whether circumstance `c` holds on `day` (the last change effective on or
// before it decides; same-day changes in log order).
bool HasCircumstance(schema::ElderRecord::Reader elder, schema::Circumstance c, int32_t day);
std::string CircumstanceName(schema::Circumstance c);

// Whether the elder is assigned to enterprise `ent` in [first, last]: among
// the assignments in force at some time in it (begun by `last`, not ended
// before `first`), the latest begun of each programme (of two begun the same
// day, the later recorded) is to `ent` for some programme. A reassignment
// replaces the assignment before it; once a later one has ended, the one
// before it is in force again. Supervision (assigned elders left unserved)
// and the unassigned_elder detector both ask this.
bool AssignedTo(schema::ElderRecord::Reader elder, std::string_view ent, int32_t first, int32_t last);

// The pure evaluation. `policy` may be null (no policy in force).
Eligibility Evaluate(const ElderFacts& facts, const schema::PolicyPublished::Reader* policy,
                     const std::string& programme, int32_t day);

// The days in (from, to) on which Evaluate's answer for the elder under one
// policy may differ from the day before's: birthdays, and the days the
// elder's facts take or lose effect (circumstances, assessments, decisions,
// ends of entitlement), ascending. Between two of them every answer is the
// same but for `day` and the date some reasons' details name: the monthly
// statement evaluates an elder once per run of such days, not once per day.
// Evaluate reads nothing else that depends on the day; a new input must be
// added here too (EligibilityChanges test).
std::vector<int32_t> EligibilityChanges(const ElderFacts& facts, int32_t from, int32_t to);

// Convenience: load, pick the policy, evaluate. An unknown elder is an
// answer (not_registered), not an error.
Eligibility QueryEligibility(const Snapshot& snap, const std::vector<Record<schema::PolicyRecord>>& policies,
                             const std::string& elder_id, const std::string& programme, int32_t day);

}  // namespace eldercare::proj

#endif  // ELDERCARE_PROJECTIONS_ELIGIBILITY_H_
