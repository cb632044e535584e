// The write-side rules of the programme's projection: what is rejected (and
// leaves the ledger unchanged), and what is recorded as a claim.
#include <gtest/gtest.h>

#include "tests/programme_util.h"

namespace eldercare {
namespace {

using testing::ProgrammeFixture;

class Fold : public ::testing::Test {
 protected:
  void SetUp() override {
    f.EnterpriseAndContract();
    f.Elder("E1", "1940-05-01");
  }
  ProgrammeFixture f;
};

TEST_F(Fold, RejectsReferencesToNothing) {
  f.Reject("com-1", R"({"type":"circumstance_recorded","elder_id":"ghost","circumstance":"lives_alone","effective_on":"2024-01-01"})",
           "unknown elder 'ghost'");
  f.Reject("bureau", R"({"type":"application_decided","application_id":"nope","decision":"pass","effective_from":"2024-01-10","decided_on":"2024-01-09"})",
           "unknown application 'nope'");
  f.Reject("bureau", R"({"type":"contract_ended","contract_id":"ct-x","ended_on":"2024-05-01"})", "unknown contract 'ct-x'");
  f.Reject("ent-a", ProgrammeFixture::Delivery("d1", "E1", "w1", "teleportation", "2024-02-01T09:00:00+08:00",
                                               "2024-02-01T10:00:00+08:00", 1),
           "service 'teleportation' is in no published catalogue");
  f.Reject("ent-a", R"({"type":"delivery_voided","delivery_id":"nope","enterprise_id":"ent-a","voided_on":"2024-02-02"})",
           "unknown delivery 'nope' of enterprise 'ent-a'");
  f.Reject("insp", R"({"type":"spot_check_result","plan_id":"p0","enterprise_id":"ent-a","delivery_id":"d1","outcome":"verified","checked_on":"2024-02-02"})",
           "unknown spot-check plan 'p0'");
  f.Reject("bureau", R"({"type":"contract_signed","contract_id":"ct-9","enterprise_id":"ent-zz","communities":["com-1"],"programmes":["home_visit"],"valid_from":"2024-01-01","valid_until":"2024-12-31","confidentiality_agreement":")" +
                         std::string(64, 'b') + R"(","signed_on":"2024-01-01"})",
           "unknown enterprise 'ent-zz'");
  f.Reject("com-1", R"({"type":"application_submitted","application_id":"a9","elder_id":"E1","programme":"space_travel","filed_by":"family","filed_on":"2024-01-06"})",
           "programme 'space_travel' is in no published policy");
}

TEST_F(Fold, EnforcesTheOrderOfTheThreeReviews) {
  f.Expect("com-1", R"({"type":"application_submitted","application_id":"a1","elder_id":"E1","programme":"home_visit","filed_by":"family","filed_on":"2024-01-06"})");
  f.Reject("sub-1", R"({"type":"subdistrict_review","application_id":"a1","decision":"pass","reviewed_on":"2024-01-08"})",
           "subdistrict review before the community review");
  f.Reject("bureau", R"({"type":"application_decided","application_id":"a1","decision":"pass","effective_from":"2024-01-10","decided_on":"2024-01-09"})",
           "only after the community and subdistrict reviews pass");
  f.Expect("com-1", R"({"type":"community_review","application_id":"a1","decision":"reject","reviewed_on":"2024-01-07","reason":"not resident"})");
  f.Reject("com-1", R"({"type":"community_review","application_id":"a1","decision":"pass","reviewed_on":"2024-01-07"})",
           "already has a community review");
  f.Reject("sub-1", R"({"type":"subdistrict_review","application_id":"a1","decision":"pass","reviewed_on":"2024-01-08"})",
           "was rejected by the community review");
  // Roles: a community may not sign a subdistrict review (schema's $writers).
  f.Reject("com-1", R"({"type":"subdistrict_review","application_id":"a1","decision":"pass","reviewed_on":"2024-01-08"})",
           "role 'community' may not write 'subdistrict_review'");
}

// And in time: each level acts on the date of the level before it or later.
TEST_F(Fold, EachReviewIsDatedAfterTheOneBeforeIt) {
  f.Expect("com-1", R"({"type":"application_submitted","application_id":"a2","elder_id":"E1","programme":"home_visit","filed_by":"family","filed_on":"2024-01-06"})");
  f.Reject("com-1", R"({"type":"community_review","application_id":"a2","decision":"pass","reviewed_on":"2024-01-05"})",
           "field 'reviewed_on' 2024-01-05 is before the application was filed (2024-01-06)");
  f.Expect("com-1", R"({"type":"community_review","application_id":"a2","decision":"pass","reviewed_on":"2024-01-06"})");
  f.Reject("sub-1", R"({"type":"subdistrict_review","application_id":"a2","decision":"pass","reviewed_on":"2024-01-05"})",
           "field 'reviewed_on' 2024-01-05 is before the community review (2024-01-06)");
  f.Expect("sub-1", R"({"type":"subdistrict_review","application_id":"a2","decision":"pass","reviewed_on":"2024-01-08"})");
  f.Reject("bureau", R"({"type":"application_decided","application_id":"a2","decision":"pass","effective_from":"2024-01-10","decided_on":"2024-01-07"})",
           "field 'decided_on' 2024-01-07 is before the subdistrict review (2024-01-08)");
  f.Expect("bureau", R"({"type":"application_decided","application_id":"a2","decision":"pass","effective_from":"2024-01-10","decided_on":"2024-01-08"})");
}

TEST_F(Fold, AnApprovalNeedsItsEffectiveDate) {
  f.Expect("com-1", R"({"type":"application_submitted","application_id":"a1","elder_id":"E1","programme":"home_visit","filed_by":"family","filed_on":"2024-01-06"})");
  f.Expect("com-1", R"({"type":"community_review","application_id":"a1","decision":"pass","reviewed_on":"2024-01-07"})");
  f.Expect("sub-1", R"({"type":"subdistrict_review","application_id":"a1","decision":"pass","reviewed_on":"2024-01-08"})");
  f.Reject("bureau", R"({"type":"application_decided","application_id":"a1","decision":"pass","decided_on":"2024-01-09"})",
           "missing required field 'effective_from'");
}

TEST_F(Fold, ChecksAssessmentsAgainstGbT42195) {
  f.Reject("assessor", R"({"type":"assessment_recorded","elder_id":"E1","assessment_id":"x","assessed_on":"2024-01-05","valid_until":"2025-01-04","self_care":20,"mobility":10,"mental":20,"perception":10,"level":"mild"})",
           "total 60 gives 'moderate'");
  f.Reject("assessor", R"({"type":"assessment_recorded","elder_id":"E1","assessment_id":"x","assessed_on":"2024-01-05","valid_until":"2025-01-04","self_care":40,"level":"mild"})",
           "field 'self_care': score 40 is outside 0-32");
  // Dementia raises the level by one; coma is complete.
  f.Expect("assessor", R"({"type":"assessment_recorded","elder_id":"E1","assessment_id":"x","assessed_on":"2024-01-05","valid_until":"2025-01-04","self_care":32,"mobility":15,"mental":20,"perception":10,"dementia":true,"level":"moderate"})");
  f.Expect("assessor", R"({"type":"assessment_recorded","elder_id":"E1","assessment_id":"y","assessed_on":"2024-01-05","valid_until":"2025-01-04","self_care":32,"mobility":15,"mental":28,"perception":15,"coma":true,"level":"complete"})");
}

TEST_F(Fold, AnEnterpriseSignsOnlyItsOwnDeliveries) {
  f.Expect("bureau", R"({"type":"enterprise_registered","enterprise_id":"ent-b","name":"B","registered_on":"2024-01-01"})");
  f.Reject("ent-b", ProgrammeFixture::Delivery("d1", "E1", "w1", "bathing", "2024-02-01T09:00:00+08:00",
                                               "2024-02-01T10:00:00+08:00", 1, "ent-a"),
           "a delivery is signed by the enterprise that made it");
  f.Expect("ent-a", ProgrammeFixture::Delivery("d1", "E1", "w1", "bathing", "2024-02-01T09:00:00+08:00",
                                               "2024-02-01T10:00:00+08:00", 1));
  f.Reject("ent-b", R"({"type":"delivery_voided","delivery_id":"d1","enterprise_id":"ent-a","voided_on":"2024-02-02"})",
           "may not void a delivery for enterprise 'ent-a'");
  f.Reject("ent-a", ProgrammeFixture::Delivery("d1", "E1", "w1", "bathing", "2024-02-02T09:00:00+08:00",
                                               "2024-02-02T10:00:00+08:00", 2),
           "delivery 'd1' of enterprise 'ent-a' is already recorded");
  f.Reject("ent-a", ProgrammeFixture::Delivery("d2", "E1", "w1", "bathing", "2024-02-02T10:00:00+08:00",
                                               "2024-02-02T09:00:00+08:00", 3),
           "field 'check_out' is before 'check_in'");
}

TEST_F(Fold, RecordsClaimsThatBillingWillRefuse) {
  // E2 is not eligible for anything and ent-b has no contract: still recorded,
  // because auditors must see what was claimed.
  f.Elder("E2", "1990-01-01");
  f.Expect("bureau", R"({"type":"enterprise_registered","enterprise_id":"ent-b","name":"B","registered_on":"2024-01-01"})");
  auto r = f.Expect("ent-b", ProgrammeFixture::Delivery("d9", "E2", "w9", "bathing", "2024-02-01T09:00:00+08:00",
                                                        "2024-02-01T09:05:00+08:00", 9, "ent-b"));
  EXPECT_GT(r.first_index, 0u);
}

TEST_F(Fold, ClosedPeriodsAreNotEditedButVoidsBeforeCloseWork) {
  f.Expect("ent-a", ProgrammeFixture::Delivery("d1", "E1", "w1", "bathing", "2024-02-01T09:00:00+08:00",
                                               "2024-02-01T10:00:00+08:00", 1) + "\n" +
                        ProgrammeFixture::Delivery("d2", "E1", "w1", "bathing", "2024-02-03T09:00:00+08:00",
                                                   "2024-02-03T10:00:00+08:00", 2));
  f.Expect("ent-a", R"({"type":"delivery_voided","delivery_id":"d1","enterprise_id":"ent-a","reason":"entered twice","voided_on":"2024-02-02"})");
  f.Reject("ent-a", R"({"type":"delivery_voided","delivery_id":"d1","enterprise_id":"ent-a","voided_on":"2024-02-02"})",
           "already voided");
  // A statement cannot have been computed before its enterprise existed.
  f.Reject("bureau", R"({"type":"billing_period_closed","enterprise_id":"ent-a","month":"2024-02","at_size":5,"statement_digest":")" +
                         std::string(64, 'c') + R"(","closed_on":"2024-03-01"})",
           "was not yet registered");
  const std::string size = std::to_string(f.ledger().Size());
  f.Expect("bureau", R"({"type":"billing_period_closed","enterprise_id":"ent-a","month":"2024-02","at_size":)" + size +
                         R"(,"statement_digest":")" + std::string(64, 'c') + R"(","closed_on":"2024-03-01"})");
  f.Reject("ent-a", R"({"type":"delivery_voided","delivery_id":"d2","enterprise_id":"ent-a","voided_on":"2024-03-02"})",
           "is closed; a correction is an adjustment in a later period");
  f.Reject("bureau", R"({"type":"billing_period_closed","enterprise_id":"ent-a","month":"2024-02","at_size":)" + size +
                         R"(,"statement_digest":")" + std::string(64, 'c') + R"(","closed_on":"2024-03-01"})",
           "already closed");
}

TEST_F(Fold, EnterpriseStatusFollowsItsStateMachine) {
  f.Reject("bureau", R"({"type":"enterprise_reinstated","enterprise_id":"ent-a","effective_from":"2024-03-01"})",
           "is not suspended");
  f.Expect("bureau", R"({"type":"enterprise_suspended","enterprise_id":"ent-a","effective_from":"2024-03-01","reason":"spot-check failures","evidence":[12,13]})");
  f.Expect("bureau", R"({"type":"enterprise_reinstated","enterprise_id":"ent-a","effective_from":"2024-04-01"})");
  f.Expect("bureau", R"({"type":"enterprise_exited","enterprise_id":"ent-a","effective_from":"2024-05-01","reason":"failed to deliver"})");
  f.Reject("bureau", R"({"type":"enterprise_reinstated","enterprise_id":"ent-a","effective_from":"2024-06-01"})",
           "has exited");
  f.Reject("ent-a", R"({"type":"service_assigned","assignment_id":"as1","elder_id":"E1","enterprise_id":"ent-a","programme":"home_visit","valid_from":"2024-06-01"})",
           "has exited");
}

TEST_F(Fold, RefusesTheSamePersonRegisteredTwice) {
  std::string hmac(64, 'd');
  f.Expect("com-1", R"({"type":"elder_registered","elder_id":"E7","household_district":"dawukou","community":"com-1","birth_date":"1940-01-01","registered_on":"2024-01-02","id_number_hmac":")" + hmac + "\"}");
  f.Reject("com-1", R"({"type":"elder_registered","elder_id":"E8","household_district":"dawukou","community":"com-1","birth_date":"1940-01-01","registered_on":"2024-01-02","id_number_hmac":")" + hmac + "\"}",
           "already registered as elder 'E7'");
  f.Reject("com-1", R"({"type":"elder_registered","elder_id":"E7","household_district":"dawukou","community":"com-1","birth_date":"1940-01-01","registered_on":"2024-01-02"})",
           "elder 'E7' is already registered");
}

TEST_F(Fold, ARejectedEventRejectsItsWholeSubmission) {
  uint64_t size = f.ledger().Size();
  auto r = f.Submit("com-1", R"({"type":"circumstance_recorded","elder_id":"E1","circumstance":"lives_alone","effective_on":"2024-01-01"})"
                             "\n" R"({"type":"circumstance_recorded","elder_id":"ghost","circumstance":"dibao","effective_on":"2024-01-01"})");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("event 2: unknown elder 'ghost'"), std::string::npos) << r.status().message();
  EXPECT_EQ(f.ledger().Size(), size);
  // ...and the first event's change did not leak into the projection.
  auto e = f.Elig("E1", "home_visit", "2024-06-01");
  for (const auto& m : e.conditions_met) EXPECT_NE(m, "c4");
}

TEST_F(Fold, PolicyRulesAreChecked) {
  f.Reject("bureau", R"({"type":"policy_published","version":"default-2024.1","effective_from":"2025-01-01","district":"x","programmes":[{"id":"p"}],"funding":{"city_permille":500,"district_permille":500}})",
           "policy version 'default-2024.1' is already published");
  f.Reject("bureau", R"({"type":"policy_published","version":"v2","effective_from":"2025-01-01","district":"x","programmes":[{"id":"p"}],"funding":{"city_permille":600,"district_permille":500}})",
           "funding shares must add up to 1000");
  f.Reject("bureau", R"({"type":"policy_published","version":"v2","effective_from":"2025-01-01","district":"x","programmes":[{"id":"p"}],"services":[{"code":"s","programme":"q"}],"funding":{"city_permille":500,"district_permille":500}})",
           "belongs to programme 'q'");
  f.Reject("ent-a", R"({"type":"policy_published","version":"v3","effective_from":"2025-01-01","district":"x","programmes":[{"id":"p"}]})",
           "role 'enterprise' may not write 'policy_published'");
}

}  // namespace
}  // namespace eldercare
