// masterkey, elder register, elder (show / --reveal), shred.
#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>

#include "audit-cli/context.h"
#include "ledger/client.h"
#include "ledger/event_json.h"
#include "ledger/personal.h"
#include "ledger/time_util.h"
#include "projections/keys.h"
#include "projections/snapshot.h"

namespace eldercare::cli {
namespace {

namespace S = schema;
using nlohmann::json;

// The elder's projection record as of now.
Result<proj::Record<S::ElderRecord>> FindElder(const Ledger& ledger, const std::string& id, ProjectionView* keep) {
  ELDERCARE_ASSIGN_OR_RETURN(*keep, ledger.Projections());
  proj::Snapshot snap(*keep->state, keep->size, keep->size);
  auto r = snap.Load<S::ElderRecord>(keys::Join({"el", id}));
  if (!r) return Status::NotFound("unknown elder '" + id + "'");
  return *r;
}

struct RegisterArgs {
  std::string ledger, actor, key, master, file = "-";
};
struct ShowArgs {
  std::string ledger, id, key, actor, master, purpose, on;
  bool reveal = false, json = false;
};
struct ShredArgs {
  std::string ledger, elder, operator_key, reason = "erasure requested", on;
};

Status Register(Context& ctx, const RegisterArgs& a) {
  ELDERCARE_ASSIGN_OR_RETURN(std::string text, ReadInput(ctx, a.file));
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument("the input must be one JSON object");
  std::optional<PersonalData> personal;
  if (j.contains("personal")) {
    ELDERCARE_ASSIGN_OR_RETURN(personal, PersonalData::FromJson(j["personal"]));
    j.erase("personal");
  }
  j["type"] = "elder_registered";
  SubmissionBuilder b(a.actor);
  auto event = b.AddEvent();
  ELDERCARE_RETURN_IF_ERROR(events::EventFromJson(j, event));
  auto reg = event.getElderRegistered();
  std::string elder(reg.getElderId().cStr());
  ELDERCARE_ASSIGN_OR_RETURN(PrivateKey key, LoadKey(a.key));
  ELDERCARE_ASSIGN_OR_RETURN(auto ledger, OpenLedger(ctx, a.ledger, true));
  ProjectionView view;
  if (FindElder(*ledger, elder, &view).ok()) return Status::AlreadyExists("elder '" + elder + "' is already registered");
  std::unique_ptr<KeyStore> keys;
  if (personal) {
    ELDERCARE_ASSIGN_OR_RETURN(SymmetricKey master, LoadMasterKey(a.master));
    ELDERCARE_ASSIGN_OR_RETURN(keys, KeyStore::Open(a.ledger, master));
    ELDERCARE_RETURN_IF_ERROR(SealPersonal(*keys, *personal, reg));
  }
  auto r = ledger->Append(b.Sign(key));
  if (!r.ok()) {
    if (keys) (void)keys->Destroy(elder);  // the key of a registration that did not happen
    return r.status();
  }
  ctx.out << "registered elder " << elder << " at index " << r->first_index
          << (personal ? " (personal data sealed; only ciphertext is in the log)" : "") << "\n";
  return Status::Ok();
}

Status Show(Context& ctx, const ShowArgs& a) {
  ELDERCARE_ASSIGN_OR_RETURN(auto ledger, OpenLedger(ctx, a.ledger, a.reveal));
  ProjectionView view;
  ELDERCARE_ASSIGN_OR_RETURN(auto rec, FindElder(*ledger, a.id, &view));
  json record = events::StructToJson(capnp::toDynamic(rec.get()));
  json reveals = json::array();
  proj::Snapshot snap(*view.state, view.size, view.size);
  snap.Scan<S::RevealRecord>(keys::Prefix({"rv", a.id}), [&](std::string_view, const proj::Record<S::RevealRecord>& r) {
    reveals.push_back({{"index", r.get().getIndex()}, {"by", r.get().getWriter().cStr()},
                       {"on", FormatDate(r.get().getReveal().getRevealedOn())},
                       {"purpose", r.get().getReveal().getPurpose().cStr()}});
    return true;
  });
  if (!a.reveal) {
    if (a.json) {
      ctx.out << json{{"elder", record}, {"reveals", reveals}}.dump(2) << "\n";
    } else {
      auto p = rec.get().getProfile();
      ctx.out << "elder " << a.id << " (pseudonymous), registered at index " << rec.get().getIndex() << "\n"
              << "  household " << p.getHouseholdDistrict().cStr() << ", community " << p.getCommunity().cStr()
              << ", born " << FormatDate(p.getBirthDate()) << "\n"
              << "  personal data: "
              << (rec.get().hasErased() ? "ERASED on " + FormatDate(rec.get().getErased().getErasedOn())
                                        : p.hasPersonal() ? std::string("sealed (reveal with --reveal)") : std::string("none"))
              << "\n  circumstances " << rec.get().getCircumstances().size() << ", assessments "
              << rec.get().getAssessments().size() << ", applications " << rec.get().getApplications().size()
              << ", assignments " << rec.get().getAssignments().size() << "\n  reveals: " << reveals.size() << "\n";
      for (const auto& r : reveals) ctx.out << "    " << r.dump() << "\n";
    }
    return Status::Ok();
  }
  if (a.key.empty() || a.actor.empty()) return Status::InvalidArgument("--reveal needs --key KEY and --actor ID");
  if (a.purpose.empty()) return Status::InvalidArgument("--reveal needs --purpose: every reveal records why");
  ELDERCARE_ASSIGN_OR_RETURN(PrivateKey key, LoadKey(a.key));
  ELDERCARE_ASSIGN_OR_RETURN(SymmetricKey master, LoadMasterKey(a.master));
  ELDERCARE_ASSIGN_OR_RETURN(auto keys, KeyStore::Open(a.ledger, master));
  ELDERCARE_ASSIGN_OR_RETURN(int32_t day, DayOr(a.on));
  SubmissionBuilder b(a.actor);
  auto e = b.AddEvent().initPersonalDataRevealed();
  e.setElderId(a.id);
  e.setPurpose(a.purpose);
  e.setRevealedOn(day);
  auto fields = e.initFields(5);
  const char* names[] = {"name", "id_number", "phone", "address", "notes"};
  for (unsigned i = 0; i < 5; ++i) fields.set(i, names[i]);
  ELDERCARE_ASSIGN_OR_RETURN(PersonalData p, RevealAfterRecording(*ledger, *keys, b.Sign(key), rec.get().getProfile()));
  ctx.log->info("this reveal is recorded in the ledger as a personal_data_revealed event signed by {}", a.actor);
  if (a.json) {
    ctx.out << json{{"elder", a.id}, {"personal", p.ToJson()}}.dump(2) << "\n";
  } else {
    ctx.out << "elder " << a.id << "\n  name: " << p.name << "\n  id number: " << p.id_number << "\n  phone: " << p.phone
            << "\n  address: " << p.address << "\n  notes: " << p.notes << "\n";
  }
  return Status::Ok();
}

Status Shred(Context& ctx, const ShredArgs& a) {
  ELDERCARE_ASSIGN_OR_RETURN(PrivateKey key, LoadKey(a.operator_key));
  ELDERCARE_ASSIGN_OR_RETURN(auto ledger, OpenLedger(ctx, a.ledger, true));
  if (!(key.public_key() == ledger->operator_key())) {
    return Status::PermissionDenied("this key is not the operator key of this ledger");
  }
  ProjectionView view;
  ELDERCARE_ASSIGN_OR_RETURN(auto rec, FindElder(*ledger, a.elder, &view));
  ELDERCARE_ASSIGN_OR_RETURN(auto keys, KeyStore::OpenForErasure(a.ledger));
  ELDERCARE_ASSIGN_OR_RETURN(int32_t day, DayOr(a.on));
  uint64_t receipt = 0;
  if (!rec.get().hasErased()) {
    SubmissionBuilder b(ledger->operator_id());
    auto e = b.AddEvent().initElderDataErased();
    e.setElderId(a.elder);
    if (rec.get().getProfile().hasPersonal()) e.setKeyId(rec.get().getProfile().getPersonal().getKeyId());
    e.setErasedOn(day);
    e.setReason(a.reason);
    // The receipt first: if the key store fails next, running shred again
    // finishes the job; the reverse order could lose the receipt.
    ELDERCARE_ASSIGN_OR_RETURN(AppendResult r, ledger->Append(b.Sign(key)));
    receipt = r.first_index;
  } else {
    receipt = rec.get().getErased().getIndex();
  }
  ELDERCARE_RETURN_IF_ERROR(keys->Destroy(a.elder));
  ctx.out << "erased the personal data of elder " << a.elder << "; receipt at index " << receipt
          << "; the data key is destroyed and the key store compacted\n";
  return Status::Ok();
}

}  // namespace

void AddElderCommands(CLI::App& app, Context& ctx) {
  auto mk = std::make_shared<std::string>();
  auto* master = app.add_subcommand("masterkey", "Generate the master key that wraps elders' data keys");
  master->add_option("--out", *mk, "File to create (mode 0600; never overwritten)")->required();
  master->callback([&ctx, mk] {
    ctx.action = [&ctx, mk]() -> Status {
      ELDERCARE_ASSIGN_OR_RETURN(SymmetricKey k, RandomKey());
      ELDERCARE_RETURN_IF_ERROR(WriteMasterKeyFile(*mk, k));
      ctx.log->info("wrote the master key to {}; keep it apart from the ledger and its backups", *mk);
      return Status::Ok();
    };
  });

  auto sa = std::make_shared<ShowArgs>();
  auto* elder = app.add_subcommand("elder", "An elder's pseudonymous record; --reveal decrypts for privileged roles (recorded)");
  elder->add_option("--ledger", sa->ledger, "Ledger directory");
  elder->add_option("--id", sa->id, "Elder id");
  elder->add_flag("--json", sa->json, "Print JSON");
  elder->add_flag("--reveal", sa->reveal, "Decrypt the personal data (bureau, or the elder's contracted enterprise)");
  elder->add_option("--key", sa->key, "Revealing actor's PEM private key (signs the access event)");
  elder->add_option("--actor", sa->actor, "Revealing actor's id");
  elder->add_option("--purpose", sa->purpose, "Why (recorded with the access event)");
  elder->add_option("--master-key", sa->master, "Master key file (default: $ELDERCARE_MASTER_KEY)");
  elder->add_option("--on", sa->on, "Date of the reveal (default: today)");

  auto ra = std::make_shared<RegisterArgs>();
  auto* reg = elder->add_subcommand("register", "Register an elder; personal data is sealed before it reaches the ledger");
  reg->add_option("--ledger", ra->ledger, "Ledger directory")->required();
  reg->add_option("--actor", ra->actor, "Registering actor (community or bureau)")->required();
  reg->add_option("--key", ra->key, "Its PEM private key")->required();
  reg->add_option("--master-key", ra->master, "Master key file (default: $ELDERCARE_MASTER_KEY)");
  reg->add_option("file", ra->file, "JSON: elder_registered fields plus \"personal\": {name, id_number, phone, address, notes}")
      ->capture_default_str();
  reg->callback([&ctx, ra] { ctx.action = [&ctx, ra]() { return Register(ctx, *ra); }; });
  elder->callback([&ctx, sa, reg] {
    if (reg->parsed()) return;
    ctx.action = [&ctx, sa]() -> Status {
      if (sa->ledger.empty() || sa->id.empty()) return Status::InvalidArgument("give --ledger DIR and --id ELDER");
      return Show(ctx, *sa);
    };
  });

  auto sh = std::make_shared<ShredArgs>();
  auto* shred = app.add_subcommand("shred", "Erase an elder's personal data: destroy its data key, record a signed receipt");
  shred->add_option("--ledger", sh->ledger, "Ledger directory")->required();
  shred->add_option("--elder", sh->elder, "Elder id")->required();
  shred->add_option("--operator-key", sh->operator_key, "Operator's PEM private key (signs the receipt)")->required();
  shred->add_option("--reason", sh->reason, "Why (kept in the receipt)")->capture_default_str();
  shred->add_option("--on", sh->on, "Date of the erasure (default: today)");
  shred->callback([&ctx, sh] { ctx.action = [&ctx, sh]() { return Shred(ctx, *sh); }; });
}

}  // namespace eldercare::cli
