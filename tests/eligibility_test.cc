// Eligibility under the default policy: the seeds' rules, dates, and as-of.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/programme_util.h"

namespace eldercare {
namespace {

using testing::ProgrammeFixture;

bool HasReason(const proj::Eligibility& e, const std::string& code) {
  return std::any_of(e.reasons.begin(), e.reasons.end(), [&](const proj::Reason& r) { return r.code == code; });
}

class Eligibility : public ::testing::Test {
 protected:
  ProgrammeFixture f;
};

TEST_F(Eligibility, HomeVisitCondition4LivingAloneAt70) {
  f.Elder("E1", "1950-06-01");  // 73 on 2024-03-01
  f.Circumstance("E1", "lives_alone", "2020-01-01");
  f.Assess("E1", "a1", 60, "moderate");
  f.Approve("E1", "home_visit", "app1");
  auto e = f.Elig("E1", "home_visit", "2024-03-01");
  EXPECT_TRUE(e.eligible) << (e.reasons.empty() ? "" : e.reasons[0].detail);
  EXPECT_EQ(e.condition, "c4");
  EXPECT_EQ(e.care_level, schema::CareLevel::MODERATE);
  EXPECT_EQ(e.monthly_entitlement_fen, 40000);  // Tianjin: moderate 400 yuan
  EXPECT_EQ(e.application_id, "app1");
}

TEST_F(Eligibility, ExplainsEveryFailedCheck) {
  f.Elder("E1", "1958-06-01");  // 65 on 2024-03-01
  auto e = f.Elig("E1", "home_visit", "2024-03-01");
  EXPECT_FALSE(e.eligible);
  EXPECT_TRUE(HasReason(e, "no_assessment"));
  EXPECT_TRUE(HasReason(e, "not_disabled"));
  EXPECT_TRUE(HasReason(e, "no_condition"));
  EXPECT_TRUE(HasReason(e, "not_approved"));
  // Each of the six conditions says why it fails.
  for (const auto& r : e.reasons) {
    if (r.code != "no_condition") continue;
    for (const char* c : {"c1", "c2", "c3", "c4", "c5", "c6"}) EXPECT_NE(r.detail.find(c), std::string::npos) << c;
    EXPECT_NE(r.detail.find("age 65 < 90"), std::string::npos) << r.detail;
  }
}

TEST_F(Eligibility, Condition3DibaoAndModeratelyDisabledOrDemented) {
  f.Elder("E1", "1960-01-01");  // 64: only condition 3 is open at this age
  f.Circumstance("E1", "dibao", "2023-01-01");
  f.Assess("E1", "a1", 70, "mild");  // mild: not enough...
  f.Approve("E1", "home_visit", "app1");
  EXPECT_FALSE(f.Elig("E1", "home_visit", "2024-03-01").eligible);
  // ...until a dementia diagnosis (which also raises the level to moderate).
  f.Assess("E1", "a2", 70, "moderate", "2024-02-01", /*dementia=*/true);
  auto e = f.Elig("E1", "home_visit", "2024-03-01");
  EXPECT_TRUE(e.eligible) << (e.reasons.empty() ? "" : e.reasons[0].detail);
  EXPECT_EQ(e.condition, "c3");
  // Before the new assessment, the old one applies.
  EXPECT_FALSE(f.Elig("E1", "home_visit", "2024-01-20").eligible);
}

TEST_F(Eligibility, TheHighestStandardAppliesOnce) {
  // 80+ in a 低保 household and living alone: c2 and c4 hold; one entitlement.
  f.Elder("E1", "1940-01-01");
  f.Circumstance("E1", "dibao", "2023-01-01");
  f.Circumstance("E1", "lives_alone", "2023-01-01");
  f.Assess("E1", "a1", 40, "severe");
  f.Approve("E1", "home_visit", "app1");
  auto e = f.Elig("E1", "home_visit", "2024-03-01");
  ASSERT_TRUE(e.eligible);
  EXPECT_GE(e.conditions_met.size(), 2u);
  EXPECT_EQ(e.monthly_entitlement_fen, 60000);  // severe: 600 yuan, once
}

TEST_F(Eligibility, ExclusionsInstitutionAndLongTermCareInsurance) {
  f.Elder("E1", "1930-01-01");  // 90+
  f.Assess("E1", "a1", 50, "moderate");
  f.Approve("E1", "home_visit", "app1");
  EXPECT_TRUE(f.Elig("E1", "home_visit", "2024-03-01").eligible);
  f.Circumstance("E1", "institution_nursing_subsidy", "2024-04-01");
  EXPECT_TRUE(f.Elig("E1", "home_visit", "2024-03-31").eligible);
  auto e = f.Elig("E1", "home_visit", "2024-04-02");
  EXPECT_FALSE(e.eligible);
  EXPECT_TRUE(HasReason(e, "excluded"));
  f.Circumstance("E1", "institution_nursing_subsidy", "2024-05-01", "ends");
  EXPECT_TRUE(f.Elig("E1", "home_visit", "2024-05-02").eligible);
  f.Circumstance("E1", "ltc_insurance", "2024-06-01");
  EXPECT_TRUE(HasReason(f.Elig("E1", "home_visit", "2024-06-15"), "excluded"));
}

TEST_F(Eligibility, DeathMovingAwayAndEndOfEntitlement) {
  f.Elder("E1", "1930-01-01");
  f.Assess("E1", "a1", 50, "moderate");
  f.Approve("E1", "home_visit", "app1");
  f.Circumstance("E1", "deceased", "2024-07-10");
  EXPECT_TRUE(f.Elig("E1", "home_visit", "2024-07-09").eligible);
  EXPECT_TRUE(HasReason(f.Elig("E1", "home_visit", "2024-07-10"), "deceased"));

  f.Elder("E2", "1930-01-01");
  f.Assess("E2", "a2", 50, "moderate");
  f.Approve("E2", "home_visit", "app2");
  f.Expect("bureau", R"({"type":"entitlement_ended","elder_id":"E2","programme":"home_visit","ended_on":"2024-08-01","reason":"moved_away"})");
  EXPECT_TRUE(f.Elig("E2", "home_visit", "2024-07-31").eligible);
  EXPECT_TRUE(HasReason(f.Elig("E2", "home_visit", "2024-08-01"), "entitlement_ended"));
  f.Circumstance("E2", "moved_away", "2024-08-01");
  EXPECT_TRUE(HasReason(f.Elig("E2", "home_visit", "2024-08-02"), "moved_away"));
}

TEST_F(Eligibility, HouseholdOutsideTheDistrict) {
  f.Elder("E1", "1930-01-01", "com-1", "yinchuan");
  auto e = f.Elig("E1", "meal_aid", "2024-03-01");
  EXPECT_TRUE(HasReason(e, "not_household")) << (e.reasons.empty() ? "" : e.reasons[0].code);
}

TEST_F(Eligibility, MealAidAndTheCashAllowances) {
  f.Elder("E1", "1935-03-01");  // 89 on 2024-03-01, 90 on 2025-03-01
  f.Circumstance("E1", "empty_nest", "2020-01-01");
  f.Circumstance("E1", "low_income", "2020-01-01");
  f.Approve("E1", "meal_aid", "m1");
  f.Approve("E1", "high_age_allowance", "h1");
  auto meal = f.Elig("E1", "meal_aid", "2024-03-01");
  EXPECT_TRUE(meal.eligible);
  EXPECT_EQ(meal.condition, "m4");
  auto high = f.Elig("E1", "high_age_allowance", "2024-03-01");
  ASSERT_TRUE(high.eligible);
  EXPECT_EQ(high.monthly_entitlement_fen, 50000);  // Dawukou 80-89: 500 yuan
  EXPECT_EQ(f.Elig("E1", "high_age_allowance", "2025-03-01").monthly_entitlement_fen, 60000);  // 90+: 600
}

TEST_F(Eligibility, AnswersAsOfAnEarlierLogSize) {
  f.Elder("E1", "1930-01-01");
  f.Assess("E1", "a1", 50, "moderate");
  uint64_t before_approval = f.ledger().Size();
  f.Approve("E1", "home_visit", "app1");
  EXPECT_TRUE(f.Elig("E1", "home_visit", "2024-03-01").eligible);
  auto then = f.Elig("E1", "home_visit", "2024-03-01", static_cast<int64_t>(before_approval));
  EXPECT_FALSE(then.eligible);
  EXPECT_TRUE(HasReason(then, "not_approved"));
  EXPECT_EQ(then.reasons.size(), 1u);
  EXPECT_EQ(then.monthly_entitlement_fen, 0) << "not eligible, yet entitled";
  EXPECT_GT(f.Elig("E1", "home_visit", "2024-03-01").monthly_entitlement_fen, 0);
  // Before the elder existed at all.
  EXPECT_TRUE(HasReason(f.Elig("E1", "home_visit", "2024-03-01", 5), "not_registered"));
}

TEST_F(Eligibility, ANewerPolicyAppliesFromItsEffectiveDate) {
  f.Elder("E1", "1950-06-01");  // 74 in 2025
  f.Circumstance("E1", "lives_alone", "2020-01-01");
  f.Assess("E1", "a1", 60, "moderate");
  f.Approve("E1", "home_visit", "app1");
  // Version 2 raises condition 4's age to 75.
  auto policy = *ReadFile(testing::DefaultPolicyPath());
  std::string v2 = policy;
  v2.replace(v2.find("default-2024.1"), 14, "default-2025.1");
  v2.replace(v2.find("\"2024-01-01\""), 12, "\"2025-01-01\"");
  size_t c4 = v2.find("\"c4\"");
  size_t age = v2.find("\"min_age\": 70", c4);
  v2.replace(age, 13, "\"min_age\": 75");
  f.Expect("bureau", v2);
  auto before = f.Elig("E1", "home_visit", "2024-12-31");
  EXPECT_TRUE(before.eligible);
  EXPECT_EQ(before.policy_version, "default-2024.1");
  auto after = f.Elig("E1", "home_visit", "2025-02-01");
  EXPECT_FALSE(after.eligible);
  EXPECT_EQ(after.policy_version, "default-2025.1");
}

// A statement evaluates an elder once per run of days EligibilityChanges
// leaves unbroken, so outside those days no answer may change: every day of
// two months, for elders whose age, circumstances, assessments, approval and
// entitlement change within them, under every programme.
TEST_F(Eligibility, AnswersChangeOnlyOnTheDaysEligibilityChangesNames) {
  f.Elder("E1", "1954-03-15");  // 70 on 2024-03-15
  f.Circumstance("E1", "lives_alone", "2024-03-10");
  f.Circumstance("E1", "lives_alone", "2024-04-02", "ends");
  f.Expect("assessor", R"({"type":"assessment_recorded","elder_id":"E1","assessment_id":"a1","assessed_on":"2024-02-20",)"
                       R"("valid_until":"2024-03-12","self_care":32,"mobility":15,"mental":23,"perception":0,"dementia":false,"level":"mild"})");
  f.Assess("E1", "a2", 60, "moderate", "2024-03-18");
  f.Approve("E1", "home_visit", "app1", "2024-03-05");
  f.Approve("E1", "meal_aid", "app2", "2024-03-21");
  f.Expect("bureau", R"({"type":"entitlement_ended","elder_id":"E1","programme":"home_visit","ended_on":"2024-04-09","reason":"moved_away"})");
  f.Elder("E2", "1944-04-20");  // 80 on 2024-04-20
  f.Circumstance("E2", "dibao", "2024-03-03");
  f.Assess("E2", "a3", 50, "severe", "2024-03-01", /*dementia=*/true);
  f.Approve("E2", "high_age_allowance", "app3", "2024-03-01");
  f.Approve("E2", "home_visit", "app4");
  f.Circumstance("E2", "deceased", "2024-04-25");

  auto v = f.Snap();
  auto policies = proj::LoadPolicies(*v.snap);
  const int32_t from = *ParseDate("2024-03-01"), to = *ParseDate("2024-05-01");
  auto without_day = [](const proj::Eligibility& e) {
    std::string out = std::to_string(e.eligible) + "|" + std::to_string(e.age) + "|" + e.policy_version + "|" +
                      e.condition + "|" + std::to_string(e.assessed) + "|" + std::to_string(static_cast<int>(e.ability)) +
                      "|" + std::to_string(e.dementia) + "|" + std::to_string(static_cast<int>(e.care_level)) + "|" +
                      std::to_string(e.monthly_entitlement_fen) + "|" + e.assessment_id + "|" + e.application_id;
    for (const auto& c : e.conditions_met) out += "|met " + c;
    // Reasons by code: their details may name the day (a statement keeps
    // ineligible answers by day for that reason).
    for (const auto& r : e.reasons) out += "|" + r.code;
    return out;
  };
  size_t changed = 0;
  for (const char* elder : {"E1", "E2"}) {
    auto facts = proj::LoadElder(*v.snap, elder);
    ASSERT_TRUE(facts);
    auto changes = proj::EligibilityChanges(*facts, from, to);
    EXPECT_TRUE(std::is_sorted(changes.begin(), changes.end()));
    for (const char* programme : {"home_visit", "meal_aid", "care_subsidy", "high_age_allowance"}) {
      auto on = [&](int32_t day) {
        auto policy = proj::PolicyOn(policies, day)->get().getPolicy();
        return without_day(proj::Evaluate(*facts, &policy, programme, day));
      };
      std::string before = on(from);
      for (int32_t day = from + 1; day < to; ++day) {
        std::string now = on(day);
        bool named = std::binary_search(changes.begin(), changes.end(), day);
        if (now != before) {
          ++changed;
          EXPECT_TRUE(named) << elder << " " << programme << " changed on " << FormatDate(day)
                             << ", a day EligibilityChanges does not name:\n  " << before << "\n  " << now;
        }
        before = now;
      }
    }
  }
  // The facts above change some answer on at least these days: E1's 10th,
  // 12th (expiry), 15th, 18th, 21st of March and 2nd, 9th of April; E2's
  // 3rd of March and 20th, 25th of April.
  EXPECT_GE(changed, 10u);
}

}  // namespace
}  // namespace eldercare
