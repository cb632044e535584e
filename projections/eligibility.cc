#include "projections/eligibility.h"

#include <algorithm>

#include "ledger/event_schema.h"
#include "ledger/time_util.h"
#include "projections/gbt42195.h"
#include "projections/keys.h"

namespace eldercare::proj {
namespace {

namespace S = schema;

// The assessment valid on `day`: the latest assessed on or before it whose
// validity has not run out.
std::optional<S::AssessmentFact::Reader> AssessmentOn(S::ElderRecord::Reader elder, int32_t day) {
  std::optional<S::AssessmentFact::Reader> best;
  for (auto a : elder.getAssessments()) {
    if (a.getAssessedOn() > day || a.getValidUntil() < day) continue;
    if (!best || a.getAssessedOn() >= best->getAssessedOn()) best = a;
  }
  return best;
}

std::string Names(capnp::List<S::Circumstance>::Reader list) {
  std::string out;
  for (auto c : list) out += (out.empty() ? "" : ", ") + CircumstanceName(c);
  return out;
}

bool AbilityAtLeast(const Eligibility& e, S::AbilityLevel min, bool dementia_counts) {
  if (min == S::AbilityLevel::INTACT) return true;
  if (!e.assessed) return false;
  if (static_cast<int>(e.ability) >= static_cast<int>(min)) return true;
  return dementia_counts && e.dementia;
}

S::CareLevel CareLevelOf(S::PolicyPublished::Reader policy, S::AbilityLevel ability) {
  for (auto m : policy.getCareLevels()) {
    if (m.getAbility() == ability) return m.getCare();
  }
  return S::CareLevel::NONE;
}

// Each failing part of a condition, or empty when it holds.
std::vector<std::string> ConditionFailures(S::ElderRecord::Reader elder, const Eligibility& e, S::Condition::Reader c,
                                           int32_t day) {
  std::vector<std::string> out;
  if (e.age < c.getMinAge()) out.push_back("age " + std::to_string(e.age) + " < " + std::to_string(c.getMinAge()));
  if (c.getAnyCircumstance().size() > 0) {
    bool any = false;
    for (auto circ : c.getAnyCircumstance()) any |= HasCircumstance(elder, circ, day);
    if (!any) out.push_back("none of: " + Names(c.getAnyCircumstance()));
  }
  if (!AbilityAtLeast(e, c.getMinAbility(), c.getDementiaSatisfiesAbility())) {
    out.push_back(std::string("not assessed at least ") + LevelName(c.getMinAbility()) +
                  (c.getDementiaSatisfiesAbility() ? " or with dementia" : ""));
  }
  return out;
}

bool ConditionHolds(S::ElderRecord::Reader elder, const Eligibility& e, S::Condition::Reader c, int32_t day) {
  if (e.age < c.getMinAge()) return false;
  if (c.getAnyCircumstance().size() > 0) {
    bool any = false;
    for (auto circ : c.getAnyCircumstance()) any = any || HasCircumstance(elder, circ, day);
    if (!any) return false;
  }
  return AbilityAtLeast(e, c.getMinAbility(), c.getDementiaSatisfiesAbility());
}

std::string Join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

}  // namespace

std::string CircumstanceName(S::Circumstance c) {
  auto e = capnp::Schema::from<S::Circumstance>().getEnumerants();
  auto i = static_cast<uint16_t>(c);
  return i < e.size() ? events::SnakeCase(e[i].getProto().getName().cStr()) : "unknown";
}

bool AssignedTo(S::ElderRecord::Reader elder, std::string_view ent, int32_t first, int32_t last) {
  auto as = elder.getAssignments();
  auto in_force = [&](S::AssignmentFact::Reader a) {
    return a.getValidFrom() <= last && (a.getValidUntil() == 0 || a.getValidUntil() >= first);
  };
  for (uint32_t i = 0; i < as.size(); ++i) {
    auto a = as[i];
    if (!in_force(a) || View(a.getEnterpriseId()) != ent) continue;
    bool replaced = false;
    for (uint32_t j = 0; j < as.size() && !replaced; ++j) {
      auto b = as[j];
      replaced = j != i && in_force(b) && View(b.getProgramme()) == View(a.getProgramme()) &&
                 (b.getValidFrom() > a.getValidFrom() || (b.getValidFrom() == a.getValidFrom() && j > i));
    }
    if (!replaced) return true;
  }
  return false;
}

bool HasCircumstance(S::ElderRecord::Reader elder, S::Circumstance c, int32_t day) {
  // Facts are stored in log order; the latest effective change wins, ties in
  // log order.
  bool holds = false;
  int32_t best_day = INT32_MIN;
  for (auto f : elder.getCircumstances()) {
    if (f.getCircumstance() != c || f.getEffectiveOn() > day) continue;
    if (f.getEffectiveOn() >= best_day) {
      best_day = f.getEffectiveOn();
      holds = f.getChange() == S::Change::BEGINS;
    }
  }
  return holds;
}

std::vector<Record<S::PolicyRecord>> LoadPolicies(const Snapshot& snap) {
  std::vector<Record<S::PolicyRecord>> out;
  snap.Scan<S::PolicyRecord>(keys::Prefix({"po"}), [&](std::string_view, const Record<S::PolicyRecord>& r) {
    out.push_back(r);
    return true;
  });
  return out;
}

const Record<S::PolicyRecord>* PolicyOn(const std::vector<Record<S::PolicyRecord>>& policies, int32_t day) {
  const Record<S::PolicyRecord>* best = nullptr;
  for (const auto& p : policies) {
    if (p.get().getPolicy().getEffectiveFrom() <= day) best = &p;  // keys sort by (date, index)
  }
  return best;
}

std::optional<S::ProgrammeRule::Reader> FindProgramme(S::PolicyPublished::Reader policy, const std::string& id) {
  for (auto p : policy.getProgrammes()) {
    if (Str(p.getId()) == id) return p;
  }
  return std::nullopt;
}

std::optional<ElderFacts> LoadElder(const Snapshot& snap, const std::string& elder_id) {
  auto elder = snap.Load<S::ElderRecord>(keys::Join({"el", elder_id}));
  if (!elder) return std::nullopt;
  ElderFacts f{*elder, {}};
  for (auto ref : elder->get().getApplications()) {
    if (auto app = snap.Load<S::ApplicationRecord>(keys::Join({"ap", Str(ref.getApplicationId())}))) {
      f.applications.push_back(*app);
    }
  }
  return f;
}

Eligibility Evaluate(const ElderFacts& facts, const S::PolicyPublished::Reader* policy, const std::string& programme,
                     int32_t day) {
  Eligibility e;
  auto elder = facts.elder.get();
  auto profile = elder.getProfile();
  e.elder_id = Str(profile.getElderId());
  e.programme = programme;
  e.day = day;
  e.age = YearsBetween(profile.getBirthDate(), day);
  auto fail = [&](const char* code, std::string detail) { e.reasons.push_back({code, std::move(detail)}); };

  if (auto a = AssessmentOn(elder, day)) {
    e.assessed = true;
    e.ability = a->getLevel();
    e.dementia = a->getDementia();
    e.assessment_id = Str(a->getAssessmentId());
  }
  if (policy == nullptr) {
    fail("no_policy", "no policy is in force on " + FormatDate(day));
    return e;
  }
  e.policy_version = Str(policy->getVersion());
  auto prog = FindProgramme(*policy, programme);
  if (!prog) {
    fail("unknown_programme", "policy " + e.policy_version + " has no programme '" + programme + "'");
    return e;
  }
  if (e.assessed) e.care_level = CareLevelOf(*policy, e.ability);

  if (Str(profile.getHouseholdDistrict()) != Str(policy->getDistrict())) {
    fail("not_household", "household registered in '" + Str(profile.getHouseholdDistrict()) + "', not '" +
                              Str(policy->getDistrict()) + "'");
  }
  if (HasCircumstance(elder, S::Circumstance::MOVED_AWAY, day)) fail("moved_away", "no longer lives in the district");
  if (HasCircumstance(elder, S::Circumstance::DECEASED, day)) fail("deceased", "recorded as deceased");
  if (e.age < prog->getMinAge()) {
    fail("under_age", "age " + std::to_string(e.age) + " is below " + std::to_string(prog->getMinAge()));
  }
  if (prog->getRequiresAssessment() && !e.assessed) {
    fail("no_assessment", "no ability assessment valid on " + FormatDate(day) + " (assess first, then serve)");
  }
  if (!AbilityAtLeast(e, prog->getRequiresAbilityAtLeast(), false)) {
    fail("not_disabled", std::string("needs an assessment of at least ") + LevelName(prog->getRequiresAbilityAtLeast()) +
                             (e.assessed ? std::string(", assessed ") + LevelName(e.ability) : std::string(", none valid")));
  }

  // Conditions: at least one; the highest standard applies. The failing
  // parts are spelled out only when no condition holds (the costly part).
  int64_t best_amount = -1;
  for (auto c : prog->getConditions()) {
    if (!ConditionHolds(elder, e, c, day)) continue;
    std::string name = Str(c.getId());
    e.conditions_met.push_back(name);
    if (c.getMonthlyAmountFen() > best_amount) {
      best_amount = c.getMonthlyAmountFen();
      e.condition = name;
      e.condition_label = Str(c.getLabel());
    }
  }
  if (prog->getConditions().size() > 0 && e.conditions_met.empty()) {
    std::vector<std::string> condition_failures;
    for (auto c : prog->getConditions()) {
      condition_failures.push_back(Str(c.getId()) + (c.getLabel().size() ? " (" + Str(c.getLabel()) + ")" : "") + ": " +
                                   Join(ConditionFailures(elder, e, c, day), "; "));
    }
    fail("no_condition", "no condition holds -- " + Join(condition_failures, " | "));
  }

  for (auto x : prog->getExclusions()) {
    bool any = false;
    for (auto circ : x.getAnyCircumstance()) any |= HasCircumstance(elder, circ, day);
    if (any && AbilityAtLeast(e, x.getMinAbility(), false)) {
      fail("excluded", Str(x.getId()) + (x.getLabel().size() ? " (" + Str(x.getLabel()) + ")" : ""));
    }
  }

  // Approval through the three reviews, and no end of entitlement after it.
  if (prog->getRequiresApproval()) {
    uint64_t approved_at = 0;
    std::string status = "no application";
    for (const auto& app : facts.applications) {
      auto a = app.get();
      if (Str(a.getProgramme()) != programme) continue;
      auto d = a.getDecision();
      if (d.getIndex() != 0 && d.getDecision() == S::Decision::PASS && d.getEffectiveFrom() <= day) {
        if (d.getIndex() > approved_at) {
          approved_at = d.getIndex();
          e.application_id = Str(a.getApplicationId());
        }
        continue;
      }
      if (a.getCommunityReview().getIndex() == 0) {
        status = "application awaiting community review";
      } else if (a.getCommunityReview().getDecision() == S::Decision::REJECT) {
        status = "application rejected by the community review";
      } else if (a.getSubdistrictReview().getIndex() == 0) {
        status = "application awaiting subdistrict review";
      } else if (a.getSubdistrictReview().getDecision() == S::Decision::REJECT) {
        status = "application rejected by the subdistrict review";
      } else if (a.getDecision().getIndex() == 0) {
        status = "application awaiting the bureau's decision";
      } else if (a.getDecision().getDecision() == S::Decision::REJECT) {
        status = "application rejected by the bureau";
      } else {
        status = "approved only from " + FormatDate(a.getDecision().getEffectiveFrom());
      }
    }
    if (approved_at == 0) {
      fail("not_approved", status);
    } else {
      for (auto end : elder.getEntitlementEnds()) {
        if (Str(end.getProgramme()) == programme && end.getEndedOn() <= day && end.getIndex() > approved_at) {
          fail("entitlement_ended", "entitlement ended on " + FormatDate(end.getEndedOn()));
          break;
        }
      }
    }
  }

  // Entitlement: the highest of the applied condition's standard and the
  // amount rules that hold; the programme's per-elder cap otherwise.
  int64_t amount = std::max<int64_t>(0, best_amount);
  for (auto r : prog->getAmounts()) {
    bool age_ok = e.age >= r.getMinAge() && (r.getMaxAge() == 0 || e.age <= r.getMaxAge());
    bool level_ok = r.getCareLevel() == S::CareLevel::NONE || (e.assessed && r.getCareLevel() == e.care_level);
    if (age_ok && level_ok) amount = std::max(amount, r.getAmountFen());
  }
  if (amount == 0) amount = prog->getMonthlyCapPerElderFen();
  e.eligible = e.reasons.empty();
  // An elder who is not eligible is entitled to nothing (the amount a
  // condition would bring is no answer to finance).
  e.monthly_entitlement_fen = e.eligible ? amount : 0;
  return e;
}

std::vector<int32_t> EligibilityChanges(const ElderFacts& facts, int32_t from, int32_t to) {
  std::vector<int32_t> days;
  auto at = [&](int64_t day) {
    if (day > from && day < to) days.push_back(static_cast<int32_t>(day));
  };
  auto elder = facts.elder.get();
  int32_t birth = elder.getProfile().getBirthDate();
  for (int32_t d = from + 1; d < to; ++d) {
    if (YearsBetween(birth, d) != YearsBetween(birth, d - 1)) at(d);
  }
  for (auto c : elder.getCircumstances()) at(c.getEffectiveOn());
  for (auto a : elder.getAssessments()) {
    at(a.getAssessedOn());
    at(int64_t{a.getValidUntil()} + 1);
  }
  for (auto x : elder.getEntitlementEnds()) at(x.getEndedOn());
  for (const auto& app : facts.applications) {
    auto d = app.get().getDecision();
    if (d.getIndex() != 0) at(d.getEffectiveFrom());
  }
  std::sort(days.begin(), days.end());
  days.erase(std::unique(days.begin(), days.end()), days.end());
  return days;
}

Eligibility QueryEligibility(const Snapshot& snap, const std::vector<Record<S::PolicyRecord>>& policies,
                             const std::string& elder_id, const std::string& programme, int32_t day) {
  auto facts = LoadElder(snap, elder_id);
  if (!facts) {
    Eligibility e;
    e.elder_id = elder_id;
    e.programme = programme;
    e.day = day;
    e.reasons.push_back({"not_registered", "no elder '" + elder_id + "' is registered"});
    return e;
  }
  const auto* rec = PolicyOn(policies, day);
  S::PolicyPublished::Reader policy;
  if (rec) policy = rec->get().getPolicy();
  return Evaluate(*facts, rec ? &policy : nullptr, programme, day);
}

}  // namespace eldercare::proj
