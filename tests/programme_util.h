// A ledger with the programme's projection, every role's actor registered,
// and the default policy published: the starting point of domain tests.
#ifndef ELDERCARE_TESTS_PROGRAMME_UTIL_H_
#define ELDERCARE_TESTS_PROGRAMME_UTIL_H_

#include <functional>
#include <string>

#include "ledger/crypto.h"
#include "ledger/export.h"
#include "ledger/time_util.h"
#include "projections/billing.h"
#include "projections/digest.h"
#include "projections/eligibility.h"
#include "projections/fold.h"
#include "tests/test_util.h"

namespace eldercare::testing {

inline std::string DefaultPolicyPath() { return std::string(ELDERCARE_SOURCE_DIR) + "/projections/policy/default-policy.json"; }

class ProgrammeFixture {
 public:
  // `tune` may change the ledger's options (the projector is set).
  explicit ProgrammeFixture(bool publish_policy = true, const std::function<void(LedgerOptions&)>& tune = {})
      : fixture_(Options(tune)) {
    for (auto [actor, role] : std::vector<std::pair<std::string, schema::Role>>{
             {"bureau", schema::Role::BUREAU}, {"com-1", schema::Role::COMMUNITY}, {"com-2", schema::Role::COMMUNITY},
             {"sub-1", schema::Role::SUBDISTRICT}, {"assessor", schema::Role::ASSESSOR},
             {"ent-a", schema::Role::ENTERPRISE}, {"ent-b", schema::Role::ENTERPRISE},
             {"insp", schema::Role::INSPECTOR}, {"fin", schema::Role::FINANCE}, {"eval", schema::Role::EVALUATOR}}) {
      fixture_.Register(actor, role);
    }
    if (publish_policy) {
      auto text = ReadFile(DefaultPolicyPath());
      EXPECT_TRUE(text.ok());
      Expect("bureau", *text);
    }
  }

  Result<AppendResult> Submit(const std::string& actor, const std::string& jsonl) {
    return fixture_.AppendJson(actor, fixture_.keys.at(actor), jsonl, "s" + std::to_string(++counter_));
  }
  AppendResult Expect(const std::string& actor, const std::string& jsonl) {
    auto r = Submit(actor, jsonl);
    EXPECT_TRUE(r.ok()) << r.status().ToString() << "\n" << jsonl;
    return r.ok() ? *r : AppendResult{};
  }
  // Expects a rejection whose message contains `fragment`, and no change.
  void Reject(const std::string& actor, const std::string& jsonl, const std::string& fragment) {
    uint64_t size = ledger().Size();
    auto r = Submit(actor, jsonl);
    ASSERT_FALSE(r.ok()) << "accepted: " << jsonl;
    EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message() << "\nwanted: " << fragment;
    EXPECT_EQ(ledger().Size(), size);
  }

  Ledger& ledger() { return *fixture_.ledger; }
  LedgerFixture& base() { return fixture_; }

  // Projection snapshot at `size` (default: now).
  struct View {
    ProjectionView view;
    std::unique_ptr<proj::Snapshot> snap;
  };
  View Snap(int64_t size = -1) {
    auto v = ledger().Projections();
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    View out{std::move(*v), nullptr};
    out.snap = std::make_unique<proj::Snapshot>(*out.view.state, out.view.size,
                                                size < 0 ? out.view.size : static_cast<uint64_t>(size));
    return out;
  }
  proj::Eligibility Elig(const std::string& elder, const std::string& programme, const std::string& day, int64_t size = -1) {
    auto v = Snap(size);
    return proj::QueryEligibility(*v.snap, proj::LoadPolicies(*v.snap), elder, programme, *ParseDate(day));
  }
  std::unique_ptr<proj::Statement> Bill(const std::string& ent, const std::string& month, int64_t size = -1) {
    auto v = Snap(size);
    auto st = proj::ComputeStatement(*v.snap, ent, month);
    EXPECT_TRUE(st.ok()) << st.status().ToString();
    return st.ok() ? std::move(*st) : nullptr;
  }

  // Standard set-up: enterprise ent-a contracted for com-1, elder registered.
  void EnterpriseAndContract(const std::string& ent = "ent-a", const std::string& community = "com-1",
                             const std::string& from = "2024-01-01", const std::string& until = "2024-12-31") {
    Expect("bureau", R"({"type":"enterprise_registered","enterprise_id":")" + ent + R"(","name":"企业 )" + ent +
                         R"(","registered_on":"2024-01-01"})" + "\n" +
                         R"({"type":"contract_signed","contract_id":"ct-)" + ent + R"(","enterprise_id":")" + ent +
                         R"(","communities":[")" + community +
                         R"("],"programmes":["home_visit","meal_aid"],"valid_from":")" + from + R"(","valid_until":")" +
                         until + R"(","confidentiality_agreement":")" + std::string(64, 'a') +
                         R"(","signed_on":"2024-01-01"})");
  }
  void Elder(const std::string& id, const std::string& birth, const std::string& community = "com-1",
             const std::string& district = "dawukou") {
    Expect(community == "com-2" ? "com-2" : "com-1",
           R"({"type":"elder_registered","elder_id":")" + id + R"(","household_district":")" + district +
               R"(","community":")" + community + R"(","birth_date":")" + birth + R"(","registered_on":"2024-01-02"})");
  }
  void Circumstance(const std::string& elder, const std::string& c, const std::string& on, const std::string& change = "begins") {
    Expect("com-1", R"({"type":"circumstance_recorded","elder_id":")" + elder + R"(","circumstance":")" + c +
                        R"(","change":")" + change + R"(","effective_on":")" + on + "\"}");
  }
  // An assessment with the given GB/T total (split across dimensions).
  void Assess(const std::string& elder, const std::string& id, int total, const std::string& level,
              const std::string& on = "2024-01-05", bool dementia = false) {
    int self = std::min(total, 32), mob = std::min(total - self, 15), mental = std::min(total - self - mob, 28),
        per = total - self - mob - mental;
    Expect("assessor", R"({"type":"assessment_recorded","elder_id":")" + elder + R"(","assessment_id":")" + id +
                           R"(","assessed_on":")" + on + R"(","valid_until":"2025-12-31","self_care":)" +
                           std::to_string(self) + R"(,"mobility":)" + std::to_string(mob) + R"(,"mental":)" +
                           std::to_string(mental) + R"(,"perception":)" + std::to_string(per) +
                           R"(,"dementia":)" + (dementia ? "true" : "false") + R"(,"level":")" + level + "\"}");
  }
  // An evaluator's copy: the export at `export_dir` verified and restored
  // into a new ledger named `name`, with the programme's projections.
  Result<std::unique_ptr<Ledger>> RestoreCopy(const std::string& export_dir, const std::string& name) {
    static proj::ProgrammeProjector projector;
    LedgerOptions o;
    o.projector = &projector;
    return RestoreExport(export_dir, base().dir.Sub(name), o);
  }
  // The usual test elder: born 1930 in com-1, assessed moderate (50),
  // approved for home visits from 2024-01-10.
  void ServedElder(const std::string& id) {
    Elder(id, "1930-01-01");
    Assess(id, "a-" + id, 50, "moderate");
    Approve(id, "home_visit", "app-" + id);
  }
  // Application through all three reviews, approved from `from`.
  void Approve(const std::string& elder, const std::string& programme, const std::string& app,
               const std::string& from = "2024-01-10") {
    Expect("com-1", R"({"type":"application_submitted","application_id":")" + app + R"(","elder_id":")" + elder +
                        R"(","programme":")" + programme + R"(","filed_by":"family","filed_on":"2024-01-06"})");
    Expect("com-1", R"({"type":"community_review","application_id":")" + app + R"(","decision":"pass","reviewed_on":"2024-01-07"})");
    Expect("sub-1", R"({"type":"subdistrict_review","application_id":")" + app + R"(","decision":"pass","reviewed_on":"2024-01-08"})");
    Expect("bureau", R"({"type":"application_decided","application_id":")" + app +
                         R"(","decision":"pass","effective_from":")" + from + R"(","decided_on":"2024-01-09"})");
  }
  static std::string Delivery(const std::string& id, const std::string& elder, const std::string& worker,
                              const std::string& service, const std::string& in, const std::string& out,
                              int evidence, const std::string& ent = "ent-a", int units = 0,
                              const std::string& programme = "home_visit") {
    char ev[65];
    std::snprintf(ev, sizeof ev, "%064x", evidence);
    return R"({"type":"service_delivered","delivery_id":")" + id + R"(","elder_id":")" + elder +
           R"(","enterprise_id":")" + ent + R"(","worker_id":")" + worker + R"(","service":")" + service +
           R"(","programme":")" + programme + R"(","check_in":")" + in + R"(","check_out":")" + out +
           R"(","evidence":")" + ev + "\"" + (units ? ",\"units\":" + std::to_string(units) : "") + "}";
  }
  // The world MarchDelivery's deliveries are made in: ent-a under contract
  // for com-1, and E1, E2 and E3 approved for home visits.
  void MarchWorld() {
    EnterpriseAndContract("ent-a", "com-1");
    for (const char* e : {"E1", "E2", "E3"}) ServedElder(e);
  }
  // The nth of a stream of ent-a's March 2024 deliveries to E1, E2 or E3 by
  // one of 40 workers, unique by id and evidence (the crash campaigns').
  static std::string MarchDelivery(const std::string& id, int n) {
    int day = 1 + n % 28, hour = 8 + n % 9;
    char in[40], out[40];
    std::snprintf(in, sizeof in, "2024-03-%02dT%02d:%02d:00+08:00", day, hour, (n * 7) % 50);
    std::snprintf(out, sizeof out, "2024-03-%02dT%02d:%02d:00+08:00", day, hour + 1, (n * 7) % 50);
    const char* elders[] = {"E1", "E2", "E3"};
    return Delivery(id, elders[n % 3], "w" + std::to_string(n % 40), n % 2 ? "bathing" : "cleaning", in, out,
                    100000 + n);
  }
  // A spot-check plan of ent-a's `month` (or `enterprises`, a JSON list):
  // `sample` is `"sample_size":N` or `"sample_permille":N`; the root is
  // written as given (64 hex digits), never checked by the write side.
  static std::string SpotCheckPlan(const std::string& plan_id, const std::string& month, const std::string& sample,
                                   uint64_t checkpoint_size, const std::string& root_hex,
                                   const std::string& planned_on, const std::string& enterprises = R"(["ent-a"])") {
    return R"({"type":"spot_check_planned","plan_id":")" + plan_id + R"(","enterprises":)" + enterprises +
           R"(,"month":")" + month + R"(",)" + sample + R"(,"checkpoint_size":)" + std::to_string(checkpoint_size) +
           R"(,"checkpoint_root":")" + root_hex + R"(","planned_on":")" + planned_on + R"("})";
  }

 private:
  static LedgerOptions Options(const std::function<void(LedgerOptions&)>& tune) {
    static proj::ProgrammeProjector projector;
    LedgerOptions o;
    o.projector = &projector;
    if (tune) tune(o);
    return o;
  }
  LedgerFixture fixture_;
  int counter_ = 0;
};

}  // namespace eldercare::testing

#endif  // ELDERCARE_TESTS_PROGRAMME_UTIL_H_
