#include "benchmarks/workload.h"

#include <fstream>
#include <sstream>

#include "ledger/crypto.h"
#include "ledger/time_util.h"

namespace eldercare::bench {
namespace {

Status Submit(Ledger& l, const std::string& writer, const PrivateKey& key, const std::string& jsonl) {
  SubmissionBuilder b(writer);
  std::istringstream in(jsonl);
  ELDERCARE_RETURN_IF_ERROR(b.AddJsonLines(in));
  auto r = l.Append(b.Sign(key));
  return r.ok() ? Status::Ok() : r.status();
}

std::string KeyJson(const std::string& actor, const char* role, const PrivateKey& k) {
  return R"({"type":"key_registered","actor_id":")" + actor + R"(","role":")" + role + R"(","public_key":")" +
         k.public_key().ToBase64() + "\"}\n";
}

}  // namespace

Workload::Workload(size_t enterprises, size_t elders, uint32_t seed, uint64_t per_day)
    : rng_(seed), bureau_(*PrivateKey::Generate()), per_day_(std::max<uint64_t>(1, per_day)) {
  for (size_t i = 0; i < enterprises; ++i) {
    enterprises_.push_back("ent-" + std::to_string(i));
    enterprise_keys_.push_back(*PrivateKey::Generate());
  }
  for (size_t i = 0; i < elders; ++i) elders_.push_back("E" + std::to_string(i));
  submission_prefix_ = "b" + std::to_string(seed) + "-";
}

Status Workload::Setup(Ledger& l, const PrivateKey& op) {
  const PrivateKey& bureau = bureau_;
  PrivateKey community = *PrivateKey::Generate(),
             subdistrict = *PrivateKey::Generate(), assessor = *PrivateKey::Generate();
  std::string keys = KeyJson("bureau", "bureau", bureau) + KeyJson("com", "community", community) +
                     KeyJson("sub", "subdistrict", subdistrict) + KeyJson("assessor", "assessor", assessor);
  for (size_t i = 0; i < enterprises_.size(); ++i) keys += KeyJson(enterprises_[i], "enterprise", enterprise_keys_[i]);
  ELDERCARE_RETURN_IF_ERROR(Submit(l, "operator", op, keys));
  std::ifstream policy(std::string(ELDERCARE_SOURCE_DIR) + "/projections/policy/default-policy.json");
  std::stringstream ps;
  ps << policy.rdbuf();
  ELDERCARE_RETURN_IF_ERROR(Submit(l, "bureau", bureau, ps.str()));
  std::string ents;
  for (const auto& e : enterprises_) {
    ents += R"({"type":"enterprise_registered","enterprise_id":")" + e + R"(","name":"企业","registered_on":"2024-01-01"})" "\n";
    ents += R"({"type":"contract_signed","contract_id":"ct-)" + e + R"(","enterprise_id":")" + e +
            R"(","communities":["com-0","com-1","com-2","com-3"],"programmes":["home_visit","meal_aid"],"valid_from":"2024-01-01","valid_until":"2099-12-31","confidentiality_agreement":")" +
            std::string(64, 'a') + R"(","signed_on":"2024-01-01"})" "\n";
  }
  ELDERCARE_RETURN_IF_ERROR(Submit(l, "bureau", bureau, ents));
  for (size_t start = 0; start < elders_.size(); start += 1000) {
    std::string reg, assess, apps, com_rev, sub_rev, decide;
    for (size_t i = start; i < std::min(elders_.size(), start + 1000); ++i) {
      const std::string& id = elders_[i];
      reg += R"({"type":"elder_registered","elder_id":")" + id + R"(","household_district":"dawukou","community":"com-)" +
             std::to_string(i % 4) + R"(","birth_date":"1930-01-01","registered_on":"2024-01-02"})" "\n";
      assess += R"({"type":"assessment_recorded","elder_id":")" + id + R"(","assessment_id":"a-)" + id +
                R"(","assessed_on":"2024-01-05","valid_until":"2099-01-01","self_care":20,"mobility":10,"mental":20,"perception":10,"level":"moderate"})" "\n";
      apps += R"({"type":"application_submitted","application_id":"app-)" + id + R"(","elder_id":")" + id +
              R"(","programme":"home_visit","filed_by":"family","filed_on":"2024-01-06"})" "\n";
      com_rev += R"({"type":"community_review","application_id":"app-)" + id + R"(","decision":"pass","reviewed_on":"2024-01-07"})" "\n";
      sub_rev += R"({"type":"subdistrict_review","application_id":"app-)" + id + R"(","decision":"pass","reviewed_on":"2024-01-08"})" "\n";
      decide += R"({"type":"application_decided","application_id":"app-)" + id +
                R"(","decision":"pass","effective_from":"2024-01-10","decided_on":"2024-01-09"})" "\n";
    }
    ELDERCARE_RETURN_IF_ERROR(Submit(l, "com", community, reg + apps + com_rev));
    ELDERCARE_RETURN_IF_ERROR(Submit(l, "assessor", assessor, assess));
    ELDERCARE_RETURN_IF_ERROR(Submit(l, "sub", subdistrict, sub_rev));
    ELDERCARE_RETURN_IF_ERROR(Submit(l, "bureau", bureau, decide));
  }
  return Status::Ok();
}

void Workload::FillDelivery(schema::EventBody::Builder e, size_t ent) {
  auto d = e.initServiceDelivered();
  uint64_t n = deliveries_++;
  // `per_day_` deliveries a day from 2024-01-11, at minute resolution in
  // the working hours: a bigger log is a longer history of the same
  // district, not a denser month. Each elder is served by one enterprise
  // (elder i by enterprise i mod E), as the programme assigns a provider;
  // every contract covers every community.
  int64_t base = *ParseTimestamp("2024-01-11T08:00:00+08:00");
  auto day = static_cast<int64_t>(n / per_day_);
  int64_t at = base + day * kMicrosPerDay + static_cast<int64_t>(rng_() % (10 * 3600)) * kMicrosPerSecond;
  size_t served = (elders_.size() - ent + enterprises_.size() - 1) / enterprises_.size();  // elders i with i mod E == ent
  d.setDeliveryId("d" + std::to_string(n));
  d.setElderId(elders_[ent + enterprises_.size() * (rng_() % std::max<size_t>(1, served))]);
  d.setEnterpriseId(enterprises_[ent]);
  d.setWorkerId("w" + std::to_string(rng_() % kWorkersPerEnterprise));
  d.setService("bathing");
  d.setProgramme("home_visit");
  d.setCheckIn(at);
  d.setCheckOut(at + 50 * 60 * kMicrosPerSecond);
  d.setCheckInLatMicro(39015000);
  d.setCheckInLonMicro(106399000);
  d.setCheckOutLatMicro(39015000);
  d.setCheckOutLonMicro(106399000);
  d.setCheckInDistanceM(30);
  d.setCheckOutDistanceM(30);
  uint8_t ev[32];
  for (int i = 0; i < 4; ++i) PutBigEndian64(rng_(), ev + 8 * i);
  d.setEvidence(capnp::Data::Reader(ev, 32));
  d.setUnits(1);
}

std::unique_ptr<SubmissionBuilder> Workload::Batch(size_t events) {
  size_t ent = next_enterprise_++ % enterprises_.size();
  auto b = std::make_unique<SubmissionBuilder>(enterprises_[ent]);
  for (size_t i = 0; i < events; ++i) FillDelivery(b->AddEvent(), ent);
  return b;
}

std::vector<std::unique_ptr<SubmissionBuilder>> Workload::Singles(size_t events) {
  std::vector<std::unique_ptr<SubmissionBuilder>> out;
  for (size_t i = 0; i < events; ++i) {
    size_t ent = next_enterprise_++ % enterprises_.size();
    out.push_back(std::make_unique<SubmissionBuilder>(enterprises_[ent]));
    FillDelivery(out.back()->AddEvent(), ent);
  }
  return out;
}

Result<std::unique_ptr<SubmissionBuilder>> Workload::Closes(
    uint64_t at_size, const std::function<Result<std::string>(const std::string&, const std::string&)>& digest) {
  if (deliveries_ == 0) return std::unique_ptr<SubmissionBuilder>();
  // Months before the one the next delivery falls in are complete.
  const int32_t first_day = *ParseDate("2024-01-11");
  const int32_t first = MonthOfDate(first_day);
  const int32_t open = MonthOfDate(first_day + static_cast<int32_t>(deliveries_ / per_day_));
  int32_t from = last_closed_.empty() ? first : *ParseMonth(last_closed_) + 1;
  if (from >= open) return std::unique_ptr<SubmissionBuilder>();
  std::string jsonl;
  for (int32_t m = from; m < open; ++m) {
    last_closed_ = FormatMonth(m);
    for (const auto& e : enterprises_) {
      ELDERCARE_ASSIGN_OR_RETURN(std::string hex, digest(e, last_closed_));
      jsonl += R"({"type":"billing_period_closed","enterprise_id":")" + e + R"(","month":")" + last_closed_ +
               R"(","at_size":)" + std::to_string(at_size) + R"(,"statement_digest":")" + hex +
               R"(","closed_on":")" + FormatDate(FirstDayOfMonth(m + 1)) + "\"}\n";
    }
  }
  auto b = std::make_unique<SubmissionBuilder>("bureau");
  std::istringstream in(jsonl);
  ELDERCARE_RETURN_IF_ERROR(b->AddJsonLines(in));
  return b;
}

schema::Submission::Reader Workload::Signed(SubmissionBuilder& b) {
  if (b.writer() == "bureau") return b.Sign(bureau_, submission_prefix_ + std::to_string(submissions_++));
  size_t ent = 0;
  for (size_t i = 0; i < enterprises_.size(); ++i) {
    if (enterprises_[i] == b.writer()) ent = i;
  }
  return b.Sign(enterprise_keys_[ent], submission_prefix_ + std::to_string(submissions_++));
}

}  // namespace eldercare::bench
