#include "audit-cli/demo/district.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "audit-cli/demo/people.h"
#include "ledger/client.h"
#include "ledger/event_json.h"
#include "ledger/personal.h"
#include "ledger/time_util.h"
#include "projections/billing.h"
#include "projections/eligibility.h"
#include "projections/keys.h"
#include "projections/spotcheck.h"

namespace eldercare::demo {
namespace {

namespace fs = std::filesystem;
namespace S = schema;
using nlohmann::json;

constexpr int32_t kCenterLat = 39014000, kCenterLon = 106390000;  // Dawukou, micro-degrees
constexpr int kWorkStart = 8 * 60, kWorkEnd = 18 * 60;           // minutes of the day

int32_t Round3(int32_t micro) { return static_cast<int32_t>(std::lround(micro / 1000.0)) * 1000; }

double DistanceM(int32_t lat1, int32_t lon1, int32_t lat2, int32_t lon2) {
  double dlat = (lat2 - lat1) / 1e6 * 111320.0;
  double dlon = (lon2 - lon1) / 1e6 * 111320.0 * std::cos(lat1 / 1e6 * M_PI / 180);
  return std::sqrt(dlat * dlat + dlon * dlon);
}

std::string Hex32(std::mt19937_64& rng) {
  uint8_t b[32];
  for (int i = 0; i < 4; ++i) PutBigEndian64(rng(), b + 8 * i);
  return HexEncode(ByteSpan(b, 32));
}

struct Community {
  std::string id, name, subdistrict;
  int32_t lat = 0, lon = 0;
  size_t enterprise = 0;
};

struct Elder {
  std::string id;
  int32_t birth = 0;
  bool female = false;
  size_t community = 0;
  int32_t lat = 0, lon = 0;
  bool household = true;
  std::set<S::Circumstance> circumstances;
  int ability = -1;  // S::AbilityLevel, -1 = not assessed (intact)
  bool dementia = false;
  int32_t death = 0;         // date of death, 0 = lives on
  bool death_recorded = false;
  std::set<std::string> programmes;  // approved and assigned (service programmes)
  int32_t served_from = 0;
  size_t enterprise = 0;     // serving enterprise
};

struct Enterprise {
  std::string id, name;
  std::vector<size_t> communities;
  ExitRecord exit;   // what the exit mechanism did to it, and what it paid back
  bool bad = false;  // writes ghost visits; the exit mechanism should catch it
};

struct Visit {
  size_t elder;
  std::string service, programme;
  int minutes;
  uint32_t units;
  bool ghost = false;  // claimed, never made
};

// One delivery as it will be written (fraud mutates these before writing).
struct Planned {
  std::string id;
  size_t elder;
  std::string worker;
  Visit v;
  int64_t in, out;
  int32_t in_lat, in_lon;
  uint32_t in_distance;
  std::string evidence;      // hex
  int64_t planned_start = 0;  // 0: the check-in's own five minutes
};

class District {
 public:
  District(const DistrictOptions& o, const Projector* projector)
      : o_(o), projector_(projector), rng_(o.seed), clock_(std::make_shared<std::atomic<int64_t>>(0)) {}

  Result<DistrictReport> Run(const std::string& ledger_dir);

 private:
  // --- plumbing ---
  void Progress(const std::string& s) {
    if (o_.progress) o_.progress(s);
  }
  double Uniform() { return std::uniform_real_distribution<double>(0, 1)(rng_); }
  size_t Pick(size_t n) { return static_cast<size_t>(rng_() % n); }
  std::string Id(const char* prefix) { return std::string(prefix) + std::to_string(++serial_); }
  static int64_t Instant(int32_t day, int minutes) {
    return (int64_t{day} * 1440 + minutes - 8 * 60) * 60 * kMicrosPerSecond;  // minutes of China time
  }
  void At(int32_t day, int minutes) {
    if (Instant(day, minutes) > clock_->load()) clock_->store(Instant(day, minutes));
  }
  Status Submit(const std::string& actor, const std::vector<json>& events);
  Status SubmitBatches(const std::string& actor, const std::vector<json>& events, size_t per_submission = 2000) {
    for (size_t i = 0; i < events.size(); i += per_submission) {
      std::vector<json> part(events.begin() + i, events.begin() + std::min(events.size(), i + per_submission));
      ELDERCARE_RETURN_IF_ERROR(Submit(actor, part));
    }
    return Status::Ok();
  }
  Status Flush(std::vector<std::unique_ptr<SubmissionBuilder>>& pending);

  // --- phases ---
  Status Actors();
  Status PolicyAndEnterprises();
  Status Elders();
  Status Assess(int32_t on, const std::string& round);
  Status Applications();
  void PlanMonth(int32_t month);
  Status Day(int32_t day);
  Status CallsAndSpotChecks(int32_t month, bool tail);
  Status Close(int32_t month);
  Status SpotResults(int32_t month);
  Status Money(int32_t month, bool pay);
  Status Recoveries(int32_t month);
  Status ExitMechanism(int32_t month);
  Status WriteOutputs();

  std::vector<Planned> Round(size_t ent, int32_t day, std::vector<Visit>& visits);
  void Fraud(size_t ent, int32_t day, std::vector<Planned>& day_plan);
  void Write(const std::string& ent, const Planned& p, S::ServiceDelivered::Builder d);
  void Truth(const std::string& pattern, size_t ent, int32_t day, size_t elder, std::vector<std::string> ids) {
    truth_.push_back({pattern, enterprises_[ent].id, FormatMonth(MonthOfDate(day)),
                      elder < elders_.size() ? elders_[elder].id : "", std::move(ids)});
  }
  bool Alive(const Elder& e, int32_t day) const { return e.death == 0 || day < e.death; }
  static bool Covers(const Enterprise& e, size_t community) {
    return std::find(e.communities.begin(), e.communities.end(), community) != e.communities.end();
  }
  bool Delivering(const Enterprise& e, int32_t day) const {
    return (e.exit.exited_from == 0 || day < e.exit.exited_from) &&
           (e.exit.suspended_from == 0 || day < e.exit.suspended_from);
  }

  DistrictOptions o_;
  const Projector* projector_;
  std::mt19937_64 rng_;
  std::shared_ptr<std::atomic<int64_t>> clock_;
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<KeyStore> keys_;
  std::map<std::string, PrivateKey> actors_;
  std::vector<Community> communities_;
  std::vector<Elder> elders_;
  std::vector<Enterprise> enterprises_;
  std::map<size_t, std::vector<size_t>> served_;  // enterprise -> elders
  std::vector<TruthCase> truth_;
  DistrictReport report_;
  uint64_t serial_ = 0;
  int32_t first_day_ = 0;
  size_t assessed_ = 0;
  // The month being delivered: home-visit days per elder, who will be
  // called, ghost visits, and what was delivered (for the calls).
  std::map<size_t, std::vector<int32_t>> visit_days_;
  std::map<size_t, int> ghosts_planned_;
  std::set<size_t> called_;
  std::map<std::pair<size_t, size_t>, int> delivered_;  // (enterprise, elder) -> deliveries this month
  std::map<std::pair<size_t, size_t>, int> ghosted_;
  std::set<size_t> last_called_;
  std::map<std::pair<size_t, size_t>, int> last_delivered_, last_ghosted_;
  // What the called elders saw themselves (not the ghost visits): their answers.
  struct Seen {
    std::vector<int> minutes;
    std::set<std::string> workers;
  };
  std::map<std::pair<size_t, size_t>, Seen> seen_, last_seen_;
  std::map<std::string, int32_t> ghost_ids_;  // delivery id -> the day it claims
  std::map<size_t, int> after_death_left_;          // elder -> visits still to claim after death
  std::vector<std::string> evidence_pool_;          // earlier evidence hashes (for reuse fraud)
  std::set<std::string> id_numbers_;
  std::vector<uint64_t> spot_failed_, spot_total_;  // per enterprise, rolling
  std::vector<std::vector<uint64_t>> spot_evidence_;
  std::vector<int32_t> first_failure_;  // per enterprise: the earliest visit its latest samples found not delivered
  std::vector<json> spot_results_;  // drawn on the 2nd, recorded on the 6th
  std::map<int32_t, std::vector<std::pair<size_t, int64_t>>> closed_totals_;  // month -> (enterprise, billed)
};

Status District::Submit(const std::string& actor, const std::vector<json>& events) {
  if (events.empty()) return Status::Ok();
  SubmissionBuilder b(actor);
  for (const json& e : events) ELDERCARE_RETURN_IF_ERROR(events::EventFromJson(e, b.AddEvent()).WithPrefix(actor + ": "));
  auto r = ledger_->Append(b.Sign(actors_.at(actor), Id("sub-")));
  if (!r.ok()) return r.status().WithPrefix(actor + " (" + events.front().value("type", "?") + "): ");
  report_.events += events.size();
  ++report_.submissions;
  return Status::Ok();
}

Status District::Flush(std::vector<std::unique_ptr<SubmissionBuilder>>& pending) {
  std::vector<S::Submission::Reader> subs;
  for (auto& b : pending) {
    if (b->size() > 0) subs.push_back(b->Sign(actors_.at(b->writer()), Id("day-")));
  }
  for (auto& r : ledger_->AppendMany(subs)) {
    if (!r.ok()) return r.status().WithPrefix("daily upload: ");
    report_.events += r->count;
    report_.deliveries += r->count;
    ++report_.submissions;
  }
  pending.clear();
  return Status::Ok();
}

// --- Actors and keys -------------------------------------------------------------

Status District::Actors() {
  std::vector<std::pair<std::string, std::string>> roles = {{"bureau-dawukou", "bureau"}, {"assessor-1", "assessor"},
                                                            {"assessor-2", "assessor"}, {"inspector-1", "inspector"},
                                                            {"inspector-2", "inspector"}, {"finance-city", "finance"},
                                                            {"finance-district", "finance"}, {"evaluator-1", "evaluator"}};
  for (int s = 1; s <= 4; ++s) roles.push_back({"subdistrict-" + std::to_string(s), "subdistrict"});
  for (const auto& c : communities_) roles.push_back({c.id, "community"});
  for (const auto& e : enterprises_) roles.push_back({e.id, "enterprise"});
  fs::create_directories(fs::path(o_.out_dir) / "keys");
  std::vector<json> regs;
  for (const auto& [id, role] : roles) {
    Hash seed = Sha256(AsBytes("eldercare demo key v1|" + std::to_string(o_.seed) + "|" + id));
    ELDERCARE_ASSIGN_OR_RETURN(PrivateKey k, PrivateKey::FromSeed(seed));
    std::string path = (fs::path(o_.out_dir) / "keys" / (id + ".pem")).string();
    fs::remove(path);
    ELDERCARE_RETURN_IF_ERROR(k.SavePemFile(path));
    regs.push_back({{"type", "key_registered"}, {"actor_id", id}, {"role", role}, {"public_key", k.public_key().ToBase64()}});
    actors_.emplace(id, k);
  }
  return SubmitBatches("operator", regs);
}

// --- Policy, enterprises, contracts ---------------------------------------------

Status District::PolicyAndEnterprises() {
  ELDERCARE_ASSIGN_OR_RETURN(std::string policy, ReadFile(std::string(ELDERCARE_SOURCE_DIR) + "/projections/policy/default-policy.json"));
  json p = json::parse(policy, nullptr, false);
  if (!p.is_array() || p.empty()) return Status::Corruption("the default policy is not a JSON array");
  At(first_day_ - 10, 10 * 60);
  ELDERCARE_RETURN_IF_ERROR(Submit("bureau-dawukou", {p[0]}));
  std::vector<json> events;
  std::string until = FormatDate(FirstDayOfMonth(*ParseMonth(o_.start) + static_cast<int32_t>(o_.months) + 12) - 1);
  for (size_t i = 0; i < enterprises_.size(); ++i) {
    const Enterprise& e = enterprises_[i];
    json comms = json::array();
    for (size_t c : e.communities) comms.push_back(communities_[c].id);
    events.push_back({{"type", "enterprise_registered"}, {"enterprise_id", e.id}, {"name", e.name},
                      {"credit_code", "91640202MA76" + std::to_string(1000 + i) + "X"},
                      {"registered_on", FormatDate(first_day_ - 30)}});
    events.push_back({{"type", "contract_signed"}, {"contract_id", "ct-" + e.id}, {"enterprise_id", e.id},
                      {"communities", comms}, {"programmes", {"home_visit", "meal_aid"}},
                      {"valid_from", FormatDate(first_day_)}, {"valid_until", until},
                      {"confidentiality_agreement", Hex32(rng_)}, {"signed_on", FormatDate(first_day_ - 12)}});
  }
  return Submit("bureau-dawukou", events);
}

// --- Elders ------------------------------------------------------------------------

Status District::Elders() {
  // Dawukou's pyramid of 60+ (seed 003): 22,000 / 14,800 / 5,800 / 300 / 5.
  const std::vector<std::pair<int, double>> bands = {{60, 22000}, {70, 14800}, {80, 5800}, {90, 300}, {100, 5}};
  double total = 0;
  for (auto& b : bands) total += b.second;
  int y;
  unsigned m, d;
  CivilFromDays(first_day_, &y, &m, &d);
  for (uint32_t i = 0; i < o_.elders; ++i) {
    double r = Uniform() * total;
    int base = 100;
    for (auto& b : bands) {
      if (r < b.second) {
        base = b.first;
        break;
      }
      r -= b.second;
    }
    int age = base + static_cast<int>(Pick(base >= 100 ? 4 : 10));
    Elder e;
    char id[16];
    std::snprintf(id, sizeof id, "E%06u", i + 1);
    e.id = id;
    e.female = Uniform() < 0.54;
    // One draw per statement (argument order is unspecified; the same seed
    // must give the same district whichever compiler built the program).
    auto birth_month = 1 + static_cast<unsigned>(Pick(12));
    auto birth_day = 1 + static_cast<unsigned>(Pick(28));
    e.birth = DaysFromCivil(y - age - 1, birth_month, birth_day);
    e.birth += static_cast<int32_t>(Pick(200));
    e.community = Pick(communities_.size());
    const Community& c = communities_[e.community];
    e.lat = Round3(c.lat + static_cast<int32_t>(Pick(8000)) - 4000);
    e.lon = Round3(c.lon + static_cast<int32_t>(Pick(8000)) - 4000);
    e.household = Uniform() < 0.97;
    double frail = age < 70 ? 0.04 : age < 80 ? 0.10 : age < 90 ? 0.25 : 0.45;  // ~9% overall (3,953 / 42,900)
    if (Uniform() < frail) {
      e.ability = 1 + static_cast<int>(Pick(age >= 85 ? 4 : 3));
      e.dementia = Uniform() < 0.15;
      if (Uniform() < 0.03) e.circumstances.insert(S::Circumstance::INSTITUTION_NURSING_SUBSIDY);
      if (Uniform() < 0.02) e.circumstances.insert(S::Circumstance::LTC_INSURANCE);
    }
    auto maybe = [&](double p, S::Circumstance c) {
      if (Uniform() < p) e.circumstances.insert(c);
    };
    maybe(0.535, S::Circumstance::EMPTY_NEST);  // 22,945 / 42,900
    maybe(0.009, S::Circumstance::LEFT_BEHIND);  // 380
    maybe(age >= 75 ? 0.14 : 0.06, S::Circumstance::LIVES_ALONE);
    maybe(0.03, S::Circumstance::DIBAO);
    maybe(0.02, S::Circumstance::NEAR_DIBAO);
    maybe(0.006, S::Circumstance::EXTREME_POVERTY);
    maybe(0.06, S::Circumstance::LOW_INCOME);
    maybe(0.005, S::Circumstance::LOST_ONLY_CHILD);
    maybe(0.012, S::Circumstance::FAMILY_PLANNING_SPECIAL);
    maybe(0.002, S::Circumstance::MODEL_WORKER);
    maybe(0.001, S::Circumstance::DISABLED_ON_DUTY);
    maybe(0.0005, S::Circumstance::BRAVE_DEED);
    double mortality = (age < 70 ? 0.01 : age < 80 ? 0.03 : age < 90 ? 0.08 : 0.2) * o_.months / 12.0;
    if (Uniform() < mortality) e.death = first_day_ + 20 + static_cast<int32_t>(Pick(o_.months * 30 - 25));
    elders_.push_back(std::move(e));
  }
  report_.elders = elders_.size();
  // Registration by each community, personal data sealed, in batches.
  At(first_day_ - 9, 9 * 60);
  std::map<size_t, std::vector<size_t>> by_community;
  for (size_t i = 0; i < elders_.size(); ++i) by_community[elders_[i].community].push_back(i);
  for (auto& [c, members] : by_community) {
    for (size_t start = 0; start < members.size(); start += 1000) {
      std::vector<size_t> part(members.begin() + start, members.begin() + std::min(members.size(), start + 1000));
      std::vector<std::string> ids;
      for (size_t i : part) ids.push_back(elders_[i].id);
      ELDERCARE_ASSIGN_OR_RETURN(auto dks, keys_->CreateMany(ids));
      SubmissionBuilder b(communities_[c].id);
      for (size_t k = 0; k < part.size(); ++k) {
        const Elder& e = elders_[part[k]];
        auto r = b.AddEvent().initElderRegistered();
        r.setElderId(e.id);
        r.setHouseholdDistrict(e.household ? "dawukou" : "pingluo");
        r.setSubdistrict(communities_[c].subdistrict);
        r.setCommunity(communities_[c].id);
        r.setBirthDate(e.birth);
        r.setSex(e.female ? S::Sex::FEMALE : S::Sex::MALE);
        r.setHomeLatMicro(e.lat);
        r.setHomeLonMicro(e.lon);
        r.setRegisteredOn(first_day_ - 9);
        int by;
        unsigned bm, bd;
        CivilFromDays(e.birth, &by, &bm, &bd);
        std::string id_number;
        do {
          id_number = FakeIdNumber(rng_, "640202", by, bm, bd, e.female);
        } while (!id_numbers_.insert(id_number).second);  // one person, one number
        PersonalData p{FakeName(rng_, e.female), id_number, FakePhone(rng_), FakeAddress(rng_, communities_[c].name), ""};
        ELDERCARE_RETURN_IF_ERROR(SealPersonalWith(*keys_, dks[k], p, r));
      }
      auto res = ledger_->Append(b.Sign(actors_.at(communities_[c].id), Id("reg-")));
      if (!res.ok()) return res.status().WithPrefix("registering elders: ");
      report_.events += res->count;
      ++report_.submissions;
    }
  }
  // Circumstances certified by the community; assessments by the assessors.
  At(first_day_ - 8, 9 * 60);
  for (auto& [c, members] : by_community) {
    std::vector<json> events;
    for (size_t i : members) {
      for (S::Circumstance circ : elders_[i].circumstances) {
        events.push_back({{"type", "circumstance_recorded"}, {"elder_id", elders_[i].id},
                          {"circumstance", proj::CircumstanceName(circ)}, {"change", "begins"},
                          {"effective_on", FormatDate(first_day_ - 400 - static_cast<int32_t>(Pick(2000)))},
                          {"certificate", Hex32(rng_)}});
      }
    }
    ELDERCARE_RETURN_IF_ERROR(SubmitBatches(communities_[c].id, events));
  }
  ELDERCARE_RETURN_IF_ERROR(Assess(first_day_ - 20, ""));
  Progress("registered " + std::to_string(elders_.size()) + " elders (personal data sealed), their circumstances and " +
           std::to_string(assessed_) + " assessments");
  return Status::Ok();
}

// GB/T 42195 assessments of every elder with a care need, valid a year:
// first before the programme starts, then again before each runs out
// (reassessment at least every 12 months is local practice).
Status District::Assess(int32_t on, const std::string& round) {
  std::vector<json> assessments[2];
  for (size_t i = 0; i < elders_.size(); ++i) {
    const Elder& e = elders_[i];
    if (e.ability < 0 || (e.death && e.death <= on)) continue;
    // Scores that give the intended level (dementia raises it by one).
    int level = e.dementia ? std::max(1, e.ability - 1) : e.ability;
    int total = level == 1 ? 66 + static_cast<int>(Pick(20)) : level == 2 ? 46 + static_cast<int>(Pick(18))
              : level == 3 ? 30 + static_cast<int>(Pick(14)) : static_cast<int>(Pick(28));
    int sc = std::min(total, 32), mo = std::min(total - sc, 15), me = std::min(total - sc - mo, 28), pe = total - sc - mo - me;
    static const char* kLevels[] = {"intact", "mild", "moderate", "severe", "complete"};
    int shown = std::min(4, level + (e.dementia ? 1 : 0));
    assessments[i % 2].push_back({{"type", "assessment_recorded"}, {"elder_id", e.id}, {"assessment_id", "GB-" + e.id + round},
                                  {"assessed_on", FormatDate(on)}, {"valid_until", FormatDate(on + 365)},
                                  {"self_care", sc}, {"mobility", mo}, {"mental", me}, {"perception", pe},
                                  {"dementia", e.dementia}, {"level", kLevels[shown]}});
  }
  ELDERCARE_RETURN_IF_ERROR(SubmitBatches("assessor-1", assessments[0]));
  ELDERCARE_RETURN_IF_ERROR(SubmitBatches("assessor-2", assessments[1]));
  assessed_ += assessments[0].size() + assessments[1].size();
  return Status::Ok();
}

// --- Applications through the three reviews ---------------------------------------

Status District::Applications() {
  auto view = ledger_->Projections();
  if (!view.ok()) return view.status();
  proj::Snapshot snap(*view->state, view->size, view->size);
  auto policies = proj::LoadPolicies(snap);
  const auto* policy_rec = proj::PolicyOn(policies, first_day_ + 14);
  S::PolicyPublished::Reader policy = policy_rec->get().getPolicy();
  struct App {
    size_t elder;
    std::string programme, id, filer;
    bool eligible;
  };
  std::vector<App> apps;
  const std::map<std::string, double> uptake = {{"home_visit", 0.85}, {"meal_aid", 0.20}, {"care_subsidy", 0.6},
                                                {"high_age_allowance", 0.7}};
  for (size_t i = 0; i < elders_.size(); ++i) {
    auto facts = proj::LoadElder(snap, elders_[i].id);
    for (auto prog : policy.getProgrammes()) {
      std::string pid = proj::Str(prog.getId());
      auto e = proj::Evaluate(*facts, &policy, pid, first_day_ + 14);
      bool eligible = !e.reasons.empty() && e.reasons.size() == 1 && e.reasons[0].code == "not_approved";
      double p = eligible ? uptake.at(pid) : 0.004;  // a few ineligible apply too, and are turned down
      if (Uniform() < p) apps.push_back({i, pid, Id("APP-"), Uniform() < 0.6 ? "enterprise" : "family", eligible});
    }
  }
  At(first_day_ - 6, 9 * 60);
  std::map<std::string, std::vector<json>> filed;  // by filer actor
  for (const App& a : apps) {
    const Elder& e = elders_[a.elder];
    std::string actor = a.filer == "enterprise" ? enterprises_[communities_[e.community].enterprise].id : communities_[e.community].id;
    filed[actor].push_back({{"type", "application_submitted"}, {"application_id", a.id}, {"elder_id", e.id},
                            {"programme", a.programme}, {"filed_by", a.filer}, {"filed_on", FormatDate(first_day_ - 6)}});
  }
  for (auto& [actor, events] : filed) ELDERCARE_RETURN_IF_ERROR(SubmitBatches(actor, events));
  // Community, subdistrict and bureau in turn; the community turns down the ineligible.
  At(first_day_ - 4, 9 * 60);
  std::map<std::string, std::vector<json>> community, subdistrict;
  std::vector<json> decisions;
  for (const App& a : apps) {
    const Community& c = communities_[elders_[a.elder].community];
    community[c.id].push_back({{"type", "community_review"}, {"application_id", a.id},
                               {"decision", a.eligible ? "pass" : "reject"}, {"reviewed_on", FormatDate(first_day_ - 4)},
                               {"reason", a.eligible ? "" : "does not meet the programme's conditions"}});
    if (!a.eligible) continue;
    subdistrict[c.subdistrict].push_back({{"type", "subdistrict_review"}, {"application_id", a.id}, {"decision", "pass"},
                                          {"reviewed_on", FormatDate(first_day_ - 2)}});
    decisions.push_back({{"type", "application_decided"}, {"application_id", a.id}, {"decision", "pass"},
                         {"effective_from", FormatDate(first_day_)}, {"decided_on", FormatDate(first_day_ - 1)}});
  }
  for (auto& [actor, events] : community) ELDERCARE_RETURN_IF_ERROR(SubmitBatches(actor, events));
  At(first_day_ - 2, 9 * 60);
  for (auto& [actor, events] : subdistrict) ELDERCARE_RETURN_IF_ERROR(SubmitBatches(actor, events));
  At(first_day_ - 1, 9 * 60);
  ELDERCARE_RETURN_IF_ERROR(SubmitBatches("bureau-dawukou", decisions));
  // Enterprises accept the approved elders of their communities; a few
  // elders get a second, duplicate approval (one person benefiting twice).
  std::map<std::string, std::vector<json>> accepted;
  std::vector<json> duplicates;
  for (const App& a : apps) {
    if (!a.eligible || (a.programme != "home_visit" && a.programme != "meal_aid")) continue;
    Elder& e = elders_[a.elder];
    e.enterprise = communities_[e.community].enterprise;
    e.programmes.insert(a.programme);
    e.served_from = first_day_;
    accepted[enterprises_[e.enterprise].id].push_back(
        {{"type", "service_assigned"}, {"assignment_id", "AS-" + a.id}, {"elder_id", e.id},
         {"enterprise_id", enterprises_[e.enterprise].id}, {"programme", a.programme},
         {"valid_from", FormatDate(first_day_)}});
    if (Uniform() < o_.fraud_rate) duplicates.push_back({{"elder", e.id}, {"programme", a.programme}, {"i", a.elder}});
  }
  for (auto& [actor, events] : accepted) ELDERCARE_RETURN_IF_ERROR(SubmitBatches(actor, events));
  for (const json& d : duplicates) {
    size_t i = d["i"].get<size_t>();
    const Elder& e = elders_[i];
    std::string app = Id("APP-");
    const Community& c = communities_[e.community];
    ELDERCARE_RETURN_IF_ERROR(Submit(c.id, {{{"type", "application_submitted"}, {"application_id", app}, {"elder_id", e.id},
                                             {"programme", d["programme"]}, {"filed_by", "family"},
                                             {"filed_on", FormatDate(first_day_ - 1)}},
                                            {{"type", "community_review"}, {"application_id", app}, {"decision", "pass"},
                                             {"reviewed_on", FormatDate(first_day_ - 1)}}}));
    ELDERCARE_RETURN_IF_ERROR(Submit(c.subdistrict, {{{"type", "subdistrict_review"}, {"application_id", app},
                                                      {"decision", "pass"}, {"reviewed_on", FormatDate(first_day_ - 1)}}}));
    ELDERCARE_RETURN_IF_ERROR(Submit("bureau-dawukou", {{{"type", "application_decided"}, {"application_id", app},
                                                          {"decision", "pass"}, {"effective_from", FormatDate(first_day_)},
                                                          {"decided_on", FormatDate(first_day_ - 1)}}}));
    Truth("double_benefit", e.enterprise, first_day_, i, {});
  }
  for (size_t i = 0; i < elders_.size(); ++i) {
    if (!elders_[i].programmes.empty()) served_[elders_[i].enterprise].push_back(i);
  }
  size_t approved = 0;
  for (const App& a : apps) approved += a.eligible;
  Progress(std::to_string(apps.size()) + " applications through the three reviews, " + std::to_string(approved) +
           " approved; " + std::to_string(duplicates.size()) + " duplicate approvals injected");
  return Status::Ok();
}

// --- One month ----------------------------------------------------------------------

// Which days each home-visit elder is visited, who will be called after the
// month, and which of those called get visits that never happened.
void District::PlanMonth(int32_t month) {
  int32_t first = FirstDayOfMonth(month), last = FirstDayOfMonth(month + 1) - 1;
  visit_days_.clear();
  ghosts_planned_.clear();
  // The month that just ended is called about after this one has begun.
  last_called_ = std::move(called_);
  last_delivered_ = std::move(delivered_);
  last_ghosted_ = std::move(ghosted_);
  last_seen_ = std::move(seen_);
  called_.clear();
  delivered_.clear();
  ghosted_.clear();
  seen_.clear();
  for (auto& [ent, list] : served_) {
    for (size_t i : list) {
      const Elder& e = elders_[i];
      if (e.programmes.count("home_visit")) {
        int k = e.ability >= 3 ? 8 : e.ability == 2 ? 6 : 4;
        std::set<int32_t> days;
        while (static_cast<int>(days.size()) < k) days.insert(first + static_cast<int32_t>(Pick(last - first + 1)));
        visit_days_[i].assign(days.begin(), days.end());
      }
      // Calls: about 3% of each enterprise's elders; a few of them get
      // claims for visits that never happened, and they will say so.
      if (Uniform() < 0.03) {
        called_.insert(i);
        if (Uniform() < o_.fraud_rate * 30) ghosts_planned_[i] = 3;
      }
    }
  }
}

void District::Write(const std::string& ent, const Planned& p, S::ServiceDelivered::Builder d) {
  const Elder& e = elders_[p.elder];
  d.setDeliveryId(p.id);
  d.setElderId(e.id);
  d.setEnterpriseId(ent);
  d.setWorkerId(p.worker);
  d.setService(p.v.service);
  d.setProgramme(p.v.programme);
  int64_t planned = p.planned_start != 0 ? p.planned_start : p.in - p.in % (5 * 60 * kMicrosPerSecond);
  d.setPlannedStart(planned);
  d.setPlannedEnd(planned + int64_t{p.v.minutes} * 60 * kMicrosPerSecond);
  d.setCheckIn(p.in);
  d.setCheckOut(p.out);
  d.setCheckInLatMicro(p.in_lat);
  d.setCheckInLonMicro(p.in_lon);
  d.setCheckOutLatMicro(e.lat);
  d.setCheckOutLonMicro(e.lon);
  d.setCheckInDistanceM(p.in_distance);
  d.setCheckOutDistanceM(5 + static_cast<uint32_t>(Pick(60)));
  auto bytes = *HexDecode(p.evidence);
  d.setEvidence(capnp::Data::Reader(bytes.data(), bytes.size()));
  d.setUnits(p.v.units);
}

// Workers walk their rounds: visits in community order, travel at 20 km/h
// plus five minutes, from 08:00 to 18:00.
std::vector<Planned> District::Round(size_t ent, int32_t day, std::vector<Visit>& visits) {
  const std::string& eid = enterprises_[ent].id;
  std::stable_sort(visits.begin(), visits.end(), [&](const Visit& x, const Visit& y) {
    return std::tie(x.programme, elders_[x.elder].community, elders_[x.elder].lat) <
           std::tie(y.programme, elders_[y.elder].community, elders_[y.elder].lat);
  });
  std::vector<Planned> plan;
  std::string worker;
  int minute = 0, workers = 0;
  int32_t lat = 0, lon = 0;
  for (const Visit& v : visits) {
    const Elder& e = elders_[v.elder];
    int travel = worker.empty() ? 0 : 5 + static_cast<int>(DistanceM(lat, lon, e.lat, e.lon) / 1000.0 / 20.0 * 60.0);
    if (worker.empty() || minute + travel + v.minutes > kWorkEnd) {
      worker = "W-" + eid.substr(4) + "-" + std::to_string(++workers);
      minute = kWorkStart + static_cast<int>(Pick(20));
      travel = 0;
    }
    int start = minute + travel + static_cast<int>(Pick(4));
    int64_t in = Instant(day, start) + static_cast<int64_t>(Pick(60)) * kMicrosPerSecond;
    plan.push_back({Id("D-"), v.elder, worker, v, in, in + int64_t{v.minutes} * 60 * kMicrosPerSecond, e.lat, e.lon,
                    5 + static_cast<uint32_t>(Pick(60)), Hex32(rng_)});
    minute = start + v.minutes + 1;
    lat = e.lat;
    lon = e.lon;
  }
  return plan;
}

// Each daily fraud pattern at the given rate: at most one of them on this
// enterprise-day.
void District::Fraud(size_t ent, int32_t day, std::vector<Planned>& plan) {
  static const char* kDaily[] = {"worker_overlap", "impossible_travel", "short_visit",     "off_location",
                                 "late_visit",     "evidence_reuse",    "outside_contract", "unassigned_elder"};
  constexpr size_t kPatterns = std::size(kDaily);
  if (plan.empty() || Uniform() >= o_.fraud_rate * kPatterns) return;
  std::string pattern = kDaily[Pick(kPatterns)];
  auto& mine = served_[ent];
  // The last visit of a random worker, and its index in the plan.
  size_t pick = Pick(plan.size());
  size_t last = pick;
  for (size_t i = 0; i < plan.size(); ++i) {
    if (plan[i].worker == plan[pick].worker) last = i;
  }
  auto add = [&](size_t elder, const std::string& worker, const Visit& v, int64_t in) {
    const Elder& e = elders_[elder];
    plan.push_back({Id("D-"), elder, worker, v, in, in + int64_t{v.minutes} * 60 * kMicrosPerSecond, e.lat, e.lon,
                    10, Hex32(rng_)});
    return plan.back().id;
  };
  // A cleaning visit to `elder` by the picked worker after the day's last
  // one, with time to get there (15 km/h and ten minutes).
  auto after_round = [&](size_t elder) {
    const Planned& from = plan[last];
    const Elder& e = elders_[elder];
    int travel = 10 + static_cast<int>(DistanceM(elders_[from.elder].lat, elders_[from.elder].lon, e.lat, e.lon) / 1000.0 / 15.0 * 60.0);
    return add(elder, from.worker, {elder, "cleaning", "home_visit", 60, 1}, from.out + int64_t{travel} * 60 * kMicrosPerSecond);
  };
  if (pattern == "worker_overlap") {
    size_t other = mine[Pick(mine.size())];
    if (other == plan[pick].elder || !Alive(elders_[other], day)) return;
    // Starting halfway through the picked visit: the worker cannot be in both homes.
    std::string id = add(other, plan[pick].worker, {other, "cleaning", "home_visit", 60, 1},
                         plan[pick].in + (plan[pick].out - plan[pick].in) / 2);
    Truth(pattern, ent, day, other, {id});
  } else if (pattern == "impossible_travel") {
    const Planned& from = plan[last];
    for (int tries = 0; tries < 60; ++tries) {
      size_t far = mine[Pick(mine.size())];
      const Elder& f = elders_[far];
      if (!Alive(f, day) || DistanceM(elders_[from.elder].lat, elders_[from.elder].lon, f.lat, f.lon) < 5000) continue;
      std::string id = add(far, from.worker, {far, "mobility_help", "home_visit", 35, 1}, from.out + 3 * 60 * kMicrosPerSecond);
      Truth(pattern, ent, day, far, {id});
      return;
    }
  } else if (pattern == "short_visit" || pattern == "off_location" || pattern == "evidence_reuse") {
    for (size_t k = 0; k < plan.size(); ++k) {
      Planned& p = plan[(pick + k) % plan.size()];
      if (p.v.programme != "home_visit" || p.v.ghost) continue;
      if (pattern == "short_visit") {
        p.out = p.in + 12 * 60 * kMicrosPerSecond;  // every home service has a minimum of 15 minutes or more
      } else if (pattern == "off_location") {
        p.in_lat += 20000;  // about 2.2 km north
        p.in_distance = 2200;
      } else {
        if (evidence_pool_.empty()) return;
        p.evidence = evidence_pool_[Pick(evidence_pool_.size())];
      }
      Truth(pattern, ent, day, p.elder, {p.id});
      return;
    }
  } else if (pattern == "late_visit") {
    // The worker's last visit of the day, begun 35 to 94 minutes after it
    // was planned (nothing of the worker's follows it to overlap).
    Planned& p = plan[last];
    if (p.v.ghost) return;
    p.planned_start = p.in - p.in % (5 * 60 * kMicrosPerSecond);
    int64_t delay = (35 + static_cast<int64_t>(Pick(60))) * 60 * kMicrosPerSecond;
    p.in += delay;
    p.out += delay;
    Truth(pattern, ent, day, p.elder, {p.id});
  } else if (pattern == "outside_contract") {
    // A visit to an elder of a community this enterprise has no contract for.
    for (int tries = 0; tries < 60; ++tries) {
      size_t other_ent = Pick(enterprises_.size());
      if (other_ent == ent || served_[other_ent].empty()) continue;
      size_t elder = served_[other_ent][Pick(served_[other_ent].size())];
      const Elder& e = elders_[elder];
      if (Covers(enterprises_[ent], e.community) || !Alive(e, day)) continue;
      std::string id = after_round(elder);
      Truth(pattern, ent, day, elder, {id});
      Truth("unassigned_elder", ent, day, elder, {id});  // and the elder is another enterprise's
      return;
    }
  } else if (pattern == "unassigned_elder") {
    // A visit claimed for an elder of a community the enterprise serves whom
    // the programme never assigned to anyone: one more head on the bill.
    for (int tries = 0; tries < 200; ++tries) {
      size_t elder = Pick(elders_.size());
      const Elder& e = elders_[elder];
      if (!Covers(enterprises_[ent], e.community) || !e.programmes.empty() || !Alive(e, day)) continue;
      std::string id = after_round(elder);
      Truth(pattern, ent, day, elder, {id});
      return;
    }
  }
}

Status District::Day(int32_t day) {
  At(day, 20 * 60);
  bool weekday = (day + 4) % 7 < 5;  // 1970-01-01 was a Thursday
  std::vector<std::unique_ptr<SubmissionBuilder>> pending;
  for (size_t ent = 0; ent < enterprises_.size(); ++ent) {
    if (!Delivering(enterprises_[ent], day)) continue;
    std::vector<Visit> visits;
    for (size_t i : served_[ent]) {
      Elder& e = elders_[i];
      bool alive = Alive(e, day);
      if (!alive) {
        // Claims after death: some enterprises keep billing a dead elder.
        auto left = after_death_left_.find(i);
        if (left == after_death_left_.end() || left->second == 0) continue;
      }
      if (e.programmes.count("meal_aid") && weekday && alive) visits.push_back({i, "meal_delivery", "meal_aid", 8, 1});
      auto days = visit_days_.find(i);
      bool visit_today = days != visit_days_.end() && std::binary_search(days->second.begin(), days->second.end(), day);
      if (!visit_today) continue;
      static const char* kServices[] = {"bathing", "cleaning", "personal_care", "medical_help", "mobility_help"};
      static const int kMinutes[] = {55, 90, 120, 45, 40};
      static const uint32_t kUnits[] = {1, 1, 2, 1, 1};
      size_t s = Pick(5);
      Visit v{i, kServices[s], "home_visit", kMinutes[s] + static_cast<int>(Pick(10)), kUnits[s]};
      if (!alive) --after_death_left_[i];
      v.ghost = !alive;
      visits.push_back(v);
    }
    // Claims for visits that never happened: the planned ones (the elder
    // will be called), and the habit of the enterprise the exit mechanism
    // should catch.
    std::vector<Visit> ghosts;
    for (const Visit& v : visits) {
      if (v.ghost) continue;
      auto g = ghosts_planned_.find(v.elder);
      bool planned = g != ghosts_planned_.end() && g->second > 0;
      bool habit = enterprises_[ent].bad && !called_.count(v.elder) && Uniform() < 0.3;
      if (!planned && !habit) continue;
      if (planned) --g->second;
      Visit ghost = v;
      ghost.ghost = true;
      ghosts.push_back(ghost);
    }
    visits.insert(visits.end(), ghosts.begin(), ghosts.end());
    if (visits.empty()) continue;
    std::vector<Planned> plan = Round(ent, day, visits);
    Fraud(ent, day, plan);
    auto b = std::make_unique<SubmissionBuilder>(enterprises_[ent].id);
    for (const Planned& p : plan) {
      Write(enterprises_[ent].id, p, b->AddEvent().initServiceDelivered());
      ++delivered_[{ent, p.elder}];
      if (!p.v.ghost && called_.count(p.elder)) {
        Seen& seen = seen_[{ent, p.elder}];
        seen.minutes.push_back(static_cast<int>((p.out - p.in) / (60 * kMicrosPerSecond)));
        seen.workers.insert(p.worker);
      }
      if (p.v.ghost) {
        ghost_ids_.emplace(p.id, day);
        if (Alive(elders_[p.elder], day)) ++ghosted_[{ent, p.elder}];
        else Truth("after_death", ent, day, p.elder, {p.id});
      }
      if (Pick(64) == 0) {
        evidence_pool_.push_back(p.evidence);
        if (evidence_pool_.size() > 500) evidence_pool_.erase(evidence_pool_.begin());
      }
    }
    pending.push_back(std::move(b));
  }
  ELDERCARE_RETURN_IF_ERROR(Flush(pending));
  // Deaths become known some days later: the community records them, the
  // bureau ends the entitlements.
  for (size_t i = 0; i < elders_.size(); ++i) {
    Elder& e = elders_[i];
    if (e.death == 0 || e.death_recorded || day < e.death + 6) continue;
    e.death_recorded = true;
    At(day, 20 * 60 + 30);
    ELDERCARE_RETURN_IF_ERROR(Submit(communities_[e.community].id,
                                     {{{"type", "circumstance_recorded"}, {"elder_id", e.id}, {"circumstance", "deceased"},
                                       {"effective_on", FormatDate(e.death)}, {"certificate", Hex32(rng_)}}}));
    std::vector<json> ends;
    for (const auto& prog : e.programmes) {
      ends.push_back({{"type", "entitlement_ended"}, {"elder_id", e.id}, {"programme", prog},
                      {"ended_on", FormatDate(e.death)}, {"reason", "deceased"}});
    }
    ELDERCARE_RETURN_IF_ERROR(Submit("bureau-dawukou", ends));
  }
  return Status::Ok();
}

// Two days after the month: the inspectors' calls, a checkpoint, and a
// spot-check of every enterprise drawn from it.
Status District::CallsAndSpotChecks(int32_t month, bool tail) {
  int32_t day = FirstDayOfMonth(month + 1) + 1;
  At(day, 10 * 60);
  std::vector<json> calls[2];
  int n = 0;
  // The month called about is the last one planned when no month followed
  // it (the tail), else the one PlanMonth moved aside.
  const auto& called = tail ? called_ : last_called_;
  const auto& delivered = tail ? delivered_ : last_delivered_;
  const auto& ghosted = tail ? ghosted_ : last_ghosted_;
  for (size_t i : called) {
    const Elder& e = elders_[i];
    size_t ent = e.enterprise;
    auto rec = delivered.find({ent, i});
    int recorded = rec == delivered.end() ? 0 : rec->second;
    if (recorded == 0) continue;
    auto gh = ghosted.find({ent, i});
    int ghosts = gh == ghosted.end() ? 0 : gh->second;
    // Elders forget a visit now and then; one who saw visits claimed that
    // never happened says exactly how many there were.
    int reported = recorded - ghosts - (ghosts == 0 && Uniform() < 0.1 ? 1 : 0);
    bool reachable = Uniform() > 0.05;
    // How long a visit typically lasts (to the nearest five minutes), and
    // whether it is always the same worker, as the elder saw them.
    const auto& seen_map = tail ? seen_ : last_seen_;
    auto seen = seen_map.find({ent, i});
    int typical = 0;
    std::string same = "unknown";
    if (reachable && seen != seen_map.end() && !seen->second.minutes.empty()) {
      std::vector<int> m = seen->second.minutes;
      std::sort(m.begin(), m.end());
      typical = (m[m.size() / 2] + 2) / 5 * 5;
      same = seen->second.workers.size() == 1 ? "yes" : "no";
    }
    calls[n++ % 2].push_back({{"type", "follow_up_call"}, {"call_id", Id("CALL-")}, {"elder_id", e.id},
                              {"enterprise_id", enterprises_[ent].id},
                              {"called_at", FormatTimestampOffset(Instant(day, 10 * 60 + n), kChinaOffsetMinutes)},
                              {"month", FormatMonth(month)}, {"outcome", reachable ? "confirmed" : "unreachable"},
                              {"satisfaction", reachable ? 3 + static_cast<int>(Pick(3)) : 0},
                              {"reported_visits", reachable ? std::max(0, reported) : 0}, {"reported_minutes", typical},
                              {"same_worker", same}});
    if (ghosts >= 2 && reachable) Truth("follow_up_contradiction", ent, FirstDayOfMonth(month), i, {});
  }
  ELDERCARE_RETURN_IF_ERROR(SubmitBatches("inspector-1", calls[0]));
  ELDERCARE_RETURN_IF_ERROR(SubmitBatches("inspector-2", calls[1]));
  // The checkpoint the samples come from: signed after the month ended.
  At(day, 11 * 60);
  auto note = ledger_->MakeCheckpoint(actors_.at("operator"));
  if (!note.ok()) return note.status();
  uint64_t size = ledger_->Size();
  ELDERCARE_ASSIGN_OR_RETURN(Hash root, ledger_->RootAt(size));
  At(day, 14 * 60);
  std::vector<json> plans, results;
  first_failure_.assign(first_failure_.size(), 0);
  ELDERCARE_ASSIGN_OR_RETURN(auto view, ledger_->Projections());
  for (size_t ent = 0; ent < enterprises_.size(); ++ent) {
    if (!delivered_.empty() && !Delivering(enterprises_[ent], FirstDayOfMonth(month))) continue;
    std::string plan_id = "SC-" + FormatMonth(month) + "-" + enterprises_[ent].id;
    ELDERCARE_ASSIGN_OR_RETURN(proj::Sample sample,
                               proj::DrawSampleFor(*view.state, view.size, plan_id, {enterprises_[ent].id},
                                                   FormatMonth(month), 10, 0, size, root));
    if (sample.deliveries.empty()) continue;
    plans.push_back({{"type", "spot_check_planned"}, {"plan_id", plan_id}, {"enterprises", {enterprises_[ent].id}},
                     {"month", FormatMonth(month)}, {"sample_size", 10}, {"checkpoint_size", size},
                     {"checkpoint_root", HexEncode(root)}, {"planned_on", FormatDate(day)}});
    for (const auto& d : sample.deliveries) {
      auto found = ghost_ids_.find(d.delivery_id);
      bool ghost = found != ghost_ids_.end();
      std::string outcome = ghost ? "not_delivered" : Uniform() < 0.02 ? "quality_problem" : "verified";
      results.push_back({{"type", "spot_check_result"}, {"plan_id", plan_id}, {"enterprise_id", enterprises_[ent].id},
                         {"delivery_id", d.delivery_id}, {"outcome", outcome}, {"checked_on", FormatDate(day + 3)},
                         {"note", ghost ? "elder and neighbours: nobody came" : ""}});
      ++spot_total_[ent];
      if (ghost) {
        ++spot_failed_[ent];
        int32_t& first = first_failure_[ent];
        first = first ? std::min(first, found->second) : found->second;
      }
    }
  }
  ELDERCARE_RETURN_IF_ERROR(Submit("bureau-dawukou", plans));
  // The visits take the inspectors until the 5th; their results are
  // recorded on the 6th (SpotResults), after the month is closed, so a
  // visit found not delivered is taken back as an adjustment in the next
  // statement, not refused in the closed one.
  spot_results_ = std::move(results);
  // Complaints of the month, handled within days.
  std::vector<json> complaints;
  for (size_t ent = 0; ent < enterprises_.size(); ++ent) {
    if (served_[ent].empty()) continue;
    int count = static_cast<int>(Pick(enterprises_[ent].bad ? 5 : 3));
    for (int c = 0; c < count; ++c) {
      std::string id = Id("CMP-");
      static const char* kCategories[] = {"late", "no_show", "quality", "conduct"};
      complaints.push_back({{"type", "complaint_filed"}, {"complaint_id", id}, {"enterprise_id", enterprises_[ent].id},
                            {"elder_id", elders_[served_[ent][Pick(served_[ent].size())]].id},
                            {"filed_on", FormatDate(FirstDayOfMonth(month) + static_cast<int32_t>(Pick(25)))},
                            {"category", kCategories[Pick(4)]}, {"summary", "recorded by the hotline"}});
      complaints.push_back({{"type", "complaint_closed"}, {"complaint_id", id}, {"closed_on", FormatDate(day + 2)},
                            {"outcome", Uniform() < 0.4 ? "upheld" : "resolved"}});
    }
  }
  return Submit("inspector-2", complaints);
}

// On the 6th: the spot-check results of the month closed the day before.
Status District::SpotResults(int32_t month) {
  At(FirstDayOfMonth(month + 1) + 5, 9 * 60);
  uint64_t first = ledger_->Size();
  ELDERCARE_RETURN_IF_ERROR(SubmitBatches("inspector-1", spot_results_));
  for (size_t k = 0; k < spot_results_.size(); ++k) {
    if (spot_results_[k]["outcome"] == "not_delivered") {
      for (size_t ent = 0; ent < enterprises_.size(); ++ent) {
        if (spot_results_[k]["enterprise_id"] == enterprises_[ent].id) spot_evidence_[ent].push_back(first + k);
      }
    }
  }
  spot_results_.clear();
  return Status::Ok();
}

// On the 5th: the bureau closes each enterprise's month at the log size the
// statement was computed at.
Status District::Close(int32_t month) {
  int32_t day = FirstDayOfMonth(month + 1) + 4;
  At(day, 9 * 60);
  ELDERCARE_ASSIGN_OR_RETURN(auto view, ledger_->Projections());
  proj::Snapshot snap(*view.state, view.size, view.size);
  std::vector<json> closes;
  for (size_t ent = 0; ent < enterprises_.size(); ++ent) {
    ELDERCARE_ASSIGN_OR_RETURN(auto st, proj::ComputeStatement(snap, enterprises_[ent].id, FormatMonth(month)));
    // Also a month without deliveries whose statement carries adjustments
    // (an enterprise suspended or exited, paying back): closing it settles them.
    if (st->get().getDeliveries() == 0 && st->get().getAdjustments().size() == 0) continue;
    closes.push_back({{"type", "billing_period_closed"}, {"enterprise_id", enterprises_[ent].id},
                      {"month", FormatMonth(month)}, {"at_size", view.size}, {"statement_digest", HexEncode(st->digest())},
                      {"total_fen", st->get().getPayableFen()}, {"closed_on", FormatDate(day)}});
    closed_totals_[month].push_back({ent, st->get().getPayableFen()});
  }
  return Submit("bureau-dawukou", closes);
}

// On the 10th the city and the district each allocate half; on the 15th the
// enterprise is paid what its closed statement says -- or, sometimes, not.
Status District::Money(int32_t month, bool pay) {
  int32_t day = FirstDayOfMonth(month + 1) + (pay ? 14 : 9);
  At(day, 10 * 60);
  std::vector<json> city, district, payments;
  for (auto [ent, billed] : closed_totals_[month]) {
    if (billed <= 0) continue;
    const std::string& e = enterprises_[ent].id;
    if (!pay) {
      int64_t half = billed / 2;
      city.push_back({{"type", "funds_allocated"}, {"allocation_id", Id("AL-")}, {"month", FormatMonth(month)},
                      {"enterprise_id", e}, {"source", "city"}, {"amount_fen", half}, {"allocated_on", FormatDate(day)}});
      district.push_back({{"type", "funds_allocated"}, {"allocation_id", Id("AL-")}, {"month", FormatMonth(month)},
                          {"enterprise_id", e}, {"source", "district"}, {"amount_fen", billed - half},
                          {"allocated_on", FormatDate(day)}});
      continue;
    }
    int64_t amount = billed;
    if (Uniform() < o_.fraud_rate * 6) {
      amount = billed + billed / 10 + 100;  // paid more than delivered
      Truth("spending_mismatch", ent, FirstDayOfMonth(month), SIZE_MAX, {});
    }
    payments.push_back({{"type", "disbursement_paid"}, {"payment_id", Id("PAY-")}, {"month", FormatMonth(month)},
                        {"enterprise_id", e}, {"amount_fen", amount}, {"paid_on", FormatDate(day)},
                        {"reference", "BANK-" + std::to_string(serial_)}});
  }
  ELDERCARE_RETURN_IF_ERROR(Submit("finance-city", city));
  ELDERCARE_RETURN_IF_ERROR(Submit("finance-district", district));
  return Submit("finance-district", payments);
}

// A statement below zero (a backdated suspension took back more than the
// month billed) is money the enterprise owes: on the 25th finance records it
// coming back.
Status District::Recoveries(int32_t month) {
  int32_t day = FirstDayOfMonth(month + 1) + 24;
  At(day, 11 * 60);
  for (auto [ent, billed] : closed_totals_[month]) {
    if (billed >= 0) continue;
    Enterprise& e = enterprises_[ent];
    e.exit.recovered_fen += -billed;
    e.exit.recovered_on = day;
    e.exit.recovery_index = ledger_->Size();
    ELDERCARE_RETURN_IF_ERROR(Submit("finance-district", {{{"type", "recovery_received"}, {"recovery_id", Id("REC-")},
                                                          {"month", FormatMonth(month)}, {"enterprise_id", e.id},
                                                          {"amount_fen", -billed}, {"received_on", FormatDate(day)},
                                                          {"reference", "BANK-" + std::to_string(serial_)}}}));
  }
  return Status::Ok();
}

// The exit mechanism: an enterprise whose spot-checks fail above the
// policy's threshold is suspended; if it keeps failing, it exits, and its
// elders are reassigned.
Status District::ExitMechanism(int32_t month) {
  int32_t day = FirstDayOfMonth(month + 1) + 6;
  At(day, 15 * 60);
  for (size_t ent = 0; ent < enterprises_.size(); ++ent) {
    Enterprise& e = enterprises_[ent];
    if (e.exit.exited_from || spot_total_[ent] < 20) continue;
    uint64_t permille = 1000 * spot_failed_[ent] / spot_total_[ent];
    if (permille <= 100) continue;
    json evidence = spot_evidence_[ent];
    if (!e.exit.suspended_from) {
      // Backdated: from the first visit the month's samples found not
      // delivered, a day of a month already closed and paid. What the
      // enterprise claimed since is refused, and its next statement takes
      // back what the closed month paid for it (an adjustment), which may
      // leave that statement negative: money finance must recover.
      std::string reason = "spot-check failure rate " + std::to_string(permille / 10) + "% above the policy's 10%";
      if (first_failure_[ent]) {
        e.exit.suspended_from = first_failure_[ent];
        reason += "; backdated to the first visit found not delivered";
      } else {
        e.exit.suspended_from = day + 1;
      }
      e.exit.suspension_decided = day;
      ELDERCARE_RETURN_IF_ERROR(Submit("bureau-dawukou", {{{"type", "enterprise_suspended"}, {"enterprise_id", e.id},
                                                          {"effective_from", FormatDate(e.exit.suspended_from)},
                                                          {"reason", reason}, {"evidence", evidence}}}));
      Progress("month " + FormatMonth(month) + ": " + e.id + " suspended from " + FormatDate(e.exit.suspended_from) +
               " (spot-check failures " + std::to_string(permille / 10) + "%)");
    } else if (day >= e.exit.suspension_decided + 40) {
      e.exit.exited_from = day + 1;
      ELDERCARE_RETURN_IF_ERROR(Submit("bureau-dawukou", {{{"type", "enterprise_exited"}, {"enterprise_id", e.id},
                                                          {"effective_from", FormatDate(e.exit.exited_from)},
                                                          {"reason", "failed to deliver; suspended since " + FormatDate(e.exit.suspended_from)},
                                                          {"evidence", evidence}}}));
      // The purchase contract ends with it (its workers also lose access to
      // the elders' sealed personal data, docs/PRIVACY.md).
      ELDERCARE_RETURN_IF_ERROR(Submit("bureau-dawukou", {{{"type", "contract_ended"}, {"contract_id", "ct-" + e.id},
                                                          {"ended_on", FormatDate(e.exit.exited_from)},
                                                          {"reason", "enterprise exited (退出机制)"}}}));
      // Its communities and elders go to the next enterprise.
      size_t heir = (ent + 1) % enterprises_.size();
      json comms = json::array();
      for (size_t c : e.communities) comms.push_back(communities_[c].id);
      ELDERCARE_RETURN_IF_ERROR(Submit("bureau-dawukou", {{{"type", "contract_signed"}, {"contract_id", "ct-" + enterprises_[heir].id + "-takeover"},
                                                          {"enterprise_id", enterprises_[heir].id}, {"communities", comms},
                                                          {"programmes", {"home_visit", "meal_aid"}},
                                                          {"valid_from", FormatDate(e.exit.exited_from)},
                                                          {"valid_until", FormatDate(e.exit.exited_from + 400)},
                                                          {"confidentiality_agreement", Hex32(rng_)},
                                                          {"signed_on", FormatDate(day)}}}));
      std::vector<json> moves;
      for (size_t i : served_[ent]) {
        Elder& el = elders_[i];
        if (!Alive(el, day)) continue;
        for (const auto& prog : el.programmes) {
          moves.push_back({{"type", "service_assigned"}, {"assignment_id", Id("AS-")}, {"elder_id", el.id},
                           {"enterprise_id", enterprises_[heir].id}, {"programme", prog},
                           {"valid_from", FormatDate(e.exit.exited_from)}});
        }
        el.enterprise = heir;
        served_[heir].push_back(i);
      }
      served_[ent].clear();
      ELDERCARE_RETURN_IF_ERROR(SubmitBatches("bureau-dawukou", moves));
      Progress("month " + FormatMonth(month) + ": " + e.id + " exited; " + std::to_string(moves.size()) +
               " assignments moved to " + enterprises_[heir].id);
    }
  }
  return Status::Ok();
}

Status District::WriteOutputs() {
  std::ofstream out(fs::path(o_.out_dir) / "ground-truth.jsonl");
  for (const TruthCase& t : truth_) {
    out << json{{"pattern", t.pattern}, {"enterprise", t.enterprise}, {"month", t.month}, {"elder", t.elder},
                {"deliveries", t.deliveries}}.dump()
        << "\n";
  }
  return out ? Status::Ok() : Status::IoError("cannot write ground-truth.jsonl");
}

Result<DistrictReport> District::Run(const std::string& ledger_dir) {
  ELDERCARE_ASSIGN_OR_RETURN(int32_t start, ParseMonth(o_.start));
  first_day_ = FirstDayOfMonth(start);
  fs::create_directories(o_.out_dir);
  // The district: 34 communities in 4 subdistricts around the centre, 9 enterprises.
  static const char* kCommunityNames[] = {"朝阳", "人民", "长城", "新华", "胜利", "青山", "锦林", "石炭井", "白芨沟",
                                          "长胜", "星海", "沙湖", "游艺", "民族", "工人", "建设"};
  for (int c = 0; c < 34; ++c) {
    double angle = c * 2.0 * M_PI / 34, radius = 1500 + (c % 5) * 900;
    Community com;
    char id[16];
    std::snprintf(id, sizeof id, "com-%02d", c + 1);
    com.id = id;
    com.name = std::string(kCommunityNames[c % 16]) + (c >= 16 ? "第二" : "") + "社区";
    com.subdistrict = "subdistrict-" + std::to_string(c % 4 + 1);
    com.lat = kCenterLat + static_cast<int32_t>(radius * std::sin(angle) / 111320.0 * 1e6);
    com.lon = kCenterLon + static_cast<int32_t>(radius * std::cos(angle) / 86000.0 * 1e6);
    com.enterprise = static_cast<size_t>(c) % 9;
    communities_.push_back(com);
  }
  static const char* kEnterprises[] = {"安心养老服务中心", "康宁居家养老", "夕阳红家政服务", "福寿康养老服务", "颐和社区照护",
                                       "乐龄居家服务",   "仁爱助老服务",   "金色年华养老",   "惠民居家养老"};
  for (int e = 0; e < 9; ++e) {
    Enterprise ent;
    ent.id = "ent-" + std::to_string(e + 1);
    ent.name = kEnterprises[e];
    ent.bad = e == 8;
    for (size_t c = 0; c < communities_.size(); ++c) {
      if (communities_[c].enterprise == static_cast<size_t>(e)) ent.communities.push_back(c);
    }
    enterprises_.push_back(ent);
  }
  spot_failed_.assign(9, 0);
  spot_total_.assign(9, 0);
  spot_evidence_.assign(9, {});
  first_failure_.assign(9, 0);
  // The operator, a master key, the ledger and its key store.
  Hash op_seed = Sha256(AsBytes("eldercare demo key v1|" + std::to_string(o_.seed) + "|operator"));
  ELDERCARE_ASSIGN_OR_RETURN(PrivateKey op, PrivateKey::FromSeed(op_seed));
  actors_.emplace("operator", op);
  fs::create_directories(fs::path(o_.out_dir) / "keys");
  std::string op_path = (fs::path(o_.out_dir) / "keys" / "operator.pem").string();
  fs::remove(op_path);
  ELDERCARE_RETURN_IF_ERROR(op.SavePemFile(op_path));
  // Like the actors' keys, the master key and every data key and nonce come
  // from the seed, so that the same seed gives the same ledger bytes. A demo's
  // secrets are therefore not secret: never load real data into one.
  SymmetricKey master;
  Hash master_seed = Sha256(AsBytes("eldercare demo key v1|" + std::to_string(o_.seed) + "|master"));
  std::copy(master_seed.begin(), master_seed.end(), master.begin());
  std::string master_path = (fs::path(o_.out_dir) / "master.key").string();
  fs::remove(master_path);
  ELDERCARE_RETURN_IF_ERROR(WriteMasterKeyFile(master_path, master));
  At(first_day_ - 14, 9 * 60);
  LedgerOptions lo;
  lo.projector = projector_;
  auto clock = clock_;
  lo.clock = [clock] { return clock->load(); };
  ELDERCARE_ASSIGN_OR_RETURN(ledger_, Ledger::Create(ledger_dir, {"dawukou.mca.example/eldercare", "operator",
                                                                  fs::absolute(op_path).string()}, op, lo));
  ELDERCARE_ASSIGN_OR_RETURN(keys_, KeyStore::Open(ledger_dir, master));
  keys_->UseRandomSource(SeededRandomSource("eldercare demo|" + std::to_string(o_.seed)));
  for (const auto& e : enterprises_) report_.enterprises.push_back(e.id);

  ELDERCARE_RETURN_IF_ERROR(Actors());
  ELDERCARE_RETURN_IF_ERROR(PolicyAndEnterprises());
  ELDERCARE_RETURN_IF_ERROR(Elders());
  ELDERCARE_RETURN_IF_ERROR(Applications());
  // Claims after death: for some elders who die while served with home
  // visits (at least one, whenever the fraud rate is not zero and there is
  // such an elder, so that every pattern appears in the demo).
  std::set<size_t> visited;
  for (const auto& [ent, list] : served_) visited.insert(list.begin(), list.end());
  std::vector<size_t> dying;
  for (size_t i = 0; i < elders_.size(); ++i) {
    if (elders_[i].death && elders_[i].programmes.count("home_visit") && visited.count(i)) dying.push_back(i);
  }
  for (size_t i : dying) {
    if (Uniform() < o_.fraud_rate * 25) after_death_left_[i] = 1 + static_cast<int>(Pick(2));
  }
  if (after_death_left_.empty() && !dying.empty() && o_.fraud_rate > 0) after_death_left_[dying.front()] = 2;
  for (uint32_t m = 0; m <= o_.months; ++m) {
    int32_t month = start + static_cast<int32_t>(m);
    bool delivering = m < o_.months;
    if (delivering) PlanMonth(month);
    for (int32_t day = FirstDayOfMonth(month); day < FirstDayOfMonth(month + 1); ++day) {
      if (delivering) ELDERCARE_RETURN_IF_ERROR(Day(day));
      int dom = day - FirstDayOfMonth(month) + 1;
      if (m == 0) continue;
      if (dom == 2) ELDERCARE_RETURN_IF_ERROR(CallsAndSpotChecks(month - 1, !delivering));
      if (dom == 5) ELDERCARE_RETURN_IF_ERROR(Close(month - 1));
      if (dom == 6) ELDERCARE_RETURN_IF_ERROR(SpotResults(month - 1));
      if (dom == 7) ELDERCARE_RETURN_IF_ERROR(ExitMechanism(month - 1));
      if (dom == 10) ELDERCARE_RETURN_IF_ERROR(Money(month - 1, false));
      if (dom == 15) ELDERCARE_RETURN_IF_ERROR(Money(month - 1, true));
      if (dom == 25) ELDERCARE_RETURN_IF_ERROR(Recoveries(month - 1));
      if (!delivering && dom == 15) break;
      // A year after the first assessments (assessed 20 days before the start), the next round.
      if (delivering && dom == 20 && m % 12 == 10) {
        At(day, 10 * 60);
        ELDERCARE_RETURN_IF_ERROR(Assess(day, "-" + std::to_string(m / 12 + 2)));
        Progress("reassessed " + FormatMonth(month) + ": " + std::to_string(assessed_) + " assessments so far");
      }
    }
    if (delivering) {
      report_.months.push_back(FormatMonth(month));
      Progress("month " + FormatMonth(month) + " done: " + std::to_string(report_.deliveries) + " deliveries, " +
               std::to_string(ledger_->Size()) + " entries so far");
    }
  }
  At(FirstDayOfMonth(start + static_cast<int32_t>(o_.months) + 1) + 16, 9 * 60);
  ELDERCARE_RETURN_IF_ERROR(ledger_->MakeCheckpoint(op).status());
  // Into SST files, so that every later command opens without replaying the WAL.
  ELDERCARE_RETURN_IF_ERROR(ledger_->Flush());
  ELDERCARE_RETURN_IF_ERROR(WriteOutputs());
  report_.truth = truth_;
  for (const Enterprise& e : enterprises_) {
    if (!e.exit.suspended_from) continue;  // the exit mechanism's catch, as the enterprise records it
    report_.suspended_enterprise = e.id;
    report_.exit = e.exit;
    break;
  }
  return report_;
}
}  // namespace

Result<DistrictReport> GenerateDistrict(const std::string& ledger_dir, const Projector* projector,
                                        const DistrictOptions& options) {
  District d(options, projector);
  return d.Run(ledger_dir);
}

const std::vector<std::string>& FraudPatterns() {
  static const std::vector<std::string> p = {"after_death",       "double_benefit",  "worker_overlap",
                                             "impossible_travel", "short_visit",     "off_location",
                                             "late_visit",        "evidence_reuse",  "outside_contract",
                                             "unassigned_elder",  "spending_mismatch", "follow_up_contradiction"};
  return p;
}

}  // namespace eldercare::demo
