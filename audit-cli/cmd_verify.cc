// verify, export.
#include <nlohmann/json.hpp>

#include "audit-cli/context.h"
#include "ledger/export.h"
#include "ledger/verifier.h"

namespace eldercare::cli {
namespace {

struct VerifyArgs {
  std::string ledger, export_dir;
  std::vector<std::string> checkpoints;
  unsigned threads = 0;
  bool json = false, derived = false, jsonl = false;
  std::string scratch;
};

nlohmann::json ReportJson(const VerifyReport& r) {
  nlohmann::json j = {{"ok", r.ok},
                      {"size", r.size},
                      {"root", HexEncode(r.root)},
                      {"submissions", r.submissions},
                      {"signatures_checked", r.signatures_checked},
                      {"checkpoints_checked", r.checkpoints_checked},
                      {"merkle_nodes_checked", r.merkle_nodes_checked},
                      {"facts", r.facts}};
  if (!r.ok) {
    j["error"] = r.error;
    j["first_bad_index"] = r.first_bad_index ? nlohmann::json(*r.first_bad_index) : nlohmann::json(nullptr);
  }
  return j;
}

}  // namespace

void AddVerifyCommands(CLI::App& app, Context& ctx) {
  auto va = std::make_shared<VerifyArgs>();
  auto* verify = app.add_subcommand(
      "verify", "Verify every signature, key, role, index, Merkle root and checkpoint; exit 1 on the first bad index");
  auto* by_ledger = verify->add_option("--ledger", va->ledger, "Ledger directory (opened read-only)");
  auto* by_export = verify->add_option("--export", va->export_dir, "Export directory (no RocksDB needed)");
  by_ledger->excludes(by_export);
  verify->add_option("--checkpoint", va->checkpoints,
                     "A signed checkpoint kept elsewhere: prove the log extends it (repeatable)");
  verify->add_option("--threads", va->threads, "Signature-checking threads (default: all cores)");
  verify->add_flag("--json", va->json, "Print the report as JSON");
  verify->add_flag("--jsonl", va->jsonl,
                   "With --export: also check entries.jsonl, line by line, against the verified entries");
  verify->add_flag("--derived", va->derived,
                   "Also recompute the derived stores (submission index, actors, metadata, projections) from the "
                   "log and compare them with the stored ones (recomputed in a scratch ledger that reads the log "
                   "where it lies, removed after; it needs about the projection state's disk space)");
  verify->add_option("--scratch", va->scratch,
                     "With --derived: where to make the scratch ledger (default: $TMPDIR, else /tmp)");
  verify->callback([&ctx, va] {
    ctx.action = [&ctx, va]() -> Status {
      if (va->ledger.empty() == va->export_dir.empty()) {
        return Status::InvalidArgument("give exactly one of --ledger DIR or --export DIR");
      }
      VerifyOptions opts;
      opts.threads = va->threads;
      if (va->derived && va->ledger.empty()) return Status::InvalidArgument("--derived needs --ledger DIR");
      if (va->jsonl && va->export_dir.empty()) return Status::InvalidArgument("--jsonl needs --export DIR");
      opts.export_jsonl = va->jsonl;
      opts.progress = TerminalProgress(ctx);
      opts.derived = va->derived;
      if (!va->scratch.empty() && !va->derived) return Status::InvalidArgument("--scratch needs --derived");
      opts.scratch = va->scratch;
      opts.projector = ctx.projector;
      for (const auto& path : va->checkpoints) {
        ELDERCARE_ASSIGN_OR_RETURN(std::string n, ReadInput(ctx, path));
        opts.external_checkpoints.push_back(std::move(n));
      }
      VerifyReport r = va->ledger.empty() ? VerifyExportDir(va->export_dir, opts) : VerifyLedgerDir(va->ledger, opts);
      if (va->json) {
        ctx.out << ReportJson(r).dump(2) << "\n";
      } else if (r.ok) {
        ctx.out << "OK: " << r.size << " entries in " << r.submissions << " submissions; " << r.signatures_checked
                << " signatures, " << r.checkpoints_checked << " checkpoint roots";
        if (r.merkle_nodes_checked) ctx.out << ", " << r.merkle_nodes_checked << " stored Merkle nodes";
        ctx.out << " verified\nroot: " << HexEncode(r.root) << "\n";
        for (const auto& f : r.facts) ctx.out << f << "\n";
      }
      if (r.ok) return Status::Ok();
      std::string where = r.first_bad_index ? "at index " + std::to_string(*r.first_bad_index) + ": " : "";
      return Status::Corruption("verification FAILED " + where + r.error);
    };
  });

  auto rp = std::make_shared<VerifyArgs>();
  auto* repair = app.add_subcommand(
      "repair", "Rebuild the derived stores (Merkle nodes, submission index, actors, metadata, projections) from the "
                "verified log; the damaged ones are kept beside it");
  repair->add_option("--ledger", rp->ledger, "Ledger directory (no writer may have it open)")->required();
  repair->add_option("--checkpoint", rp->checkpoints, "A signed checkpoint kept elsewhere the log must extend (repeatable)");
  repair->callback([&ctx, rp] {
    ctx.action = [&ctx, rp]() -> Status {
      VerifyOptions opts;
      opts.projector = ctx.projector;
      opts.progress = TerminalProgress(ctx);
      for (const auto& path : rp->checkpoints) {
        ELDERCARE_ASSIGN_OR_RETURN(std::string n, ReadInput(ctx, path));
        opts.external_checkpoints.push_back(std::move(n));
      }
      ELDERCARE_ASSIGN_OR_RETURN(std::string kept, RepairLedger(rp->ledger, opts));
      // The repaired ledger verified as a log (entries, Merkle nodes,
      // checkpoints, metadata). Its other derived stores are what
      // `verify --derived` would recompute to compare them with: the same
      // restore made them, so comparing would fold the log a second time to
      // learn nothing.
      VerifyReport r = VerifyLedgerDir(rp->ledger, opts);
      if (!r.ok) return Status::Corruption("after the repair the ledger still does not verify: " + r.error);
      ctx.out << "repaired: " << r.size << " entries verified, every derived store rebuilt from them\n"
              << "root: " << HexEncode(r.root) << "\nthe damaged stores are kept in " << kept << "\n";
      return Status::Ok();
    };
  });

  auto rs_from = std::make_shared<std::string>();
  auto rs_to = std::make_shared<std::string>();
  auto* rs = app.add_subcommand(
      "restore", "Verify an export, then recreate its ledger (same entries and root) so every query works offline");
  rs->add_option("--export", *rs_from, "Export directory")->required();
  rs->add_option("--ledger", *rs_to, "Ledger directory to create")->required();
  rs->callback([&ctx, rs_from, rs_to] {
    ctx.action = [&ctx, rs_from, rs_to]() -> Status {
      LedgerOptions o;
      o.projector = ctx.projector;
      o.progress = TerminalProgress(ctx);
      ELDERCARE_ASSIGN_OR_RETURN(auto ledger, RestoreExport(*rs_from, *rs_to, o));
      ELDERCARE_ASSIGN_OR_RETURN(Hash root, ledger->RootAt(ledger->Size()));
      ctx.out << "restored " << ledger->Size() << " entries into " << *rs_to << "\nroot: " << HexEncode(root) << "\n";
      return Status::Ok();
    };
  });

  auto src = std::make_shared<std::string>();
  auto dst = std::make_shared<std::string>();
  auto* ex = app.add_subcommand("export", "Write a self-contained export (entries, checkpoints, JSON lines)");
  ex->add_option("--ledger", *src, "Ledger directory (opened read-only)")->required();
  ex->add_option("--out", *dst, "Export directory to create")->required();
  ex->callback([&ctx, src, dst] {
    ctx.action = [&ctx, src, dst]() -> Status {
      ELDERCARE_ASSIGN_OR_RETURN(auto ledger, OpenLedger(ctx, *src, false));
      ELDERCARE_ASSIGN_OR_RETURN(ExportSummary s, WriteExport(*ledger, *dst, TerminalProgress(ctx)));
      ctx.out << "exported " << s.size << " entries and " << s.checkpoints << " checkpoints to " << *dst
              << "\nroot: " << HexEncode(s.root) << "\n";
      return Status::Ok();
    };
  });
}

}  // namespace eldercare::cli
