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

}  // namespace
}  // namespace eldercare
