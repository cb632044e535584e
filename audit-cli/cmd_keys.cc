// keygen, keys register|revoke|list, verifier-key.
#include <nlohmann/json.hpp>

#include "audit-cli/context.h"
#include "ledger/client.h"
#include "ledger/event_schema.h"
#include "ledger/note.h"
#include "ledger/time_util.h"

namespace eldercare::cli {
namespace {

struct KeyEventArgs {
  std::string ledger, operator_key, actor, role, public_key, valid_from, name, reason, submission_id;
};

Status AppendOperatorEvent(Context& ctx, const KeyEventArgs& a,
                           const std::function<Status(schema::EventBody::Builder)>& fill) {
  ELDERCARE_ASSIGN_OR_RETURN(PrivateKey key, LoadKey(a.operator_key));
  ELDERCARE_ASSIGN_OR_RETURN(auto ledger, OpenLedger(ctx, a.ledger, /*writable=*/true));
  SubmissionBuilder b(ledger->operator_id());
  ELDERCARE_RETURN_IF_ERROR(fill(b.AddEvent()));
  ELDERCARE_ASSIGN_OR_RETURN(AppendResult r, ledger->Append(b.Sign(key, a.submission_id)));
  ctx.out << (r.duplicate ? "already recorded" : "recorded") << " at index " << r.first_index << "\n";
  return Status::Ok();
}

}  // namespace

void AddKeyCommands(CLI::App& app, Context& ctx) {
  auto keygen_out = std::make_shared<std::string>();
  auto* keygen = app.add_subcommand("keygen", "Generate an Ed25519 key pair; print the public key (base64) last");
  keygen->add_option("--out", *keygen_out, "Where to write the PEM private key (mode 0600; never overwritten)")
      ->required();
  keygen->callback([&ctx, keygen_out] {
    ctx.action = [&ctx, keygen_out]() -> Status {
      ELDERCARE_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate());
      ELDERCARE_RETURN_IF_ERROR(key.SavePemFile(*keygen_out));
      ctx.log->info("wrote the private key to {}; keep it secret", *keygen_out);
      ctx.out << key.public_key().ToBase64() << "\n";
      return Status::Ok();
    };
  });

  auto* keys = app.add_subcommand("keys", "Register, revoke and list actors' signing keys");
  keys->require_subcommand(1);

  auto reg = std::make_shared<KeyEventArgs>();
  auto* r = keys->add_subcommand("register", "Register an actor's public key and role (signed by the operator)");
  r->add_option("--ledger", reg->ledger, "Ledger directory")->required();
  r->add_option("--operator-key", reg->operator_key, "Operator's PEM private key")->required();
  r->add_option("--actor", reg->actor, "Actor id, e.g. ent-anxin or bureau-dawukou")->required();
  r->add_option("--role", reg->role, "One of: " + events::AllRoleNames())->required();
  r->add_option("--public-key", reg->public_key, "The base64 public key, or a file holding it")->required();
  r->add_option("--valid-from", reg->valid_from, "RFC 3339 time before which the key may not sign");
  r->add_option("--name", reg->name, "Display name (e.g. the enterprise's registered name)");
  r->add_option("--submission-id", reg->submission_id, "Submission id (default: derived from the content)");
  r->callback([&ctx, reg] {
    ctx.action = [&ctx, reg]() -> Status {
      ELDERCARE_ASSIGN_OR_RETURN(schema::Role role, events::ParseRole(reg->role));
      ELDERCARE_ASSIGN_OR_RETURN(PublicKey pub, ParsePublicKeyArg(reg->public_key));
      ELDERCARE_RETURN_IF_ERROR(events::ValidateId("--actor", reg->actor));
      int64_t valid_from = 0;
      if (!reg->valid_from.empty()) {
        ELDERCARE_ASSIGN_OR_RETURN(valid_from, ParseTimestamp(reg->valid_from));
      }
      return AppendOperatorEvent(ctx, *reg, [&](schema::EventBody::Builder e) {
        auto k = e.initKeyRegistered();
        k.setActorId(reg->actor);
        k.setRole(role);
        k.setPublicKey(capnp::Data::Reader(pub.raw().data(), kPublicKeySize));
        k.setValidFrom(valid_from);
        k.setDisplayName(reg->name);
        return Status::Ok();
      });
    };
  });

  auto rev = std::make_shared<KeyEventArgs>();
  auto* v = keys->add_subcommand("revoke", "Revoke an actor's key (signed by the operator)");
  v->add_option("--ledger", rev->ledger, "Ledger directory")->required();
  v->add_option("--operator-key", rev->operator_key, "Operator's PEM private key")->required();
  v->add_option("--actor", rev->actor, "Actor id")->required();
  v->add_option("--public-key", rev->public_key, "The key to revoke (base64, or a file holding it)")->required();
  v->add_option("--reason", rev->reason, "Why (kept in the log)");
  v->add_option("--submission-id", rev->submission_id, "Submission id (default: derived from the content)");
  v->callback([&ctx, rev] {
    ctx.action = [&ctx, rev]() -> Status {
      ELDERCARE_ASSIGN_OR_RETURN(PublicKey pub, ParsePublicKeyArg(rev->public_key));
      return AppendOperatorEvent(ctx, *rev, [&](schema::EventBody::Builder e) {
        auto k = e.initKeyRevoked();
        k.setActorId(rev->actor);
        k.setPublicKey(capnp::Data::Reader(pub.raw().data(), kPublicKeySize));
        k.setReason(rev->reason);
        return Status::Ok();
      });
    };
  });

  auto list_dir = std::make_shared<std::string>();
  auto list_json = std::make_shared<bool>(false);
  auto* l = keys->add_subcommand("list", "List actors, roles and keys with their validity");
  l->add_option("--ledger", *list_dir, "Ledger directory")->required();
  l->add_flag("--json", *list_json, "One JSON object per actor");
  l->callback([&ctx, list_dir, list_json] {
    ctx.action = [&ctx, list_dir, list_json]() -> Status {
      ELDERCARE_ASSIGN_OR_RETURN(auto ledger, OpenLedger(ctx, *list_dir, false));
      for (const Actor& actor : ledger->Actors()) {
        const std::string& id = actor.id;
        nlohmann::json keys = nlohmann::json::array();
        for (const ActorKey& k : actor.keys) {
          keys.push_back({{"public_key", k.key.ToBase64()},
                          {"registered_at", k.registered_at},
                          {"valid_from", k.valid_from == 0 ? nlohmann::json(nullptr) : nlohmann::json(FormatTimestamp(k.valid_from))},
                          {"revoked_at", k.revoked_at == 0 ? nlohmann::json(nullptr) : nlohmann::json(k.revoked_at)}});
        }
        if (*list_json) {
          ctx.out << nlohmann::json{{"actor", id}, {"role", events::RoleName(actor.role)}, {"name", actor.display_name}, {"keys", keys}}.dump()
                  << "\n";
          continue;
        }
        ctx.out << id << "  " << events::RoleName(actor.role) << (actor.display_name.empty() ? "" : "  " + actor.display_name)
                << "\n";
        for (const ActorKey& k : actor.keys) {
          ctx.out << "    " << k.key.ToBase64() << "  registered at index " << k.registered_at
                  << (k.revoked_at ? ", revoked at index " + std::to_string(k.revoked_at) : ", active") << "\n";
        }
      }
      return Status::Ok();
    };
  });

  auto vk_dir = std::make_shared<std::string>();
  auto* vk = app.add_subcommand("verifier-key", "Print the operator's signed-note verifier key (name+hexid+base64)");
  vk->add_option("--ledger", *vk_dir, "Ledger directory")->required();
  vk->callback([&ctx, vk_dir] {
    ctx.action = [&ctx, vk_dir]() -> Status {
      ELDERCARE_ASSIGN_OR_RETURN(auto ledger, OpenLedger(ctx, *vk_dir, false));
      ctx.out << note::VerifierKey(ledger->origin(), ledger->operator_key()) << "\n";
      return Status::Ok();
    };
  });
}

}  // namespace eldercare::cli
