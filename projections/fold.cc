#include "projections/fold.h"

#include <set>

#include "ledger/event_schema.h"
#include "ledger/time_util.h"
#include "projections/gbt42195.h"
#include "projections/keys.h"
#include "projections/records.h"
#include "projections/spotcheck.h"

namespace eldercare::proj {
namespace {

using schema::EventBody;
namespace S = schema;

// Everything a handler needs: where the event sits and the state it folds into.
struct Fold {
  const EventContext& ctx;
  StateStore& state;

  bool Exists(const std::string& key) const { return state.Contains(key); }

  void PutIndex(const std::string& key, std::string_view target = {}) {
    state.Put(key, keys::EncodeLookup(ctx.index, target));
  }
  // What a statement reads before it recomputes a closed month instead of
  // re-reading the month (billing.cc, MonthsToRecheck): the latest change to
  // any delivery of a month, and every dated fact that could change a
  // statement, under the position it was recorded at. Folding is in log
  // order, so the last write to "lw" is the latest change.
  void DeliveryChanged(std::string_view month) { state.Put(keys::Join({"lw", month}), keys::BE64(ctx.index)); }
  void DatedFact(char scope, int32_t effective, std::string_view elder = {}) {
    state.Put(keys::Join({"lf", keys::BE64(ctx.index)}), keys::EncodeDatedFact(scope, effective, elder));
  }
  std::optional<std::string> IndexTarget(const std::string& key) const {
    auto v = state.Get(key);
    if (!v) return std::nullopt;
    auto l = keys::DecodeLookup(*v);
    if (!l) return std::nullopt;
    return std::string(l->target);
  }

  // The writer must be the enterprise the event speaks for.
  Status RequireOwn(const std::string& enterprise, const char* what) const {
    if (ctx.role == S::Role::ENTERPRISE && enterprise != ctx.writer) {
      return Status::PermissionDenied(std::string("enterprise '") + std::string(ctx.writer) + "' may not " + what +
                                      " for enterprise '" + enterprise + "'");
    }
    return Status::Ok();
  }
  Status RequireElder(const std::string& elder) const {
    if (!Exists(keys::Join({"el", elder}))) return Status::NotFound("unknown elder '" + elder + "'");
    return Status::Ok();
  }
  Status RequireEnterprise(const std::string& enterprise) const {
    if (!Exists(keys::Join({"en", enterprise}))) return Status::NotFound("unknown enterprise '" + enterprise + "'");
    return Status::Ok();
  }
  Status RequireProgramme(const std::string& programme) const {
    if (!Exists(keys::Join({"pg", programme}))) {
      return Status::NotFound("programme '" + programme + "' is in no published policy");
    }
    return Status::Ok();
  }
  Status RequireMonth(const std::string& month) const {
    return ParseMonth(month).ok() ? Status::Ok()
                                  : Status::InvalidArgument("field 'month': '" + month + "' is not YYYY-MM");
  }
  // The enterprise's latest status change of kind `exited`, if any.
  Status RequireNotExited(const std::string& enterprise) const {
    auto e = Record<S::EnterpriseRecord>::Load(state, keys::Join({"en", enterprise}));
    if (e) {
      for (auto s : e->get().getStatus()) {
        if (s.getKind() == S::StatusKind::EXITED) {
          return Status::FailedPrecondition("enterprise '" + enterprise + "' has exited the programme");
        }
      }
    }
    return Status::Ok();
  }
};

Status Ids(std::initializer_list<std::pair<const char*, capnp::Text::Reader>> ids) {
  for (auto [name, value] : ids) ELDERCARE_RETURN_IF_ERROR(events::ValidateId(name, Str(value)));
  return Status::Ok();
}

// --- Policy ----------------------------------------------------------------------

Status OnPolicy(Fold& f, S::PolicyPublished::Reader p) {
  std::string version = Str(p.getVersion());
  if (f.Exists(keys::Join({"pv", version}))) {
    return Status::AlreadyExists("policy version '" + version + "' is already published");
  }
  if (p.getProgrammes().size() == 0) return Status::InvalidArgument("a policy needs at least one programme");
  std::set<std::string> programmes, services;
  for (auto prog : p.getProgrammes()) {
    std::string id = Str(prog.getId());
    ELDERCARE_RETURN_IF_ERROR(events::ValidateId("programme id", id));
    if (!programmes.insert(id).second) return Status::InvalidArgument("programme '" + id + "' appears twice");
    std::set<std::string> conds;
    for (auto c : prog.getConditions()) {
      if (!conds.insert(Str(c.getId())).second) {
        return Status::InvalidArgument("programme '" + id + "': condition '" + Str(c.getId()) + "' appears twice");
      }
    }
    for (auto a : prog.getAmounts()) {
      if (a.getAmountFen() < 0) return Status::InvalidArgument("programme '" + id + "': negative amount");
    }
  }
  for (auto s : p.getServices()) {
    std::string code = Str(s.getCode());
    ELDERCARE_RETURN_IF_ERROR(events::ValidateId("service code", code));
    if (!services.insert(code).second) return Status::InvalidArgument("service '" + code + "' appears twice");
    if (!programmes.count(Str(s.getProgramme()))) {
      return Status::InvalidArgument("service '" + code + "' belongs to programme '" + Str(s.getProgramme()) +
                                     "', which this policy does not define");
    }
    if (s.getUnitPriceFen() < 0) return Status::InvalidArgument("service '" + code + "' has a negative price");
  }
  auto split = p.getFunding();
  if (split.getCityPermille() + split.getDistrictPermille() != 1000) {
    return Status::InvalidArgument("funding shares must add up to 1000 per mille, not " +
                                   std::to_string(split.getCityPermille() + split.getDistrictPermille()));
  }
  Draft<S::PolicyRecord> d;
  d.root().setIndex(f.ctx.index);
  d.root().setPolicy(p);
  d.Save(f.state, keys::Join({"po", keys::SortableDate(p.getEffectiveFrom()), keys::BE64(f.ctx.index)}));
  f.PutIndex(keys::Join({"pv", version}));
  for (const auto& id : programmes) {
    if (!f.Exists(keys::Join({"pg", id}))) f.PutIndex(keys::Join({"pg", id}));
  }
  for (const auto& code : services) {
    if (!f.Exists(keys::Join({"sv", code}))) f.PutIndex(keys::Join({"sv", code}));
  }
  f.DatedFact('a', p.getEffectiveFrom());
  return Status::Ok();
}

// --- Enterprises and contracts ---------------------------------------------------

Status OnEnterpriseRegistered(Fold& f, S::EnterpriseRegistered::Reader e) {
  ELDERCARE_RETURN_IF_ERROR(Ids({{"enterprise_id", e.getEnterpriseId()}}));
  std::string id = Str(e.getEnterpriseId());
  if (f.Exists(keys::Join({"en", id}))) return Status::AlreadyExists("enterprise '" + id + "' is already registered");
  Draft<S::EnterpriseRecord> d;
  d.root().setIndex(f.ctx.index);
  d.root().setName(e.getName());
  d.root().setCreditCode(e.getCreditCode());
  d.root().setRegisteredOn(e.getRegisteredOn());
  d.Save(f.state, keys::Join({"en", id}));
  return Status::Ok();
}

Status OnContractSigned(Fold& f, S::ContractSigned::Reader c) {
  ELDERCARE_RETURN_IF_ERROR(Ids({{"contract_id", c.getContractId()}, {"enterprise_id", c.getEnterpriseId()}}));
  std::string id = Str(c.getContractId()), ent = Str(c.getEnterpriseId());
  ELDERCARE_RETURN_IF_ERROR(f.RequireEnterprise(ent));
  ELDERCARE_RETURN_IF_ERROR(f.RequireNotExited(ent));
  if (f.Exists(keys::Join({"ct", id}))) return Status::AlreadyExists("contract '" + id + "' already exists");
  if (c.getValidUntil() < c.getValidFrom()) {
    return Status::InvalidArgument("field 'valid_until' is before 'valid_from'");
  }
  for (auto com : c.getCommunities()) ELDERCARE_RETURN_IF_ERROR(events::ValidateId("communities[]", Str(com)));
  if (c.getCommunities().size() == 0) return Status::InvalidArgument("a contract must cover at least one community");
  for (auto prog : c.getProgrammes()) ELDERCARE_RETURN_IF_ERROR(f.RequireProgramme(Str(prog)));
  auto rec = Record<S::EnterpriseRecord>::Load(f.state, keys::Join({"en", ent}));
  Draft<S::EnterpriseRecord> d(rec->get());
  auto fact = ELDERCARE_GROW(d.root(), Contracts);
  fact.setIndex(f.ctx.index);
  fact.setContractId(c.getContractId());
  fact.setCommunities(c.getCommunities());
  fact.setProgrammes(c.getProgrammes());
  fact.setValidFrom(c.getValidFrom());
  fact.setValidUntil(c.getValidUntil());
  d.Save(f.state, keys::Join({"en", ent}));
  f.PutIndex(keys::Join({"ct", id}), ent);
  f.DatedFact('a', c.getValidFrom());
  return Status::Ok();
}

Status OnContractEnded(Fold& f, S::ContractEnded::Reader c) {
  std::string id = Str(c.getContractId());
  auto ent = f.IndexTarget(keys::Join({"ct", id}));
  if (!ent) return Status::NotFound("unknown contract '" + id + "'");
  auto rec = Record<S::EnterpriseRecord>::Load(f.state, keys::Join({"en", *ent}));
  Draft<S::EnterpriseRecord> d(rec->get());
  for (auto fact : d.root().getContracts()) {
    if (Str(fact.getContractId()) != id) continue;
    if (fact.hasEnded()) return Status::FailedPrecondition("contract '" + id + "' has already ended");
    if (c.getEndedOn() < fact.getValidFrom()) return Status::InvalidArgument("contract ends before it starts");
    fact.initEnded().setIndex(f.ctx.index);
    fact.getEnded().setEndedOn(c.getEndedOn());
  }
  d.Save(f.state, keys::Join({"en", *ent}));
  f.DatedFact('a', c.getEndedOn());
  return Status::Ok();
}

// --- Elders ----------------------------------------------------------------------

// Micro-degrees: latitude within +-90, longitude within +-180 degrees.
Status CheckCoordinates(const char* lat_field, int32_t lat, const char* lon_field, int32_t lon) {
  if (lat < -90'000'000 || lat > 90'000'000) {
    return Status::InvalidArgument(std::string("field '") + lat_field + "': " + std::to_string(lat) +
                                   " micro-degrees is not a latitude (-90 to 90 degrees)");
  }
  if (lon < -180'000'000 || lon > 180'000'000) {
    return Status::InvalidArgument(std::string("field '") + lon_field + "': " + std::to_string(lon) +
                                   " micro-degrees is not a longitude (-180 to 180 degrees)");
  }
  return Status::Ok();
}

Status OnElderRegistered(Fold& f, S::ElderRegistered::Reader e) {
  ELDERCARE_RETURN_IF_ERROR(Ids({{"elder_id", e.getElderId()}, {"community", e.getCommunity()}}));
  std::string id = Str(e.getElderId());
  if (f.Exists(keys::Join({"el", id}))) return Status::AlreadyExists("elder '" + id + "' is already registered");
  if (e.getBirthDate() > e.getRegisteredOn()) return Status::InvalidArgument("field 'birth_date' is after 'registered_on'");
  ELDERCARE_RETURN_IF_ERROR(CheckCoordinates("home_lat_micro", e.getHomeLatMicro(), "home_lon_micro", e.getHomeLonMicro()));
  if (e.hasIdNumberHmac()) {
    std::string hmac(reinterpret_cast<const char*>(e.getIdNumberHmac().begin()), e.getIdNumberHmac().size());
    if (auto other = f.IndexTarget(keys::Join({"hm", hmac}))) {
      return Status::AlreadyExists("the same person (same ID number) is already registered as elder '" + *other + "'");
    }
    f.PutIndex(keys::Join({"hm", hmac}), id);
  }
  Draft<S::ElderRecord> d;
  d.root().setIndex(f.ctx.index);
  d.root().setProfile(e);
  d.Save(f.state, keys::Join({"el", id}));
  return Status::Ok();
}

// Loads an elder for changing; NotFound names the elder.
Result<std::unique_ptr<Draft<S::ElderRecord>>> EditElder(Fold& f, const std::string& id) {
  auto rec = Record<S::ElderRecord>::Load(f.state, keys::Join({"el", id}));
  if (!rec) return Status::NotFound("unknown elder '" + id + "'");
  return std::make_unique<Draft<S::ElderRecord>>(rec->get());
}

Status OnCircumstance(Fold& f, S::CircumstanceRecorded::Reader c) {
  std::string id = Str(c.getElderId());
  ELDERCARE_ASSIGN_OR_RETURN(auto d, EditElder(f, id));
  auto fact = ELDERCARE_GROW(d->root(), Circumstances);
  fact.setIndex(f.ctx.index);
  fact.setCircumstance(c.getCircumstance());
  fact.setChange(c.getChange());
  fact.setEffectiveOn(c.getEffectiveOn());
  d->Save(f.state, keys::Join({"el", id}));
  f.DatedFact('e', c.getEffectiveOn(), id);
  return Status::Ok();
}

Status OnAssessment(Fold& f, S::AssessmentRecorded::Reader a) {
  ELDERCARE_RETURN_IF_ERROR(Ids({{"assessment_id", a.getAssessmentId()}}));
  std::string id = Str(a.getElderId());
  AbilityScores s{a.getSelfCare(), a.getMobility(), a.getMental(), a.getPerception(),
                  a.getComa(), a.getDementia(), a.getRiskEvents30d()};
  ELDERCARE_RETURN_IF_ERROR(CheckScores(s));
  auto want = LevelFor(s);
  if (a.getLevel() != want) {
    return Status::InvalidArgument("field 'level': '" + std::string(LevelName(a.getLevel())) +
                                   "' is not GB/T 42195's level for these scores (total " + std::to_string(s.total()) +
                                   " gives '" + LevelName(want) + "')");
  }
  if (a.getValidUntil() < a.getAssessedOn()) return Status::InvalidArgument("field 'valid_until' is before 'assessed_on'");
  ELDERCARE_ASSIGN_OR_RETURN(auto d, EditElder(f, id));
  for (auto prior : d->root().getAssessments()) {
    if (prior.getAssessmentId() == a.getAssessmentId()) {
      return Status::AlreadyExists("assessment '" + Str(a.getAssessmentId()) + "' is already recorded");
    }
  }
  auto fact = ELDERCARE_GROW(d->root(), Assessments);
  fact.setIndex(f.ctx.index);
  fact.setAssessmentId(a.getAssessmentId());
  fact.setAssessedOn(a.getAssessedOn());
  fact.setValidUntil(a.getValidUntil());
  fact.setLevel(a.getLevel());
  fact.setDementia(a.getDementia());
  fact.setTotal(static_cast<uint8_t>(s.total()));
  d->Save(f.state, keys::Join({"el", id}));
  f.DatedFact('e', a.getAssessedOn(), id);
  return Status::Ok();
}

// --- Applications ----------------------------------------------------------------

Status OnApplication(Fold& f, S::ApplicationSubmitted::Reader a) {
  ELDERCARE_RETURN_IF_ERROR(Ids({{"application_id", a.getApplicationId()}, {"elder_id", a.getElderId()}}));
  std::string id = Str(a.getApplicationId()), elder = Str(a.getElderId()), prog = Str(a.getProgramme());
  if (f.Exists(keys::Join({"ap", id}))) return Status::AlreadyExists("application '" + id + "' already exists");
  ELDERCARE_RETURN_IF_ERROR(f.RequireProgramme(prog));
  if (f.ctx.role == S::Role::ENTERPRISE && a.getFiledBy() != S::Filer::ENTERPRISE) {
    return Status::InvalidArgument("field 'filed_by': an enterprise files as 'enterprise'");
  }
  ELDERCARE_ASSIGN_OR_RETURN(auto d, EditElder(f, elder));
  auto ref = ELDERCARE_GROW(d->root(), Applications);
  ref.setIndex(f.ctx.index);
  ref.setApplicationId(a.getApplicationId());
  ref.setProgramme(a.getProgramme());
  d->Save(f.state, keys::Join({"el", elder}));
  Draft<S::ApplicationRecord> r;
  r.root().setIndex(f.ctx.index);
  r.root().setApplicationId(a.getApplicationId());
  r.root().setElderId(a.getElderId());
  r.root().setProgramme(a.getProgramme());
  r.root().setFiledBy(a.getFiledBy());
  r.root().setFiledOn(a.getFiledOn());
  r.root().setWriter(std::string(f.ctx.writer));
  r.root().setClaimed(a.getClaimed());
  r.Save(f.state, keys::Join({"ap", id}));
  f.DatedFact('e', a.getFiledOn(), elder);
  return Status::Ok();
}

enum class Stage { kCommunity, kSubdistrict, kDecision };

Status OnStage(Fold& f, Stage stage, capnp::Text::Reader app_id, S::Decision decision, int32_t on,
               int32_t effective_from) {
  std::string id = Str(app_id);
  auto rec = Record<S::ApplicationRecord>::Load(f.state, keys::Join({"ap", id}));
  if (!rec) return Status::NotFound("unknown application '" + id + "'");
  Draft<S::ApplicationRecord> d(rec->get());
  auto r = d.root();
  auto pass = [](S::StageFact::Reader s) { return s.getIndex() != 0 && s.getDecision() == S::Decision::PASS; };
  S::StageFact::Builder fact = r.getCommunityReview();
  switch (stage) {
    case Stage::kCommunity:
      if (r.getCommunityReview().getIndex() != 0) return Status::AlreadyExists("application '" + id + "' already has a community review");
      fact = r.initCommunityReview();
      break;
    case Stage::kSubdistrict:
      if (r.getCommunityReview().getIndex() == 0) {
        return Status::FailedPrecondition("application '" + id + "': subdistrict review before the community review");
      }
      if (!pass(r.getCommunityReview().asReader())) {
        return Status::FailedPrecondition("application '" + id + "' was rejected by the community review");
      }
      if (r.getSubdistrictReview().getIndex() != 0) return Status::AlreadyExists("application '" + id + "' already has a subdistrict review");
      fact = r.initSubdistrictReview();
      break;
    case Stage::kDecision:
      if (!pass(r.getCommunityReview().asReader()) || !pass(r.getSubdistrictReview().asReader())) {
        return Status::FailedPrecondition("application '" + id +
                                          "': the bureau decides only after the community and subdistrict reviews pass");
      }
      if (r.getDecision().getIndex() != 0) return Status::AlreadyExists("application '" + id + "' is already decided");
      if (decision == S::Decision::PASS && effective_from == 0) {
        return Status::InvalidArgument("missing required field 'effective_from' for an approval");
      }
      fact = r.initDecision();
      break;
  }
  // Each level acts on what the level before it did: not before it.
  int32_t before = stage == Stage::kCommunity     ? r.getFiledOn()
                   : stage == Stage::kSubdistrict ? r.getCommunityReview().getOn()
                                                  : r.getSubdistrictReview().getOn();
  if (on < before) {
    const char* field = stage == Stage::kDecision ? "decided_on" : "reviewed_on";
    const char* what = stage == Stage::kCommunity     ? "the application was filed"
                       : stage == Stage::kSubdistrict ? "the community review"
                                                      : "the subdistrict review";
    return Status::InvalidArgument("application '" + id + "': field '" + field + "' " + FormatDate(on) + " is before " +
                                   what + " (" + FormatDate(before) + ")");
  }
  fact.setIndex(f.ctx.index);
  fact.setDecision(decision);
  fact.setOn(on);
  fact.setEffectiveFrom(effective_from);
  fact.setWriter(std::string(f.ctx.writer));
  d.Save(f.state, keys::Join({"ap", id}));
  // A statement reads an application from its filing day, and its
  // approval from the day that takes effect.
  f.DatedFact('e', stage == Stage::kDecision ? effective_from : r.getFiledOn(), Str(r.getElderId()));
  return Status::Ok();
}

Status OnEntitlementEnded(Fold& f, S::EntitlementEnded::Reader e) {
  std::string id = Str(e.getElderId());
  ELDERCARE_RETURN_IF_ERROR(f.RequireProgramme(Str(e.getProgramme())));
  ELDERCARE_ASSIGN_OR_RETURN(auto d, EditElder(f, id));
  auto fact = ELDERCARE_GROW(d->root(), EntitlementEnds);
  fact.setIndex(f.ctx.index);
  fact.setProgramme(e.getProgramme());
  fact.setEndedOn(e.getEndedOn());
  fact.setReason(e.getReason());
  d->Save(f.state, keys::Join({"el", id}));
  f.DatedFact('e', e.getEndedOn(), id);
  return Status::Ok();
}

// --- Services --------------------------------------------------------------------

Status OnAssigned(Fold& f, S::ServiceAssigned::Reader a) {
  ELDERCARE_RETURN_IF_ERROR(Ids({{"assignment_id", a.getAssignmentId()}, {"enterprise_id", a.getEnterpriseId()}}));
  std::string id = Str(a.getAssignmentId()), elder = Str(a.getElderId()), ent = Str(a.getEnterpriseId());
  ELDERCARE_RETURN_IF_ERROR(f.RequireOwn(ent, "accept an assignment"));
  ELDERCARE_RETURN_IF_ERROR(f.RequireEnterprise(ent));
  ELDERCARE_RETURN_IF_ERROR(f.RequireNotExited(ent));
  ELDERCARE_RETURN_IF_ERROR(f.RequireProgramme(Str(a.getProgramme())));
  if (f.Exists(keys::Join({"as", id}))) return Status::AlreadyExists("assignment '" + id + "' already exists");
  if (a.getValidUntil() != 0 && a.getValidUntil() < a.getValidFrom()) {
    return Status::InvalidArgument("field 'valid_until' is before 'valid_from'");
  }
  ELDERCARE_ASSIGN_OR_RETURN(auto d, EditElder(f, elder));
  auto fact = ELDERCARE_GROW(d->root(), Assignments);
  fact.setIndex(f.ctx.index);
  fact.setAssignmentId(a.getAssignmentId());
  fact.setEnterpriseId(a.getEnterpriseId());
  fact.setProgramme(a.getProgramme());
  fact.setValidFrom(a.getValidFrom());
  fact.setValidUntil(a.getValidUntil());
  d->Save(f.state, keys::Join({"el", elder}));
  f.PutIndex(keys::Join({"as", id}), elder);
  f.PutIndex(keys::Join({"ae", ent, elder, id}));
  return Status::Ok();
}

Status OnDelivered(Fold& f, S::ServiceDelivered::Reader d) {
  ELDERCARE_RETURN_IF_ERROR(Ids({{"delivery_id", d.getDeliveryId()},
                                 {"elder_id", d.getElderId()},
                                 {"enterprise_id", d.getEnterpriseId()},
                                 {"worker_id", d.getWorkerId()}}));
  std::string id = Str(d.getDeliveryId()), elder = Str(d.getElderId()), ent = Str(d.getEnterpriseId()),
              worker = Str(d.getWorkerId());
  if (ent != f.ctx.writer) {
    return Status::PermissionDenied("a delivery is signed by the enterprise that made it; '" +
                                    std::string(f.ctx.writer) + "' signed one for '" + ent + "'");
  }
  if (d.getCheckOut() < d.getCheckIn()) return Status::InvalidArgument("field 'check_out' is before 'check_in'");
  if (d.getPlannedStart() != 0 && d.getPlannedEnd() != 0 && d.getPlannedEnd() < d.getPlannedStart()) {
    return Status::InvalidArgument("field 'planned_end' is before 'planned_start'");
  }
  ELDERCARE_RETURN_IF_ERROR(
      CheckCoordinates("check_in_lat_micro", d.getCheckInLatMicro(), "check_in_lon_micro", d.getCheckInLonMicro()));
  ELDERCARE_RETURN_IF_ERROR(
      CheckCoordinates("check_out_lat_micro", d.getCheckOutLatMicro(), "check_out_lon_micro", d.getCheckOutLonMicro()));
  if (d.getCheckOut() - d.getCheckIn() > kMicrosPerDay) {
    return Status::InvalidArgument("a visit of more than 24 hours is not a visit (check_in to check_out)");
  }
  ELDERCARE_RETURN_IF_ERROR(f.RequireElder(elder));
  ELDERCARE_RETURN_IF_ERROR(f.RequireEnterprise(ent));
  ELDERCARE_RETURN_IF_ERROR(f.RequireProgramme(Str(d.getProgramme())));
  if (!f.Exists(keys::Join({"sv", Str(d.getService())}))) {
    return Status::NotFound("service '" + Str(d.getService()) + "' is in no published catalogue");
  }
  std::string di = keys::Join({"di", ent, id});
  if (f.Exists(di)) return Status::AlreadyExists("delivery '" + id + "' of enterprise '" + ent + "' is already recorded");
  std::string month = DeliveryMonth(d.getCheckIn());
  std::string primary = DeliveryKey(month, elder, d.getCheckIn(), ent, id);
  // The first delivery to carry this evidence; a later one with the same
  // hash is a duplicate claim. Folding is in log order, so "an earlier one
  // exists" is known now and true at every size that holds this delivery:
  // it is kept in the record, and a statement need not look it up.
  std::string evidence(reinterpret_cast<const char*>(d.getEvidence().begin()), d.getEvidence().size());
  std::string ev = keys::Join({"ev", evidence});
  bool reused = f.Exists(ev);
  Draft<S::DeliveryRecord> r;
  r.root().setIndex(f.ctx.index);
  r.root().setRecordedAt(f.ctx.recorded_at);
  r.root().setClaim(d);
  r.root().setReusesEvidence(reused);
  r.Save(f.state, primary);
  // What the id lookup needs beyond its own key to name the record: the
  // check-in (and so the month) and the elder (keys.h).
  f.PutIndex(di, keys::BE64(static_cast<uint64_t>(d.getCheckIn())) + elder);
  std::string de = keys::Join({"de", ent, month, elder});
  if (!f.Exists(de)) f.PutIndex(de);
  // The worker's visit: check-out time first, so that overlaps are found
  // from the lookups alone.
  f.PutIndex(keys::Join({"dw", month, ent, worker, keys::BE64(static_cast<uint64_t>(d.getCheckIn())), id}),
             keys::BE64(static_cast<uint64_t>(d.getCheckOut())) + primary);
  // Only that it exists and where it was made are ever read (anomalies.cc).
  if (!reused) f.PutIndex(ev);
  f.DeliveryChanged(month);
  return Status::Ok();
}

// The primary key of enterprise `ent`'s delivery `id`.
Result<std::string> FindDelivery(const Fold& f, const std::string& ent, const std::string& id) {
  auto target = f.IndexTarget(keys::Join({"di", ent, id}));
  if (!target) return Status::NotFound("unknown delivery '" + id + "' of enterprise '" + ent + "'");
  if (target->size() < 8) return Status::Corruption("the lookup of delivery '" + id + "' of '" + ent + "' is malformed");
  auto check_in = static_cast<int64_t>(GetBigEndian64(reinterpret_cast<const uint8_t*>(target->data())));
  return DeliveryKey(DeliveryMonth(check_in), std::string_view(*target).substr(8), check_in, ent, id);
}

Status OnVoided(Fold& f, S::DeliveryVoided::Reader v) {
  std::string ent = Str(v.getEnterpriseId()), id = Str(v.getDeliveryId());
  ELDERCARE_RETURN_IF_ERROR(f.RequireOwn(ent, "void a delivery"));
  ELDERCARE_ASSIGN_OR_RETURN(std::string key, FindDelivery(f, ent, id));
  auto rec = Record<S::DeliveryRecord>::Load(f.state, key);
  Draft<S::DeliveryRecord> d(rec->get());
  if (d.root().hasVoided()) return Status::FailedPrecondition("delivery '" + id + "' is already voided");
  std::string month = DeliveryMonth(d.root().getClaim().getCheckIn());
  if (f.Exists(keys::Join({"bc", ent, month}))) {
    return Status::FailedPrecondition("the billing period " + month + " of '" + ent +
                                      "' is closed; a correction is an adjustment in a later period");
  }
  auto fact = d.root().initVoided();
  fact.setIndex(f.ctx.index);
  fact.setVoidedOn(v.getVoidedOn());
  fact.setReason(v.getReason());
  auto claim = d.root().getClaim();
  // Beside the worker's visit: a voided visit overlaps nothing, and a
  // statement learns which are voided from this range, not by reading records.
  f.PutIndex(keys::Join({"dx", ent, Str(claim.getWorkerId()), keys::BE64(static_cast<uint64_t>(claim.getCheckIn())), id}), key);
  d.Save(f.state, key);
  f.DeliveryChanged(month);
  return Status::Ok();
}

Status AddCheck(Fold& f, const std::string& key, capnp::Text::Reader ref, bool spot, S::CallOutcome call,
                S::SpotCheckOutcome outcome) {
  auto rec = Record<S::DeliveryRecord>::Load(f.state, key);
  Draft<S::DeliveryRecord> d(rec->get());
  auto fact = ELDERCARE_GROW(d.root(), Checks);
  fact.setIndex(f.ctx.index);
  fact.setRef(ref);
  fact.setIsSpotCheck(spot);
  fact.setFollowUp(call);
  fact.setSpotCheck(outcome);
  d.Save(f.state, key);
  f.DeliveryChanged(DeliveryMonth(d.root().getClaim().getCheckIn()));
  return Status::Ok();
}

// --- Supervision -----------------------------------------------------------------

Status OnFollowUp(Fold& f, S::FollowUpCall::Reader c) {
  ELDERCARE_RETURN_IF_ERROR(Ids({{"call_id", c.getCallId()}}));
  std::string id = Str(c.getCallId()), elder = Str(c.getElderId()), ent = Str(c.getEnterpriseId()),
              month = Str(c.getMonth());
  ELDERCARE_RETURN_IF_ERROR(f.RequireMonth(month));
  ELDERCARE_RETURN_IF_ERROR(f.RequireElder(elder));
  ELDERCARE_RETURN_IF_ERROR(f.RequireEnterprise(ent));
  if (c.getSatisfaction() > 5) return Status::InvalidArgument("field 'satisfaction' must be 0 (not asked) to 5");
  // The elder is asked about the month's visits: not before it began.
  if (DateOfTimestamp(c.getCalledAt(), kChinaOffsetMinutes) < FirstDayOfMonth(*ParseMonth(month))) {
    return Status::InvalidArgument("field 'called_at': " + FormatTimestampOffset(c.getCalledAt(), kChinaOffsetMinutes) +
                                   " is before " + month + " began, the month the call asks about");
  }
  if (f.Exists(keys::Join({"fi", id}))) return Status::AlreadyExists("call '" + id + "' is already recorded");
  std::vector<std::string> targets;
  for (auto del : c.getDeliveries()) {
    ELDERCARE_ASSIGN_OR_RETURN(std::string key, FindDelivery(f, ent, Str(del)));
    auto rec = Record<S::DeliveryRecord>::Load(f.state, key);
    if (Str(rec->get().getClaim().getElderId()) != elder) {
      return Status::InvalidArgument("delivery '" + Str(del) + "' was not to elder '" + elder + "'");
    }
    if (std::string from = DeliveryMonth(rec->get().getClaim().getCheckIn()); from != month) {
      return Status::InvalidArgument("delivery '" + Str(del) + "' is from " + from + ", not the call's month " + month);
    }
    targets.push_back(key);
  }
  for (const auto& key : targets) {
    ELDERCARE_RETURN_IF_ERROR(AddCheck(f, key, c.getCallId(), false, c.getOutcome(), S::SpotCheckOutcome::VERIFIED));
  }
  Draft<S::CallRecord> r;
  r.root().setIndex(f.ctx.index);
  r.root().setCall(c);
  r.Save(f.state, keys::Join({"fc", ent, month, id}));
  f.PutIndex(keys::Join({"fi", id}));
  return Status::Ok();
}

Status OnComplaintFiled(Fold& f, S::ComplaintFiled::Reader c) {
  ELDERCARE_RETURN_IF_ERROR(Ids({{"complaint_id", c.getComplaintId()}}));
  std::string id = Str(c.getComplaintId()), ent = Str(c.getEnterpriseId());
  ELDERCARE_RETURN_IF_ERROR(f.RequireEnterprise(ent));
  if (c.hasElderId() && c.getElderId().size() > 0) ELDERCARE_RETURN_IF_ERROR(f.RequireElder(Str(c.getElderId())));
  if (f.Exists(keys::Join({"ci", id}))) return Status::AlreadyExists("complaint '" + id + "' already exists");
  Draft<S::ComplaintRecord> r;
  r.root().setIndex(f.ctx.index);
  r.root().setComplaint(c);
  r.Save(f.state, keys::Join({"co", ent, id}));
  f.PutIndex(keys::Join({"ci", id}), ent);
  return Status::Ok();
}

Status OnComplaintClosed(Fold& f, S::ComplaintClosed::Reader c) {
  std::string id = Str(c.getComplaintId());
  auto ent = f.IndexTarget(keys::Join({"ci", id}));
  if (!ent) return Status::NotFound("unknown complaint '" + id + "'");
  std::string key = keys::Join({"co", *ent, id});
  auto rec = Record<S::ComplaintRecord>::Load(f.state, key);
  if (rec->get().hasClosed()) return Status::FailedPrecondition("complaint '" + id + "' is already closed");
  if (c.getClosedOn() < rec->get().getComplaint().getFiledOn()) {
    return Status::InvalidArgument("complaint '" + id + "' closed before it was filed");
  }
  Draft<S::ComplaintRecord> d(rec->get());
  auto fact = d.root().initClosed();
  fact.setIndex(f.ctx.index);
  fact.setClosedOn(c.getClosedOn());
  fact.setOutcome(c.getOutcome());
  d.Save(f.state, key);
  return Status::Ok();
}

Status OnPlanned(Fold& f, S::SpotCheckPlanned::Reader p) {
  ELDERCARE_RETURN_IF_ERROR(Ids({{"plan_id", p.getPlanId()}}));
  std::string id = Str(p.getPlanId());
  ELDERCARE_RETURN_IF_ERROR(f.RequireMonth(Str(p.getMonth())));
  if (f.Exists(keys::Join({"sp", id}))) return Status::AlreadyExists("spot-check plan '" + id + "' already exists");
  if (p.getEnterprises().size() == 0) return Status::InvalidArgument("a plan names at least one enterprise");
  std::set<std::string> named;
  for (auto e : p.getEnterprises()) {
    ELDERCARE_RETURN_IF_ERROR(f.RequireEnterprise(Str(e)));
    if (!named.insert(Str(e)).second) return Status::InvalidArgument("the plan names enterprise '" + Str(e) + "' twice");
  }
  if (p.getSampleSize() == 0 && p.getSamplePermille() == 0) {
    return Status::InvalidArgument("a plan needs 'sample_size' or 'sample_permille'");
  }
  if (p.getSamplePermille() > 1000) return Status::InvalidArgument("field 'sample_permille' is above 1000");
  if (p.getCheckpointSize() > f.ctx.index) {
    return Status::InvalidArgument("field 'checkpoint_size': " + std::to_string(p.getCheckpointSize()) +
                                   " is beyond the log at this plan's position " + std::to_string(f.ctx.index));
  }
  // The sample is fixed by the plan (its checkpoint already exists): drawn
  // once here, so that a result can be held to it.
  Hash root{};
  std::memcpy(root.data(), p.getCheckpointRoot().begin(), std::min<size_t>(kHashSize, p.getCheckpointRoot().size()));
  std::vector<std::string> enterprises;
  for (auto e : p.getEnterprises()) enterprises.push_back(Str(e));
  ELDERCARE_ASSIGN_OR_RETURN(Sample sample,
                             DrawSampleFor(f.state, f.ctx.index, id, enterprises, Str(p.getMonth()), p.getSampleSize(),
                                           p.getSamplePermille(), p.getCheckpointSize(), root));
  for (const SampledDelivery& d : sample.deliveries) f.PutIndex(keys::Join({"ss", id, d.enterprise, d.delivery_id}));
  Draft<S::PlanRecord> r;
  r.root().setIndex(f.ctx.index);
  r.root().setPlan(p);
  r.Save(f.state, keys::Join({"sp", id}));
  return Status::Ok();
}

Status OnSpotResult(Fold& f, S::SpotCheckResult::Reader s) {
  std::string plan = Str(s.getPlanId()), ent = Str(s.getEnterpriseId()), id = Str(s.getDeliveryId());
  auto p = Record<S::PlanRecord>::Load(f.state, keys::Join({"sp", plan}));
  if (!p) return Status::NotFound("unknown spot-check plan '" + plan + "'");
  bool planned = false;
  for (auto e : p->get().getPlan().getEnterprises()) planned |= Str(e) == ent;
  if (!planned) return Status::InvalidArgument("plan '" + plan + "' does not cover enterprise '" + ent + "'");
  if (int32_t planned_on = p->get().getPlan().getPlannedOn(); s.getCheckedOn() < planned_on) {
    return Status::InvalidArgument("field 'checked_on' " + FormatDate(s.getCheckedOn()) + " is before plan '" + plan +
                                   "' was made (" + FormatDate(planned_on) + ")");
  }
  ELDERCARE_ASSIGN_OR_RETURN(std::string key, FindDelivery(f, ent, id));
  auto rec = Record<S::DeliveryRecord>::Load(f.state, key);
  std::string month = DeliveryMonth(rec->get().getClaim().getCheckIn());
  if (month != Str(p->get().getPlan().getMonth())) {
    return Status::InvalidArgument("delivery '" + id + "' is from " + month + ", not the plan's month " +
                                   Str(p->get().getPlan().getMonth()));
  }
  if (!f.Exists(keys::Join({"ss", plan, ent, id}))) {
    return Status::InvalidArgument("delivery '" + id + "' of '" + ent + "' is not in the sample of plan '" + plan +
                                   "', drawn from the checkpoint at size " +
                                   std::to_string(p->get().getPlan().getCheckpointSize()) +
                                   " (audit-cli spotcheck sample --plan " + plan + ")");
  }
  std::string sr = keys::Join({"sr", ent, month, plan, id});
  if (f.Exists(sr)) return Status::AlreadyExists("delivery '" + id + "' already has a result in plan '" + plan + "'");
  ELDERCARE_RETURN_IF_ERROR(AddCheck(f, key, s.getPlanId(), true, S::CallOutcome::CONFIRMED, s.getOutcome()));
  Draft<S::SpotResultRecord> r;
  r.root().setIndex(f.ctx.index);
  r.root().setResult(s);
  r.Save(f.state, sr);
  return Status::Ok();
}

Status OnStatus(Fold& f, S::StatusKind kind, S::EnterpriseStatusChanged::Reader s) {
  std::string ent = Str(s.getEnterpriseId());
  auto rec = Record<S::EnterpriseRecord>::Load(f.state, keys::Join({"en", ent}));
  if (!rec) return Status::NotFound("unknown enterprise '" + ent + "'");
  auto history = rec->get().getStatus();
  bool suspended = false;
  for (auto h : history) {
    if (h.getKind() == S::StatusKind::EXITED) {
      return Status::FailedPrecondition("enterprise '" + ent + "' has exited; its status no longer changes");
    }
    suspended = h.getKind() == S::StatusKind::SUSPENDED;
  }
  if (kind == S::StatusKind::REINSTATED && !suspended) {
    return Status::FailedPrecondition("enterprise '" + ent + "' is not suspended");
  }
  Draft<S::EnterpriseRecord> d(rec->get());
  auto fact = ELDERCARE_GROW(d.root(), Status);
  fact.setIndex(f.ctx.index);
  fact.setKind(kind);
  fact.setEffectiveFrom(s.getEffectiveFrom());
  fact.setReason(s.getReason());
  fact.setEvidence(s.getEvidence());
  d.Save(f.state, keys::Join({"en", ent}));
  f.DatedFact('a', s.getEffectiveFrom());
  return Status::Ok();
}

// --- Money -----------------------------------------------------------------------

Status OnClosed(Fold& f, S::BillingPeriodClosed::Reader c) {
  std::string ent = Str(c.getEnterpriseId()), month = Str(c.getMonth());
  ELDERCARE_RETURN_IF_ERROR(f.RequireEnterprise(ent));
  ELDERCARE_RETURN_IF_ERROR(f.RequireMonth(month));
  std::string key = keys::Join({"bc", ent, month});
  if (f.Exists(key)) return Status::AlreadyExists("the billing period " + month + " of '" + ent + "' is already closed");
  // A month is closed once it is over: its last day's visits are in it.
  if (int32_t next = FirstDayOfMonth(*ParseMonth(month) + 1); c.getClosedOn() < next) {
    return Status::InvalidArgument("field 'closed_on': " + FormatDate(c.getClosedOn()) + " is before " + month +
                                   " ended (a month is closed from " + FormatDate(next) + " on)");
  }
  if (c.getAtSize() > f.ctx.index) {
    return Status::InvalidArgument("field 'at_size': " + std::to_string(c.getAtSize()) +
                                   " is beyond the log at this close's position " + std::to_string(f.ctx.index));
  }
  auto rec = Record<S::EnterpriseRecord>::Load(f.state, keys::Join({"en", ent}));
  if (c.getAtSize() <= rec->get().getIndex()) {
    return Status::InvalidArgument("field 'at_size': at size " + std::to_string(c.getAtSize()) + " enterprise '" + ent +
                                   "' was not yet registered (index " + std::to_string(rec->get().getIndex()) + ")");
  }
  Draft<S::CloseRecord> r;
  r.root().setIndex(f.ctx.index);
  r.root().setClose(c);
  r.Save(f.state, key);
  return Status::Ok();
}

// Allocations, payments and recoveries: a positive amount for a registered
// enterprise's month, under an id used once.
struct MoneyKind {
  const char* id_field;  // the id's field, for errors
  const char* noun;      // "payment 'x' already exists"
  const char* prefix;    // record: prefix month enterpriseId id
  const char* unique;    // lookup: unique id
};

template <typename RecordT, typename Reader, typename Fill>
Status OnMoney(Fold& f, const MoneyKind& kind, Reader m, capnp::Text::Reader id_text, Fill fill) {
  ELDERCARE_RETURN_IF_ERROR(Ids({{kind.id_field, id_text}}));
  std::string id = Str(id_text), ent = Str(m.getEnterpriseId()), month = Str(m.getMonth());
  ELDERCARE_RETURN_IF_ERROR(f.RequireEnterprise(ent));
  ELDERCARE_RETURN_IF_ERROR(f.RequireMonth(month));
  if (m.getAmountFen() <= 0) return Status::InvalidArgument("field 'amount_fen' must be positive");
  if (f.Exists(keys::Join({kind.unique, id}))) {
    return Status::AlreadyExists(std::string(kind.noun) + " '" + id + "' already exists");
  }
  Draft<RecordT> r;
  r.root().setIndex(f.ctx.index);
  fill(r.root(), m);
  r.Save(f.state, keys::Join({kind.prefix, month, ent, id}));
  f.PutIndex(keys::Join({kind.unique, id}));
  return Status::Ok();
}

Status OnAllocated(Fold& f, S::FundsAllocated::Reader a) {
  return OnMoney<S::AllocationRecord>(f, {"allocation_id", "allocation", "fa", "fai"}, a, a.getAllocationId(),
                                      [](auto r, auto m) { r.setAllocation(m); });
}

Status OnPaid(Fold& f, S::DisbursementPaid::Reader p) {
  return OnMoney<S::PaymentRecord>(f, {"payment_id", "payment", "fp", "fpi"}, p, p.getPaymentId(),
                                   [](auto r, auto m) { r.setPayment(m); });
}

// Money the enterprise paid back. Accepted for any month (as payments are):
// reconciliation flags one that no closed statement asked for.
Status OnRecovered(Fold& f, S::RecoveryReceived::Reader p) {
  return OnMoney<S::RecoveryRecord>(f, {"recovery_id", "recovery", "fr", "fri"}, p, p.getRecoveryId(),
                                    [](auto r, auto m) { r.setRecovery(m); });
}

Status OnEvaluation(Fold& f, S::EvaluationFiled::Reader e) {
  ELDERCARE_RETURN_IF_ERROR(Ids({{"report_id", e.getReportId()}}));
  std::string id = Str(e.getReportId());
  if (f.Exists(keys::Join({"er", id}))) return Status::AlreadyExists("report '" + id + "' already exists");
  Draft<S::EvaluationRecord> r;
  r.root().setIndex(f.ctx.index);
  r.root().setWriter(std::string(f.ctx.writer));
  r.root().setEvaluation(e);
  r.Save(f.state, keys::Join({"er", id}));
  return Status::Ok();
}

// --- Personal data ---------------------------------------------------------------

Status OnErased(Fold& f, S::ElderDataErased::Reader e) {
  std::string id = Str(e.getElderId());
  ELDERCARE_ASSIGN_OR_RETURN(auto d, EditElder(f, id));
  if (d->root().hasErased()) return Status::AlreadyExists("the personal data of elder '" + id + "' is already erased");
  auto fact = d->root().initErased();
  fact.setIndex(f.ctx.index);
  fact.setErasedOn(e.getErasedOn());
  d->Save(f.state, keys::Join({"el", id}));
  return Status::Ok();
}

Status OnRevealed(Fold& f, S::PersonalDataRevealed::Reader r) {
  std::string id = Str(r.getElderId());
  auto elder = Record<S::ElderRecord>::Load(f.state, keys::Join({"el", id}));
  if (!elder) return Status::NotFound("unknown elder '" + id + "'");
  if (elder->get().hasErased()) {
    return Status::FailedPrecondition("the personal data of elder '" + id + "' was erased on " +
                                      FormatDate(elder->get().getErased().getErasedOn()));
  }
  if (f.ctx.role == S::Role::ENTERPRISE) {
    // Only the elder's own contracted enterprise, under the confidentiality
    // agreement every contract carries (seed 002).
    std::string community = Str(elder->get().getProfile().getCommunity());
    auto ent = Record<S::EnterpriseRecord>::Load(f.state, keys::Join({"en", std::string(f.ctx.writer)}));
    bool covered = false;
    if (ent) {
      for (auto c : ent->get().getContracts()) {
        bool ended = c.hasEnded() && c.getEnded().getEndedOn() <= r.getRevealedOn();
        bool in_period = c.getValidFrom() <= r.getRevealedOn() && r.getRevealedOn() <= c.getValidUntil() && !ended;
        for (auto com : c.getCommunities()) covered |= in_period && Str(com) == community;
      }
    }
    if (!covered) {
      return Status::PermissionDenied("enterprise '" + std::string(f.ctx.writer) +
                                      "' has no contract (with its confidentiality agreement) covering community '" +
                                      community + "' on " + FormatDate(r.getRevealedOn()) +
                                      ": it may not see this elder's personal data");
    }
  }
  Draft<S::RevealRecord> rec;
  rec.root().setIndex(f.ctx.index);
  rec.root().setWriter(std::string(f.ctx.writer));
  rec.root().setReveal(r);
  rec.Save(f.state, keys::Join({"rv", id, keys::BE64(f.ctx.index)}));
  return Status::Ok();
}

}  // namespace

std::string DeliveryKey(std::string_view month, std::string_view elder, int64_t check_in, std::string_view enterprise,
                        std::string_view delivery_id) {
  return keys::Join({"dl", month, elder, keys::BE64(static_cast<uint64_t>(check_in)), enterprise, delivery_id});
}

std::string DeliveryMonth(int64_t check_in_micros) {
  return FormatMonth(MonthOfDate(DateOfTimestamp(check_in_micros, kChinaOffsetMinutes)));
}

Status ProgrammeProjector::Apply(const EventContext& ctx, EventBody::Reader body, StateStore& state) const {
  Fold f{ctx, state};
  switch (body.which()) {
    case EventBody::GENESIS:
    case EventBody::KEY_REGISTERED:
    case EventBody::KEY_REVOKED:
      return Status::Ok();
    case EventBody::POLICY_PUBLISHED: return OnPolicy(f, body.getPolicyPublished());
    case EventBody::ENTERPRISE_REGISTERED: return OnEnterpriseRegistered(f, body.getEnterpriseRegistered());
    case EventBody::CONTRACT_SIGNED: return OnContractSigned(f, body.getContractSigned());
    case EventBody::CONTRACT_ENDED: return OnContractEnded(f, body.getContractEnded());
    case EventBody::ELDER_REGISTERED: return OnElderRegistered(f, body.getElderRegistered());
    case EventBody::CIRCUMSTANCE_RECORDED: return OnCircumstance(f, body.getCircumstanceRecorded());
    case EventBody::ASSESSMENT_RECORDED: return OnAssessment(f, body.getAssessmentRecorded());
    case EventBody::APPLICATION_SUBMITTED: return OnApplication(f, body.getApplicationSubmitted());
    case EventBody::COMMUNITY_REVIEW: {
      auto r = body.getCommunityReview();
      return OnStage(f, Stage::kCommunity, r.getApplicationId(), r.getDecision(), r.getReviewedOn(), 0);
    }
    case EventBody::SUBDISTRICT_REVIEW: {
      auto r = body.getSubdistrictReview();
      return OnStage(f, Stage::kSubdistrict, r.getApplicationId(), r.getDecision(), r.getReviewedOn(), 0);
    }
    case EventBody::APPLICATION_DECIDED: {
      auto r = body.getApplicationDecided();
      return OnStage(f, Stage::kDecision, r.getApplicationId(), r.getDecision(), r.getDecidedOn(), r.getEffectiveFrom());
    }
    case EventBody::ENTITLEMENT_ENDED: return OnEntitlementEnded(f, body.getEntitlementEnded());
    case EventBody::SERVICE_ASSIGNED: return OnAssigned(f, body.getServiceAssigned());
    case EventBody::SERVICE_DELIVERED: return OnDelivered(f, body.getServiceDelivered());
    case EventBody::DELIVERY_VOIDED: return OnVoided(f, body.getDeliveryVoided());
    case EventBody::FOLLOW_UP_CALL: return OnFollowUp(f, body.getFollowUpCall());
    case EventBody::COMPLAINT_FILED: return OnComplaintFiled(f, body.getComplaintFiled());
    case EventBody::COMPLAINT_CLOSED: return OnComplaintClosed(f, body.getComplaintClosed());
    case EventBody::SPOT_CHECK_PLANNED: return OnPlanned(f, body.getSpotCheckPlanned());
    case EventBody::SPOT_CHECK_RESULT: return OnSpotResult(f, body.getSpotCheckResult());
    case EventBody::ENTERPRISE_SUSPENDED: return OnStatus(f, S::StatusKind::SUSPENDED, body.getEnterpriseSuspended());
    case EventBody::ENTERPRISE_REINSTATED: return OnStatus(f, S::StatusKind::REINSTATED, body.getEnterpriseReinstated());
    case EventBody::ENTERPRISE_EXITED: return OnStatus(f, S::StatusKind::EXITED, body.getEnterpriseExited());
    case EventBody::BILLING_PERIOD_CLOSED: return OnClosed(f, body.getBillingPeriodClosed());
    case EventBody::FUNDS_ALLOCATED: return OnAllocated(f, body.getFundsAllocated());
    case EventBody::DISBURSEMENT_PAID: return OnPaid(f, body.getDisbursementPaid());
    case EventBody::EVALUATION_FILED: return OnEvaluation(f, body.getEvaluationFiled());
    case EventBody::ELDER_DATA_ERASED: return OnErased(f, body.getElderDataErased());
    case EventBody::PERSONAL_DATA_REVEALED: return OnRevealed(f, body.getPersonalDataRevealed());
    case EventBody::RECOVERY_RECEIVED: return OnRecovered(f, body.getRecoveryReceived());
  }
  return Status::InvalidArgument("this build does not know how to fold the event");
}

}  // namespace eldercare::proj
