// Statements: every refusal reason, pricing, the monthly cap, the funding
// split, and reproducibility of a statement at a past log size.
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "ledger/export.h"

#include "tests/programme_util.h"

namespace eldercare {
namespace {

using testing::ProgrammeFixture;
using R = schema::Refusal;

class Billing : public ::testing::Test {
 protected:
  void SetUp() override {
    f.EnterpriseAndContract("ent-a", "com-1", "2024-01-01", "2024-06-30");
    f.Elder("E1", "1930-01-01");  // 90+: condition c6
    f.Assess("E1", "a1", 50, "moderate");  // 400 yuan a month
    f.Approve("E1", "home_visit", "app1");
  }
  // The verdict for each delivery id in the statement.
  std::map<std::string, schema::StatementLine::Reader> Lines(const proj::Statement& st) {
    std::map<std::string, schema::StatementLine::Reader> out;
    for (auto l : st.get().getLines()) out.emplace(l.getDeliveryId().cStr(), l);
    return out;
  }
  static std::string D(const std::string& id, const std::string& day, const std::string& from, const std::string& to,
                       const std::string& service = "bathing", int ev = 0, const std::string& worker = "w1",
                       const std::string& elder = "E1", const std::string& ent = "ent-a", int units = 0) {
    static int counter = 1000;
    return ProgrammeFixture::Delivery(id, elder, worker, service, day + "T" + from + ":00+08:00",
                                      day + "T" + to + ":00+08:00", ev ? ev : ++counter, ent, units);
  }
  ProgrammeFixture f;
};

TEST_F(Billing, PricesABillableDeliveryAndSplitsTheFunding) {
  f.Expect("ent-a", D("d1", "2024-03-04", "09:00", "10:00"));
  auto st = f.Bill("ent-a", "2024-03");
  ASSERT_NE(st, nullptr);
  auto r = st->get();
  EXPECT_EQ(r.getDeliveries(), 1u);
  EXPECT_EQ(r.getBillable(), 1u);
  EXPECT_EQ(r.getBilledFen(), 6000);  // bathing, example price 60 yuan
  EXPECT_EQ(r.getCityFen(), 3000);    // 1:1
  EXPECT_EQ(r.getDistrictFen(), 3000);
  EXPECT_EQ(Lines(*st).at("d1").getRefusal(), R::NONE);
}

TEST_F(Billing, RefusesWithEveryReasonCode) {
  f.Expect("bureau", R"({"type":"enterprise_registered","enterprise_id":"ent-b","name":"B","registered_on":"2024-01-01"})");
  f.Elder("E2", "1990-01-01");  // not eligible for anything
  f.Elder("E3", "1930-01-01", "com-2");  // eligible, but in a community ent-a has no contract for
  f.Assess("E3", "a3", 50, "moderate");
  f.Approve("E3", "home_visit", "app3");
  std::string lines = D("ok", "2024-03-01", "09:00", "10:00", "bathing", 1) + "\n" +
                      D("void", "2024-03-02", "09:00", "10:00") + "\n" +
                      D("spot", "2024-03-03", "09:00", "10:00") + "\n" +
                      D("call", "2024-03-04", "09:00", "10:00") + "\n" +
                      D("dup-evidence", "2024-03-05", "09:00", "10:00", "bathing", 1) + "\n" +
                      D("short", "2024-03-06", "09:00", "09:20") + "\n" +
                      D("hours", "2024-03-07", "09:00", "10:00", "cleaning", 0, "w1", "E1", "ent-a", 3) + "\n" +
                      D("inel", "2024-03-08", "09:00", "10:00", "bathing", 0, "w1", "E2") + "\n" +
                      D("nocontract", "2024-03-09", "09:00", "10:00", "bathing", 0, "w1", "E3") + "\n" +
                      D("overlap-a", "2024-03-10", "09:00", "10:00", "bathing", 0, "w2") + "\n" +
                      D("overlap-b", "2024-03-10", "09:30", "10:30", "medical_help", 0, "w2", "E3") + "\n" +
                      D("late", "2024-07-02", "09:00", "10:00");  // after the contract ends
  f.Expect("ent-a", lines);
  f.Expect("ent-a", R"({"type":"delivery_voided","delivery_id":"void","enterprise_id":"ent-a","reason":"typo","voided_on":"2024-03-02"})");
  // The whole month is the sample (a checkpoint at the plan's position).
  f.Expect("bureau", ProgrammeFixture::SpotCheckPlan("p1", "2024-03", R"("sample_permille":1000)", f.ledger().Size(),
                                                     std::string(64, '0'), "2024-04-02"));
  f.Expect("insp", R"({"type":"spot_check_result","plan_id":"p1","enterprise_id":"ent-a","delivery_id":"spot","outcome":"not_delivered","checked_on":"2024-04-03"})");
  f.Expect("insp", R"({"type":"follow_up_call","call_id":"c1","elder_id":"E1","enterprise_id":"ent-a","called_at":"2024-04-01T10:00:00+08:00","month":"2024-03","outcome":"denied","deliveries":["call"]})");
  auto st = f.Bill("ent-a", "2024-03");
  ASSERT_NE(st, nullptr);
  auto l = Lines(*st);
  EXPECT_EQ(l.at("ok").getRefusal(), R::NONE);
  EXPECT_EQ(l.at("void").getRefusal(), R::VOIDED);
  EXPECT_EQ(l.at("spot").getRefusal(), R::DENIED_BY_SPOT_CHECK);
  EXPECT_EQ(l.at("call").getRefusal(), R::DENIED_BY_FOLLOW_UP);
  EXPECT_EQ(l.at("dup-evidence").getRefusal(), R::DUPLICATE);
  EXPECT_EQ(l.at("short").getRefusal(), R::BELOW_MIN_DURATION);
  EXPECT_EQ(l.at("hours").getRefusal(), R::UNITS_EXCEED_DURATION);
  EXPECT_EQ(l.at("inel").getRefusal(), R::INELIGIBLE);
  EXPECT_NE(std::string(l.at("inel").getDetail().cStr()).find("under_age"), std::string::npos);
  EXPECT_EQ(l.at("nocontract").getRefusal(), R::NO_CONTRACT);
  EXPECT_EQ(l.at("overlap-a").getRefusal(), R::WORKER_OVERLAP);
  EXPECT_EQ(l.at("overlap-b").getReasons()[0], R::NO_CONTRACT);
  bool overlap_b = false;
  for (auto r : l.at("overlap-b").getReasons()) overlap_b |= r == R::WORKER_OVERLAP;
  EXPECT_TRUE(overlap_b);
  auto july = f.Bill("ent-a", "2024-07");
  EXPECT_EQ(Lines(*july).at("late").getRefusal(), R::OUTSIDE_CONTRACT_PERIOD);
  // Refusal counts add up.
  uint32_t refused = 0;
  for (auto rc : st->get().getRefusals()) refused += rc.getCount();
  EXPECT_EQ(refused + st->get().getBillable(), st->get().getDeliveries());
}

TEST_F(Billing, SuspensionExitAndDeath) {
  f.Expect("ent-a", D("before", "2024-03-01", "09:00", "10:00") + "\n" + D("susp", "2024-03-10", "09:00", "10:00") +
                        "\n" + D("back", "2024-03-20", "09:00", "10:00") + "\n" + D("gone", "2024-04-05", "09:00", "10:00"));
  f.Expect("bureau", R"({"type":"enterprise_suspended","enterprise_id":"ent-a","effective_from":"2024-03-08"})");
  f.Expect("bureau", R"({"type":"enterprise_reinstated","enterprise_id":"ent-a","effective_from":"2024-03-15"})");
  f.Expect("bureau", R"({"type":"enterprise_exited","enterprise_id":"ent-a","effective_from":"2024-04-01"})");
  auto mar_statement = f.Bill("ent-a", "2024-03");
  auto mar = Lines(*mar_statement);
  EXPECT_EQ(mar.at("before").getRefusal(), R::NONE);
  EXPECT_EQ(mar.at("susp").getRefusal(), R::ENTERPRISE_SUSPENDED);
  EXPECT_EQ(mar.at("back").getRefusal(), R::NONE);
  auto apr_statement = f.Bill("ent-a", "2024-04");
  EXPECT_EQ(Lines(*apr_statement).at("gone").getRefusal(), R::ENTERPRISE_EXITED);

  f.Circumstance("E1", "deceased", "2024-03-18");
  auto after_statement = f.Bill("ent-a", "2024-03");
  auto after = Lines(*after_statement);
  EXPECT_EQ(after.at("back").getRefusal(), R::ELDER_DECEASED);
}

// Eligibility that starts and ends within the month: each delivery is
// judged on its own day (a statement evaluates once per run of days on which
// nothing can change, so this would catch a run that spans a change).
TEST_F(Billing, EligibilityThatChangesWithinTheMonthIsJudgedByDay) {
  f.Elder("E4", "1954-03-15");  // 70, and so under condition c4, from 2024-03-15
  f.Circumstance("E4", "lives_alone", "2020-01-01");
  f.Expect("assessor", R"({"type":"assessment_recorded","elder_id":"E4","assessment_id":"a4","assessed_on":"2024-01-05",)"
                       R"("valid_until":"2024-03-22","self_care":32,"mobility":15,"mental":23,"perception":0,"dementia":false,"level":"mild"})");
  f.Approve("E4", "home_visit", "app4");
  std::string batch;
  for (const char* day : {"10", "14", "15", "16", "22", "23", "28"}) {
    batch += (batch.empty() ? "" : "\n") + D(std::string("e4-") + day, std::string("2024-03-") + day, "09:00", "10:00",
                                              "bathing", 0, "w4", "E4");
  }
  f.Expect("ent-a", batch);
  auto st = f.Bill("ent-a", "2024-03");
  ASSERT_NE(st, nullptr);
  auto lines = Lines(*st);
  for (const char* id : {"e4-10", "e4-14", "e4-23", "e4-28"}) EXPECT_EQ(lines.at(id).getRefusal(), R::INELIGIBLE) << id;
  for (const char* id : {"e4-15", "e4-16", "e4-22"}) EXPECT_EQ(lines.at(id).getRefusal(), R::NONE) << id;
  EXPECT_NE(std::string(lines.at("e4-14").getDetail().cStr()).find("no_condition"), std::string::npos);
  EXPECT_NE(std::string(lines.at("e4-23").getDetail().cStr()).find("no ability assessment valid on 2024-03-23"),
            std::string::npos)
      << lines.at("e4-23").getDetail().cStr();
  EXPECT_NE(std::string(lines.at("e4-28").getDetail().cStr()).find("valid on 2024-03-28"), std::string::npos);
}

TEST_F(Billing, CapsAnEldersMonthAcrossEnterprises) {
  f.EnterpriseAndContract("ent-b", "com-1");
  // 400 yuan entitlement: 3 x 60 by ent-a, then 4 hours of personal care
  // (180) by ent-b, then a bath (60) of which 40 are left, then nothing.
  f.Expect("ent-a", D("a1", "2024-03-01", "09:00", "10:00") + "\n" + D("a2", "2024-03-02", "09:00", "10:00") + "\n" +
                        D("a3", "2024-03-03", "09:00", "10:00"));
  f.Expect("ent-b", D("b1", "2024-03-04", "09:00", "13:00", "personal_care", 0, "wb", "E1", "ent-b", 4) + "\n" +
                        D("b2", "2024-03-05", "09:00", "10:00", "bathing", 0, "wb", "E1", "ent-b"));
  auto b = f.Bill("ent-b", "2024-03");
  auto lb = Lines(*b);
  EXPECT_EQ(lb.at("b1").getBilledFen(), 4 * 4500);
  EXPECT_EQ(lb.at("b1").getClaimedFen(), 4 * 4500);
  EXPECT_FALSE(lb.at("b1").getCapped());
  EXPECT_EQ(lb.at("b2").getBilledFen(), 40000 - 3 * 6000 - 4 * 4500);
  EXPECT_EQ(lb.at("b2").getBilledFen(), 4000);
  EXPECT_TRUE(lb.at("b2").getCapped());
  f.Expect("ent-b", D("b3", "2024-03-06", "09:00", "10:00", "bathing", 0, "wb", "E1", "ent-b"));
  auto b_statement = f.Bill("ent-b", "2024-03");
  EXPECT_EQ(Lines(*b_statement).at("b3").getRefusal(), R::OVER_MONTHLY_CAP);
  EXPECT_EQ(f.Bill("ent-a", "2024-03")->get().getBilledFen(), 3 * 6000);
}

TEST_F(Billing, AStatementReproducesExactlyAtItsLogSize) {
  f.Expect("ent-a", D("d1", "2024-03-01", "09:00", "10:00") + "\n" + D("d2", "2024-03-02", "09:00", "10:00"));
  uint64_t size = f.ledger().Size();
  auto frozen = f.Bill("ent-a", "2024-03");
  // Later events change the month's statement now...
  f.Expect("ent-a", D("d3", "2024-03-03", "09:00", "10:00"));
  f.Expect("insp", R"({"type":"follow_up_call","call_id":"c1","elder_id":"E1","enterprise_id":"ent-a","called_at":"2024-04-01T10:00:00+08:00","month":"2024-03","outcome":"denied","deliveries":["d1"]})");
  f.Circumstance("E1", "deceased", "2024-03-02");
  auto now = f.Bill("ent-a", "2024-03");
  EXPECT_NE(now->digest(), frozen->digest());
  // ...but not the statement as of the earlier size: byte for byte the same.
  auto again = f.Bill("ent-a", "2024-03", static_cast<int64_t>(size));
  EXPECT_EQ(again->canonical(), frozen->canonical());
  EXPECT_EQ(again->digest(), frozen->digest());
  // And rebuilding the projections from the log changes nothing.
  ASSERT_TRUE(f.ledger().RebuildProjections().ok());
  EXPECT_EQ(f.Bill("ent-a", "2024-03")->digest(), now->digest());
  EXPECT_EQ(f.Bill("ent-a", "2024-03", static_cast<int64_t>(size))->digest(), frozen->digest());
  // The digest covers capnp's canonical form of the statement, exactly.
  for (const auto* st : {frozen.get(), now.get()}) {
    kj::Array<capnp::word> canon = capnp::canonicalize(st->get());
    auto bytes = canon.asBytes();
    EXPECT_EQ(st->canonical(), std::string_view(reinterpret_cast<const char*>(bytes.begin()), bytes.size()));
    EXPECT_EQ(st->digest(), Sha256(ByteSpan(bytes.begin(), bytes.size())));
  }
}

TEST_F(Billing, AVoidedVisitOverlapsNothingFromTheVoidOn) {
  f.Elder("E2", "1930-01-01");
  f.Assess("E2", "a2", 50, "moderate");
  f.Approve("E2", "home_visit", "app2");
  // The same worker in two homes at once: both refused...
  f.Expect("ent-a", D("here", "2024-03-10", "09:00", "10:00", "bathing", 0, "w7") + "\n" +
                        D("there", "2024-03-10", "09:30", "10:30", "bathing", 0, "w7", "E2"));
  uint64_t before = f.ledger().Size();
  auto first = f.Bill("ent-a", "2024-03");  // the lines read from it live as long as it
  auto l = Lines(*first);
  EXPECT_EQ(l.at("here").getRefusal(), R::WORKER_OVERLAP);
  EXPECT_EQ(l.at("there").getRefusal(), R::WORKER_OVERLAP);
  // ...until the enterprise voids one: the other is then billable, while the
  // statement as of the size before the void still refuses both.
  f.Expect("ent-a", R"({"type":"delivery_voided","delivery_id":"there","enterprise_id":"ent-a","reason":"wrong elder","voided_on":"2024-03-11"})");
  auto now = f.Bill("ent-a", "2024-03");
  l = Lines(*now);
  EXPECT_EQ(l.at("here").getRefusal(), R::NONE);
  EXPECT_EQ(l.at("there").getRefusal(), R::VOIDED);
  auto as_of = f.Bill("ent-a", "2024-03", static_cast<int64_t>(before));
  auto then = Lines(*as_of);
  EXPECT_EQ(then.at("here").getRefusal(), R::WORKER_OVERLAP);
  EXPECT_EQ(then.at("there").getRefusal(), R::WORKER_OVERLAP);
  ASSERT_TRUE(f.ledger().RebuildProjections().ok());
  EXPECT_EQ(f.Bill("ent-a", "2024-03")->digest(), now->digest());
}

// A visit that runs past midnight at the end of a month and one the same
// worker starts just after midnight: each month's statement sees the other
// month's visit (visits are filed under the month they start in).
TEST_F(Billing, AWorkerOverlapAcrossTheEndOfAMonthIsRefusedInBothMonths) {
  f.ServedElder("E2");
  f.Expect("ent-a", ProgrammeFixture::Delivery("late", "E1", "w9", "bathing", "2024-03-31T23:30:00+08:00",
                                                "2024-04-01T00:40:00+08:00", 7001, "ent-a", 0) + "\n" +
                        ProgrammeFixture::Delivery("early", "E2", "w9", "bathing", "2024-04-01T00:10:00+08:00",
                                                   "2024-04-01T01:10:00+08:00", 7002, "ent-a", 0) + "\n" +
                        D("apart", "2024-04-02", "09:00", "10:00", "bathing", 0, "w9"));
  auto march = f.Bill("ent-a", "2024-03");
  auto april = f.Bill("ent-a", "2024-04");
  ASSERT_NE(march, nullptr);
  ASSERT_NE(april, nullptr);
  EXPECT_EQ(Lines(*march).at("late").getRefusal(), R::WORKER_OVERLAP);
  auto l = Lines(*april);
  EXPECT_EQ(l.at("early").getRefusal(), R::WORKER_OVERLAP);
  EXPECT_EQ(l.at("apart").getRefusal(), R::NONE);
}

TEST_F(Billing, AnEvaluatorRecomputesFromAnExportAlone) {
  f.Expect("ent-a", D("d1", "2024-03-01", "09:00", "10:00") + "\n" + D("d2", "2024-03-02", "09:00", "09:10"));
  uint64_t mid = f.ledger().Size();
  f.Expect("ent-a", D("d3", "2024-03-03", "09:00", "10:00"));
  ASSERT_TRUE(f.ledger().MakeCheckpoint(f.base().op_key).ok());
  std::string out = f.base().dir.Sub("export");
  ASSERT_TRUE(WriteExport(f.ledger(), out).ok());
  auto restored = f.RestoreCopy(out, "restored");
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(*(*restored)->RootAt((*restored)->Size()), *f.ledger().RootAt(f.ledger().Size()));
  auto view = (*restored)->Projections();
  ASSERT_TRUE(view.ok());
  for (uint64_t size : {mid, f.ledger().Size()}) {
    proj::Snapshot theirs(*view->state, view->size, size);
    auto st = proj::ComputeStatement(theirs, "ent-a", "2024-03");
    ASSERT_TRUE(st.ok());
    EXPECT_EQ((*st)->digest(), f.Bill("ent-a", "2024-03", static_cast<int64_t>(size))->digest());
    EXPECT_EQ(proj::ComputeDigest(theirs).digest, proj::ComputeDigest(*f.Snap(static_cast<int64_t>(size)).snap).digest);
  }
  // A tampered export is not restored.
  std::string bin = *ReadFile(out + "/entries.bin");
  bin[bin.size() - 20] ^= 1;
  std::ofstream(out + "/entries.bin", std::ios::binary | std::ios::trunc) << bin;
  auto bad = f.RestoreCopy(out, "restored2");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kCorruption);
}

TEST_F(Billing, UnknownEnterpriseAndBadMonthAreErrors) {
  auto v = f.Snap();
  EXPECT_EQ(proj::ComputeStatement(*v.snap, "ent-zz", "2024-03").status().code(), Status::Code::kNotFound);
  EXPECT_EQ(proj::ComputeStatement(*v.snap, "ent-a", "2024-13").status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace eldercare
