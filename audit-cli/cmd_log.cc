// init, submit, checkpoint, checkpoints, log, status.
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "audit-cli/context.h"
#include "ledger/client.h"
#include "ledger/entry.h"
#include "ledger/event_json.h"
#include "ledger/export.h"
#include "ledger/merkle.h"
#include "ledger/note.h"
#include "ledger/time_util.h"

namespace eldercare::cli {
namespace {

struct InitArgs {
  std::string ledger, origin, operator_key, operator_id = "operator";
};
struct SubmitArgs {
  std::string ledger, actor, key, file = "-", submission_id;
  bool json = false;
};
struct LogArgs {
  std::string ledger;
  uint64_t from = 0, limit = 100;
  bool json = false;
};

// The operator key for `checkpoint`: --operator-key, else
// $ELDERCARE_OPERATOR_KEY, else the path remembered by `init`.
Result<PrivateKey> CheckpointKey(const Ledger& ledger, const std::string& flag) {
  std::string path = flag;
  if (path.empty()) {
    if (const char* env = std::getenv("ELDERCARE_OPERATOR_KEY")) path = env;
  }
  if (path.empty()) path = ledger.operator_key_path();
  if (path.empty()) {
    return Status::InvalidArgument("no operator key: pass --operator-key or set ELDERCARE_OPERATOR_KEY");
  }
  return LoadKey(path);
}

std::string OneLine(const nlohmann::json& event) {
  std::string s = event.value("type", "?");
  for (auto& [k, v] : event.items()) {
    if (k == "type") continue;
    std::string val = v.is_string() ? v.get<std::string>() : v.dump();
    if (val.size() > 48) val = val.substr(0, 45) + "...";
    s += " " + k + "=" + val;
  }
  return s;
}

}  // namespace

void AddLogCommands(CLI::App& app, Context& ctx) {
  auto ia = std::make_shared<InitArgs>();
  auto* init = app.add_subcommand("init", "Create a ledger: genesis entry and first checkpoint");
  init->add_option("--ledger", ia->ledger, "Directory to create (must not exist or be empty)")->required();
  init->add_option("--origin", ia->origin, "Checkpoint origin, e.g. dawukou.mca.example/eldercare")->required();
  init->add_option("--operator-key", ia->operator_key, "Operator's PEM private key (from keygen)")->required();
  init->add_option("--operator-id", ia->operator_id, "Operator's actor id")->capture_default_str();
  init->callback([&ctx, ia] {
    ctx.action = [&ctx, ia]() -> Status {
      ELDERCARE_ASSIGN_OR_RETURN(PrivateKey key, LoadKey(ia->operator_key));
      CreateParams p{ia->origin, ia->operator_id, std::filesystem::absolute(ia->operator_key).string()};
      LedgerOptions o;
      o.projector = ctx.projector;
      ELDERCARE_ASSIGN_OR_RETURN(auto ledger, Ledger::Create(ia->ledger, p, key, o));
      ctx.log->info("created ledger {} (origin {}); operator verifier key follows, then the first checkpoint",
                    ia->ledger, ia->origin);
      ctx.out << note::VerifierKey(ledger->origin(), ledger->operator_key()) << "\n";
      ELDERCARE_ASSIGN_OR_RETURN(auto notes, ledger->Checkpoints());
      if (!notes.empty()) ctx.out << notes.back();
      return Status::Ok();
    };
  });

  auto sa = std::make_shared<SubmitArgs>();
  auto* submit = app.add_subcommand("submit", "Sign JSON lines (one event a line) as one submission and append it");
  submit->add_option("--ledger", sa->ledger, "Ledger directory")->required();
  submit->add_option("--actor", sa->actor, "The writer's actor id")->required();
  submit->add_option("--key", sa->key, "The writer's PEM private key")->required();
  submit->add_option("--submission-id", sa->submission_id,
                     "Submission id; default derived from writer and content, so a resend is a no-op");
  submit->add_flag("--json", sa->json, "Print the result as JSON");
  submit->add_option("file", sa->file, "JSON lines file, or - for standard input")->capture_default_str();
  submit->callback([&ctx, sa] {
    ctx.action = [&ctx, sa]() -> Status {
      ELDERCARE_ASSIGN_OR_RETURN(std::string text, ReadInput(ctx, sa->file));
      SubmissionBuilder b(sa->actor);
      std::istringstream lines(text);
      ELDERCARE_RETURN_IF_ERROR(b.AddJsonLines(lines).WithPrefix(sa->file == "-" ? "" : sa->file + ": "));
      if (b.size() == 0) return Status::InvalidArgument("no events to submit (the input is empty)");
      ELDERCARE_ASSIGN_OR_RETURN(PrivateKey key, LoadKey(sa->key));
      ELDERCARE_ASSIGN_OR_RETURN(auto ledger, OpenLedger(ctx, sa->ledger, true));
      auto sub = b.Sign(key, sa->submission_id);
      ELDERCARE_ASSIGN_OR_RETURN(AppendResult r, ledger->Append(sub));
      std::string id(sub.getSubmissionId().cStr());
      if (sa->json) {
        ctx.out << nlohmann::json{{"submission_id", id}, {"first_index", r.first_index}, {"count", r.count},
                                  {"duplicate", r.duplicate}}
                       .dump()
                << "\n";
      } else {
        ctx.out << (r.duplicate ? "already recorded: " : "recorded: ") << r.count << " event(s) of submission " << id
                << " at index " << r.first_index;
        if (r.count > 1) ctx.out << ".." << r.first_index + r.count - 1;
        ctx.out << "\n";
      }
      return Status::Ok();
    };
  });

  auto cp_dir = std::make_shared<std::string>();
  auto cp_key = std::make_shared<std::string>();
  auto* cp = app.add_subcommand("checkpoint", "Sign a checkpoint at the current size; print the signed note");
  cp->add_option("--ledger", *cp_dir, "Ledger directory")->required();
  cp->add_option("--operator-key", *cp_key,
                 "Operator's PEM private key (default: $ELDERCARE_OPERATOR_KEY, else the key given to init)");
  cp->callback([&ctx, cp_dir, cp_key] {
    ctx.action = [&ctx, cp_dir, cp_key]() -> Status {
      ELDERCARE_ASSIGN_OR_RETURN(auto ledger, OpenLedger(ctx, *cp_dir, true));
      ELDERCARE_ASSIGN_OR_RETURN(PrivateKey key, CheckpointKey(*ledger, *cp_key));
      ELDERCARE_ASSIGN_OR_RETURN(std::string n, ledger->MakeCheckpoint(key));
      ctx.out << n;
      return Status::Ok();
    };
  });

  auto cps_dir = std::make_shared<std::string>();
  auto cps_size = std::make_shared<int64_t>(-1);
  auto* cps = app.add_subcommand("checkpoints", "Print kept checkpoints (all, or the one at --size)");
  cps->add_option("--ledger", *cps_dir, "Ledger directory")->required();
  cps->add_option("--size", *cps_size, "Only the checkpoint of this tree size")->check(WholeNumber());
  cps->callback([&ctx, cps_dir, cps_size] {
    ctx.action = [&ctx, cps_dir, cps_size]() -> Status {
      ELDERCARE_ASSIGN_OR_RETURN(auto ledger, OpenLedger(ctx, *cps_dir, false));
      ELDERCARE_ASSIGN_OR_RETURN(auto notes, ledger->Checkpoints());
      bool found = false;
      for (const auto& n : notes) {
        auto parsed = note::Parse(n);
        auto body = parsed.ok() ? checkpoint::ParseBody(parsed->text) : Result<checkpoint::Checkpoint>(parsed.status());
        if (*cps_size >= 0 && (!body.ok() || body->size != static_cast<uint64_t>(*cps_size))) continue;
        ctx.out << n << (*cps_size >= 0 ? "" : "\n");
        found = true;
      }
      if (*cps_size >= 0 && !found) return Status::NotFound("no checkpoint at size " + std::to_string(*cps_size));
      return Status::Ok();
    };
  });

  auto la = std::make_shared<LogArgs>();
  auto* log = app.add_subcommand("log", "Print entries, one per line (or JSON lines)");
  log->add_option("--ledger", la->ledger, "Ledger directory")->required();
  log->add_option("--from", la->from, "First index")->capture_default_str()->check(WholeNumber());
  log->add_option("--limit", la->limit, "How many entries")->capture_default_str()->check(WholeNumber());
  log->add_flag("--json", la->json, "JSON lines with signature and leaf hash");
  log->callback([&ctx, la] {
    ctx.action = [&ctx, la]() -> Status {
      ELDERCARE_ASSIGN_OR_RETURN(auto ledger, OpenLedger(ctx, la->ledger, false));
      // From the log's size on there is nothing yet (a script following the
      // log asks for it); beyond it, the index is wrong.
      if (la->from > ledger->Size()) {
        return Status::InvalidArgument("--from " + std::to_string(la->from) + " is beyond the log's size " +
                                       std::to_string(ledger->Size()));
      }
      Status bad;
      Status s = ledger->ScanEntries(la->from, la->limit, [&](uint64_t index, std::string_view leaf) {
        auto e = ParseEntry(leaf);
        if (!e.ok()) {
          bad = Status::Corruption("entry " + std::to_string(index) + ": " + e.status().message());
          return false;
        }
        auto entry = e->Root<schema::Entry>();
        if (la->json) {
          auto line = EntryJsonLine(leaf);  // what an export's entries.jsonl holds
          if (!line.ok()) {
            bad = line.status().WithPrefix("entry " + std::to_string(index) + ": ");
            return false;
          }
          ctx.out << *line << "\n";
        } else {
          ctx.out << "#" << index << "  " << FormatTimestamp(entry.getRecordedAt()) << "  " << entry.getWriter().cStr()
                  << "  " << OneLine(events::EventToJson(entry.getBody())) << "\n";
        }
        return true;
      });
      ELDERCARE_RETURN_IF_ERROR(s);
      return bad;
    };
  });

  auto st_dir = std::make_shared<std::string>();
  auto st_json = std::make_shared<bool>(false);
  auto* st = app.add_subcommand("status", "Size, root, latest checkpoint and actors of a ledger");
  st->add_option("--ledger", *st_dir, "Ledger directory")->required();
  st->add_flag("--json", *st_json, "As JSON");
  st->callback([&ctx, st_dir, st_json] {
    ctx.action = [&ctx, st_dir, st_json]() -> Status {
      ELDERCARE_ASSIGN_OR_RETURN(auto ledger, OpenLedger(ctx, *st_dir, false));
      uint64_t size = ledger->Size();
      ELDERCARE_ASSIGN_OR_RETURN(Hash root, ledger->RootAt(size));
      ELDERCARE_ASSIGN_OR_RETURN(auto notes, ledger->Checkpoints());
      uint64_t latest = 0;
      if (!notes.empty()) {
        auto parsed = note::Parse(notes.back());
        if (parsed.ok()) {
          auto body = checkpoint::ParseBody(parsed->text);
          if (body.ok()) latest = body->size;
        }
      }
      nlohmann::json j = {{"origin", ledger->origin()},
                          {"size", size},
                          {"root", HexEncode(root)},
                          {"checkpoints", notes.size()},
                          {"latest_checkpoint_size", latest},
                          {"actors", ledger->Actors().size()},
                          {"verifier_key", note::VerifierKey(ledger->origin(), ledger->operator_key())}};
      if (*st_json) {
        ctx.out << j.dump() << "\n";
      } else {
        for (auto& [k, v] : j.items()) ctx.out << k << ": " << (v.is_string() ? v.get<std::string>() : v.dump()) << "\n";
      }
      return Status::Ok();
    };
  });
}

}  // namespace eldercare::cli
