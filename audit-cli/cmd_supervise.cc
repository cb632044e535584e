// anomalies (and their score against a demo's ground truth).
#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstring>
#include <fstream>

#include "audit-cli/context.h"
#include "audit-cli/demo/scoring.h"
#include "audit-cli/report.h"
#include "ledger/client.h"
#include "ledger/entry.h"
#include "ledger/event_schema.h"
#include "ledger/file_io.h"
#include "ledger/note.h"
#include "ledger/time_util.h"
#include "projections/anomalies.h"
#include "projections/attestation.h"
#include "projections/finance.h"
#include "projections/keys.h"
#include "projections/spotcheck.h"
#include "projections/supervision.h"

namespace eldercare::cli {
namespace {

namespace S = schema;
using nlohmann::json;

std::string Csv(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

// The months the log has deliveries or closes for, from its projections.
std::vector<std::string> MonthsWithActivity(const proj::Snapshot& snap) {
  std::set<std::string> months;
  snap.state().Scan(keys::Prefix({"de"}), [&](std::string_view k, std::string_view) {
    size_t a = k.find('\0', 3);
    if (a != std::string_view::npos) months.insert(std::string(k.substr(a + 1, 7)));
    return true;
  });
  return {months.begin(), months.end()};
}

struct AnomalyArgs {
  std::string ledger, month, enterprise, truth;
  int64_t at_size = -1;
  bool json = false, csv = false, all = false;
};

Status Anomalies(Context& ctx, const AnomalyArgs& a) {
  if (a.month.empty() == !a.all) return Status::InvalidArgument("give --month YYYY-MM or --all");
  ELDERCARE_ASSIGN_OR_RETURN(auto ledger, OpenLedger(ctx, a.ledger, false));
  ELDERCARE_ASSIGN_OR_RETURN(auto view, ledger->Projections());
  ELDERCARE_ASSIGN_OR_RETURN(std::unique_ptr<proj::Snapshot> at, SnapshotAt(view, a.at_size));
  const proj::Snapshot& snap = *at;
  std::vector<std::string> months = a.all ? MonthsWithActivity(snap) : std::vector<std::string>{a.month};
  // Months are independent reads of one snapshot: one per core, in month order.
  ELDERCARE_ASSIGN_OR_RETURN(auto per_month, proj::MapEach<std::vector<proj::Finding>>(InParallel, months.size(), [&](size_t i) {
                               return proj::DetectAnomalies(snap, months[i], a.enterprise);
                             }));
  std::vector<proj::Finding> findings;
  for (auto& found : per_month) findings.insert(findings.end(), found.begin(), found.end());
  if (!a.truth.empty()) {
    ELDERCARE_ASSIGN_OR_RETURN(auto truth, demo::ReadTruth(a.truth));
    auto scores = demo::Score(truth, findings);
    json j = json::array();
    if (!a.json) ctx.out << "pattern                   injected  found  recall  reported  correct  precision\n";
    for (const auto& s : scores) {
      if (a.json) {
        // Nothing injected (or nothing reported): the ratio is undefined, not perfect.
        j.push_back({{"pattern", s.pattern}, {"injected", s.injected}, {"found", s.found},
                     {"recall", s.injected ? json(s.recall()) : json(nullptr)}, {"reported", s.reported},
                     {"correct", s.correct}, {"precision", s.reported ? json(s.precision()) : json(nullptr)}});
        continue;
      }
      auto ratio = [](size_t of, double r) {
        char b[16];
        std::snprintf(b, sizeof b, "%.3f", r);
        return of ? std::string(b) : std::string("-");
      };
      char line[160];
      std::snprintf(line, sizeof line, "%-24s %9zu %6zu %7s %9zu %8zu %10s\n", s.pattern.c_str(), s.injected, s.found,
                    ratio(s.injected, s.recall()).c_str(), s.reported, s.correct, ratio(s.reported, s.precision()).c_str());
      ctx.out << line;
    }
    if (a.json) ctx.out << j.dump(2) << "\n";
    return Status::Ok();
  }
  if (a.csv) {
    ctx.out << "\xEF\xBB\xBF" << "code,enterprise,month,elder,deliveries,evidence_indexes,detail\n";
    for (const auto& f : findings) {
      std::string dels, ev;
      for (const auto& d : f.deliveries) dels += (dels.empty() ? "" : ";") + d;
      for (auto i : f.evidence) ev += (ev.empty() ? "" : ";") + std::to_string(i);
      ctx.out << f.code << "," << Csv(f.enterprise) << "," << f.month << "," << Csv(f.elder) << "," << Csv(dels) << ","
              << ev << "," << Csv(f.detail) << "\n";
    }
    return Status::Ok();
  }
  if (a.json) {
    for (const auto& f : findings) {
      ctx.out << json{{"code", f.code}, {"enterprise", f.enterprise}, {"month", f.month}, {"elder", f.elder},
                      {"deliveries", f.deliveries}, {"evidence", f.evidence}, {"detail", f.detail}}.dump()
              << "\n";
    }
    return Status::Ok();
  }
  std::map<std::string, size_t> counts;
  for (const auto& f : findings) ++counts[f.code];
  ctx.out << findings.size() << " findings at log size " << snap.size() << ":";
  for (const auto& [c, n] : counts) ctx.out << " " << c << "=" << n;
  ctx.out << "\n";
  for (const auto& f : findings) {
    ctx.out << "  " << f.code << "  " << f.enterprise << "  " << f.month << "  " << f.elder << "  " << f.detail
            << "  [indexes";
    for (auto i : f.evidence) ctx.out << " " << i;
    ctx.out << "]\n";
  }
  return Status::Ok();
}

// --- reconcile -------------------------------------------------------------------

struct MonthArgs {
  std::string ledger, month;
  int64_t at_size = -1;
  bool json = false, csv = false;
};

Result<std::pair<ProjectionView, std::unique_ptr<proj::Snapshot>>> Open(const Ledger& ledger, int64_t at_size) {
  ELDERCARE_ASSIGN_OR_RETURN(ProjectionView view, ledger.Projections());
  ELDERCARE_ASSIGN_OR_RETURN(auto snap, SnapshotAt(view, at_size));
  return std::make_pair(std::move(view), std::move(snap));
}

Status ReconcileCmd(Context& ctx, const MonthArgs& a) {
  ELDERCARE_ASSIGN_OR_RETURN(auto ledger, OpenLedger(ctx, a.ledger, false));
  ELDERCARE_ASSIGN_OR_RETURN(auto opened, Open(*ledger, a.at_size));
  ELDERCARE_ASSIGN_OR_RETURN(auto rows, proj::Reconcile(*opened.second, a.month, InParallel));
  auto flags = [](const proj::Reconciliation& r) {
    std::string f;
    for (const auto& x : r.flags) f += (f.empty() ? "" : ";") + x;
    return f;
  };
  if (a.csv) {
    ctx.out << "\xEF\xBB\xBF" << "enterprise,name,month,closed,statement_yuan,city_yuan,district_yuan,paid_yuan,recovered_yuan,difference_yuan,flags,statement_digest,evidence_indexes\n";
    for (const auto& r : rows) {
      std::string ev;
      for (auto i : r.evidence) ev += (ev.empty() ? "" : ";") + std::to_string(i);
      ctx.out << Csv(r.enterprise) << "," << Csv(r.name) << "," << r.month << "," << (r.closed ? "yes" : "no") << ","
              << Yuan(r.statement_fen) << "," << Yuan(r.city_fen) << "," << Yuan(r.district_fen) << "," << Yuan(r.paid_fen) << ","
              << Yuan(r.recovered_fen) << "," << Yuan(r.difference_fen) << "," << flags(r) << "," << r.statement_digest << "," << ev << "\n";
    }
    return Status::Ok();
  }
  if (a.json) {
    for (const auto& r : rows) {
      ctx.out << json{{"enterprise", r.enterprise}, {"name", r.name}, {"month", r.month}, {"closed", r.closed},
                      {"statement_fen", r.statement_fen}, {"city_fen", r.city_fen}, {"district_fen", r.district_fen},
                      {"paid_fen", r.paid_fen}, {"recovered_fen", r.recovered_fen}, {"difference_fen", r.difference_fen},
                      {"flags", r.flags},
                      {"statement_digest", r.statement_digest}, {"evidence", r.evidence}}.dump()
              << "\n";
    }
    return Status::Ok();
  }
  ctx.out << "reconciliation " << a.month << " at log size " << opened.second->size() << " (yuan)\n";
  char line[256];
  std::snprintf(line, sizeof line, "%6s %12s %12s %12s %12s %12s %10s  %s\n", "closed", "statement", "city", "district", "paid",
                "recovered", "diff", "flags");
  ctx.out << PadDisplay("ent", 9) << PadDisplay("name", 25) << line;
  for (const auto& r : rows) {
    std::snprintf(line, sizeof line, "%6s %12s %12s %12s %12s %12s %10s  %s\n", r.closed ? "yes" : "no", Yuan(r.statement_fen).c_str(),
                  Yuan(r.city_fen).c_str(), Yuan(r.district_fen).c_str(), Yuan(r.paid_fen).c_str(), Yuan(r.recovered_fen).c_str(),
                  Yuan(r.difference_fen).c_str(), flags(r).c_str());
    ctx.out << PadDisplay(r.enterprise, 8) << " " << PadDisplay(r.name, 24) << " " << line;
  }
  // What finance books for the month: the sums of the columns above.
  int64_t statement = 0, city = 0, district = 0, paid = 0, recovered = 0, difference = 0;
  size_t flagged = 0;
  for (const auto& r : rows) {
    statement += r.statement_fen;
    city += r.city_fen;
    district += r.district_fen;
    paid += r.paid_fen;
    recovered += r.recovered_fen;
    difference += r.difference_fen;
    flagged += !r.flags.empty();
  }
  std::snprintf(line, sizeof line, "%6s %12s %12s %12s %12s %12s %10s  %s\n", "", Yuan(statement).c_str(), Yuan(city).c_str(),
                Yuan(district).c_str(), Yuan(paid).c_str(), Yuan(recovered).c_str(), Yuan(difference).c_str(),
                (std::to_string(flagged) + " flagged").c_str());
  ctx.out << PadDisplay("total", 8) << " " << PadDisplay(std::to_string(rows.size()) + " enterprises", 24) << " " << line;
  return Status::Ok();
}

Status RecommendationsCmd(Context& ctx, const MonthArgs& a) {
  ELDERCARE_ASSIGN_OR_RETURN(auto ledger, OpenLedger(ctx, a.ledger, false));
  ELDERCARE_ASSIGN_OR_RETURN(auto opened, Open(*ledger, a.at_size));
  ELDERCARE_ASSIGN_OR_RETURN(int32_t month, ParseMonth(a.month));
  ELDERCARE_ASSIGN_OR_RETURN(int32_t log_day, LogDay(*ledger, opened.second->size()));
  ELDERCARE_ASSIGN_OR_RETURN(auto recs, proj::ExitRecommendations(*opened.second, a.month, log_day));
  if (!proj::MonthOver(month, log_day)) {
    // On standard error: standard output stays the recommendations alone.
    ctx.log->warn("{} is not over at log size {} (its latest entry was recorded on {}): assigned elders not served "
                 "yet are judged once it is",
                 a.month, opened.second->size(), FormatDate(log_day));
  }
  for (const auto& r : recs) {
    if (a.json) {
      ctx.out << json{{"enterprise", r.enterprise}, {"threshold", r.threshold}, {"value", r.value}, {"limit", r.limit},
                      {"detail", r.detail}, {"evidence", r.evidence}}.dump()
              << "\n";
    } else {
      ctx.out << r.enterprise << ": " << r.threshold << " " << r.value << " > " << r.limit << " -- " << r.detail << " ["
              << r.evidence.size() << " events]\n";
    }
  }
  if (recs.empty() && !a.json) ctx.out << "no enterprise crossed a supervision threshold in " << a.month << "\n";
  return Status::Ok();
}

// --- spot-checks ----------------------------------------------------------------

struct PlanArgs {
  std::string ledger, actor, key, plan, month, planned_on;
  std::vector<std::string> enterprises;
  uint32_t size = 0, permille = 0;
  bool json = false;
};

// The latest stored checkpoint; refused unless it was made after the month ended.
Result<checkpoint::Checkpoint> CheckpointAfter(const Ledger& ledger, int32_t month) {
  ELDERCARE_ASSIGN_OR_RETURN(auto notes, ledger.Checkpoints());
  if (notes.empty()) return Status::FailedPrecondition("the ledger has no checkpoint");
  auto parsed = note::Parse(notes.back());
  if (!parsed.ok()) return parsed.status();
  ELDERCARE_ASSIGN_OR_RETURN(checkpoint::Checkpoint cp, checkpoint::ParseBody(parsed->text));
  ELDERCARE_ASSIGN_OR_RETURN(std::string leaf, ledger.EntryBytes(cp.size - 1));
  ELDERCARE_ASSIGN_OR_RETURN(auto entry, ParseEntry(leaf));
  int64_t month_end = (int64_t{FirstDayOfMonth(month + 1)} * 1440 - kChinaOffsetMinutes) * 60 * kMicrosPerSecond;
  if (entry.Root<S::Entry>().getRecordedAt() < month_end) {
    return Status::FailedPrecondition("the latest checkpoint (size " + std::to_string(cp.size) + ") was made before " +
                                      FormatMonth(month) + " ended; sign a new one with `audit-cli checkpoint` first");
  }
  return cp;
}

Status PlanCmd(Context& ctx, const PlanArgs& a) {
  ELDERCARE_ASSIGN_OR_RETURN(int32_t month, ParseMonth(a.month));
  ELDERCARE_ASSIGN_OR_RETURN(PrivateKey key, LoadKey(a.key));
  ELDERCARE_ASSIGN_OR_RETURN(auto ledger, OpenLedger(ctx, a.ledger, true));
  ELDERCARE_ASSIGN_OR_RETURN(checkpoint::Checkpoint cp, CheckpointAfter(*ledger, month));
  int32_t on = a.planned_on.empty() ? FirstDayOfMonth(month + 1) : *ParseDate(a.planned_on);
  SubmissionBuilder b(a.actor);
  auto p = b.AddEvent().initSpotCheckPlanned();
  p.setPlanId(a.plan);
  auto ents = p.initEnterprises(static_cast<unsigned>(a.enterprises.size()));
  for (size_t i = 0; i < a.enterprises.size(); ++i) ents.set(static_cast<unsigned>(i), a.enterprises[i]);
  p.setMonth(a.month);
  p.setSampleSize(a.size);
  p.setSamplePermille(a.permille);
  p.setCheckpointSize(cp.size);
  p.setCheckpointRoot(capnp::Data::Reader(cp.root.data(), cp.root.size()));
  p.setPlannedOn(on);
  ELDERCARE_ASSIGN_OR_RETURN(AppendResult r, ledger->Append(b.Sign(key)));
  ctx.out << "plan " << a.plan << " recorded at index " << r.first_index << ", drawn from the checkpoint at size " << cp.size
          << "\n";
  return Status::Ok();
}

Status SampleCmd(Context& ctx, const PlanArgs& a) {
  ELDERCARE_ASSIGN_OR_RETURN(auto ledger, OpenLedger(ctx, a.ledger, false));
  ELDERCARE_ASSIGN_OR_RETURN(ProjectionView view, ledger->Projections());
  ELDERCARE_ASSIGN_OR_RETURN(proj::Sample s, proj::DrawSample(*view.state, view.size, a.plan));
  if (a.json) {
    json list = json::array();
    for (const auto& d : s.deliveries) {
      list.push_back({{"enterprise", d.enterprise}, {"delivery_id", d.delivery_id}, {"elder", d.elder_id}, {"index", d.index},
                      {"score", HexEncode(d.score)}});
    }
    ctx.out << json{{"plan", s.plan_id}, {"month", s.month}, {"checkpoint_size", s.checkpoint_size},
                    {"checkpoint_root", HexEncode(s.checkpoint_root)}, {"universe", s.universe}, {"sample", list}}.dump(2)
            << "\n";
    return Status::Ok();
  }
  ctx.out << "plan " << s.plan_id << ": " << s.deliveries.size() << " of " << s.universe << " deliveries in " << s.month
          << ", drawn from the checkpoint at size " << s.checkpoint_size << " (root " << HexEncode(s.checkpoint_root) << ")\n";
  for (const auto& d : s.deliveries) {
    ctx.out << "  " << d.enterprise << "  " << d.delivery_id << "  elder " << d.elder_id << "  index " << d.index << "\n";
  }
  return Status::Ok();
}

// --- report, attestations -------------------------------------------------------

struct ReportArgs {
  std::string ledger, enterprise, month, out;
};

struct AttestArgs {
  std::string ledger, month, key, actor, out, attestation;
};

Status AttestCmd(Context& ctx, const AttestArgs& a) {
  ELDERCARE_ASSIGN_OR_RETURN(PrivateKey key, LoadKey(a.key));
  ELDERCARE_ASSIGN_OR_RETURN(auto ledger, OpenLedger(ctx, a.ledger, false));
  auto actor = ledger->FindActor(a.actor);
  if (!actor) return Status::PermissionDenied("actor '" + a.actor + "' has no registered key in this ledger");
  bool registered = false;
  for (const auto& k : actor->keys) registered |= k.key == key.public_key() && k.revoked_at == 0;
  if (!registered) return Status::PermissionDenied("this key is not an active key of '" + a.actor + "'");
  ELDERCARE_ASSIGN_OR_RETURN(ProjectionView view, ledger->Projections());
  proj::Snapshot snap(*view.state, view.size, view.size);
  ELDERCARE_ASSIGN_OR_RETURN(Hash root, ledger->RootAt(view.size));
  ELDERCARE_ASSIGN_OR_RETURN(proj::Attestation att, proj::ComputeAttestation(snap, ledger->origin(), root, a.month, InParallel));
  ELDERCARE_ASSIGN_OR_RETURN(std::string signed_note, note::Sign(proj::AttestationBody(att), a.actor, key));
  if (a.out.empty() || a.out == "-") {
    ctx.out << signed_note;
  } else {
    ELDERCARE_RETURN_IF_ERROR(WriteNewFile(a.out, signed_note));
    ctx.out << "attested " << att.statements.size() << " statements of " << a.month << " at log size " << att.size << " in "
            << a.out << "\n";
  }
  return Status::Ok();
}

Status VerifyAttestationCmd(Context& ctx, const AttestArgs& a) {
  ELDERCARE_ASSIGN_OR_RETURN(std::string text, ReadInput(ctx, a.attestation));
  ELDERCARE_ASSIGN_OR_RETURN(note::Note parsed, note::Parse(text));
  if (parsed.signatures.empty()) return Status::InvalidArgument("the attestation carries no signature");
  ELDERCARE_ASSIGN_OR_RETURN(proj::Attestation att, proj::ParseAttestationBody(parsed.text));
  ELDERCARE_ASSIGN_OR_RETURN(auto ledger, OpenLedger(ctx, a.ledger, false));
  if (att.origin != ledger->origin()) {
    return Status::InvalidArgument("the attestation is about '" + att.origin + "', this ledger is '" + ledger->origin() + "'");
  }
  // Who signed: an actor of this ledger with a key whose note key id matches.
  std::string signer = parsed.signatures.front().name;
  auto actor = ledger->FindActor(signer);
  if (!actor) return Status::PermissionDenied("'" + signer + "' is not an actor of this ledger");
  const ActorKey* key = nullptr;
  for (const auto& k : actor->keys) {
    note::Verifier v{signer, note::KeyId(signer, k.key), k.key};
    if (note::Open(text, v).ok()) key = &k;
  }
  if (key == nullptr) return Status::PermissionDenied("the signature of '" + signer + "' does not verify");
  if (att.size > ledger->Size()) {
    return Status::FailedPrecondition("the attestation is at log size " + std::to_string(att.size) + "; this copy has only " +
                                      std::to_string(ledger->Size()));
  }
  // The key must belong to the log attested: registered within its first
  // att.size entries, and not revoked among them.
  if (key->registered_at >= att.size) {
    return Status::PermissionDenied("the key that signed was registered for '" + signer + "' at index " +
                                    std::to_string(key->registered_at) + ", after the attested log size " +
                                    std::to_string(att.size));
  }
  if (key->revoked_at != 0 && key->revoked_at < att.size) {
    return Status::PermissionDenied("the key that signed was revoked for '" + signer + "' at index " +
                                    std::to_string(key->revoked_at) + ", within the attested log size " +
                                    std::to_string(att.size));
  }
  if (key->revoked_at != 0) {
    // Valid for the size it claims; but an attestation carries no time, so
    // whoever held the key after its revocation could sign one at any
    // earlier size.
    ctx.log->warn("the key that signed was revoked at index {}, after the attested size: an attestation made with it "
                 "since then could claim any earlier size; ask the signer for a newer attestation",
                 key->revoked_at);
  }
  ELDERCARE_ASSIGN_OR_RETURN(Hash root, ledger->RootAt(att.size));
  if (root != att.root) return Status::Corruption("the root at size " + std::to_string(att.size) + " differs: a different history");
  ELDERCARE_ASSIGN_OR_RETURN(ProjectionView view, ledger->Projections());
  proj::Snapshot snap(*view.state, view.size, att.size);
  ELDERCARE_ASSIGN_OR_RETURN(proj::Attestation now, proj::ComputeAttestation(snap, att.origin, root, att.month, InParallel));
  if (now.policy != att.policy) return Status::Corruption("policy in force: attested " + att.policy + ", recomputed " + now.policy);
  if (now.statements.size() != att.statements.size()) {
    return Status::Corruption("attested " + std::to_string(att.statements.size()) + " statements, recomputed " +
                              std::to_string(now.statements.size()));
  }
  for (size_t i = 0; i < now.statements.size(); ++i) {
    const auto &x = att.statements[i], &y = now.statements[i];
    if (x.enterprise != y.enterprise || x.digest != y.digest || x.payable_fen != y.payable_fen) {
      return Status::Corruption("statement of " + x.enterprise + " does not reproduce: attested " + HexEncode(x.digest) +
                                " / " + std::to_string(x.payable_fen) + " fen, recomputed " + HexEncode(y.digest) + " / " +
                                std::to_string(y.payable_fen));
    }
  }
  ctx.out << "attestation verifies: signed by " << signer << " (" << events::RoleName(actor->role) << "); " << att.month << " at log size " << att.size << ", root "
          << HexEncode(root) << ", policy " << att.policy << ", " << att.statements.size() << " statements reproduce\n";
  return Status::Ok();
}

}  // namespace

void AddSuperviseCommands(CLI::App& app, Context& ctx) {
  auto ra = std::make_shared<MonthArgs>();
  auto* rec = app.add_subcommand("reconcile", "Statement vs allocated vs paid vs paid back per enterprise; over- and under-payments, money to recover, totals");
  rec->add_option("--ledger", ra->ledger, "Ledger directory (opened read-only)")->required();
  rec->add_option("--month", ra->month, "YYYY-MM")->required();
  AddAtSize(rec, ra->at_size);
  rec->add_flag("--json", ra->json, "JSON lines");
  rec->add_flag("--csv", ra->csv, "CSV (UTF-8 with BOM, for spreadsheets)");
  rec->callback([&ctx, ra] { ctx.action = [&ctx, ra]() { return ReconcileCmd(ctx, *ra); }; });

  auto xa = std::make_shared<MonthArgs>();
  auto* ex = app.add_subcommand("exit-recommendations", "Enterprises over the policy's supervision thresholds, with evidence");
  ex->add_option("--ledger", xa->ledger, "Ledger directory (opened read-only)")->required();
  ex->add_option("--month", xa->month, "YYYY-MM")->required();
  AddAtSize(ex, xa->at_size);
  ex->add_flag("--json", xa->json, "JSON lines");
  ex->callback([&ctx, xa] { ctx.action = [&ctx, xa]() { return RecommendationsCmd(ctx, *xa); }; });

  auto* spot = app.add_subcommand("spotcheck", "Spot-check plans drawn from a signed checkpoint, and their samples");
  spot->require_subcommand(1);
  auto pa = std::make_shared<PlanArgs>();
  auto* plan = spot->add_subcommand("plan", "Record a plan drawn from the latest checkpoint (signed after the month ended)");
  plan->add_option("--ledger", pa->ledger, "Ledger directory")->required();
  plan->add_option("--actor", pa->actor, "The bureau actor signing the plan")->required();
  plan->add_option("--key", pa->key, "Its PEM private key")->required();
  plan->add_option("--plan", pa->plan, "Plan id")->required();
  plan->add_option("--enterprise", pa->enterprises, "Enterprise(s) (repeatable)")->required();
  plan->add_option("--month", pa->month, "YYYY-MM")->required();
  plan->add_option("--size", pa->size, "Deliveries to draw")->check(WholeNumber());
  plan->add_option("--permille", pa->permille, "Or a share of the month's deliveries")->check(WholeNumber());
  plan->add_option("--on", pa->planned_on, "Date planned (default: the first day after the month)");
  plan->callback([&ctx, pa] { ctx.action = [&ctx, pa]() { return PlanCmd(ctx, *pa); }; });
  auto sa = std::make_shared<PlanArgs>();
  auto* sample = spot->add_subcommand("sample", "The plan's sample: the same on any copy or export of the ledger");
  sample->add_option("--ledger", sa->ledger, "Ledger directory (opened read-only)")->required();
  sample->add_option("--plan", sa->plan, "Plan id")->required();
  sample->add_flag("--json", sa->json, "Print JSON");
  sample->callback([&ctx, sa] { ctx.action = [&ctx, sa]() { return SampleCmd(ctx, *sa); }; });

  auto rp = std::make_shared<ReportArgs>();
  auto* report = app.add_subcommand("report", "One self-contained HTML page for an enterprise and a month");
  report->add_option("--ledger", rp->ledger, "Ledger directory (opened read-only)")->required();
  report->add_option("--enterprise", rp->enterprise, "Enterprise id")->required();
  report->add_option("--month", rp->month, "YYYY-MM")->required();
  report->add_option("--out", rp->out, "FILE.html to write")->required();
  report->callback([&ctx, rp] {
    ctx.action = [&ctx, rp]() -> Status {
      ELDERCARE_ASSIGN_OR_RETURN(auto ledger, OpenLedger(ctx, rp->ledger, false));
      ELDERCARE_ASSIGN_OR_RETURN(std::string html, RenderReport(*ledger, rp->enterprise, rp->month));
      std::ofstream out(rp->out, std::ios::binary | std::ios::trunc);
      out << html;
      out.close();  // a failed write may show only when the last of it is flushed
      if (!out) return Status::IoError("cannot write " + rp->out + ": " + std::strerror(errno));
      ctx.out << "wrote " << rp->out << " (" << html.size() << " bytes)\n";
      return Status::Ok();
    };
  });

  auto at = std::make_shared<AttestArgs>();
  auto* attest = app.add_subcommand("attest", "Sign what a month's statements are, at this log size and root");
  attest->add_option("--ledger", at->ledger, "Ledger directory (opened read-only)")->required();
  attest->add_option("--month", at->month, "YYYY-MM")->required();
  attest->add_option("--key", at->key, "The signer's PEM private key")->required();
  attest->add_option("--actor", at->actor, "The signer's actor id (its key must be registered)")->required();
  attest->add_option("--out", at->out, "File to create (never overwritten; default: standard output)");
  attest->callback([&ctx, at] { ctx.action = [&ctx, at]() { return AttestCmd(ctx, *at); }; });
  auto va = std::make_shared<AttestArgs>();
  auto* vatt = app.add_subcommand("verify-attestation", "Check an attestation against any copy of the ledger");
  vatt->add_option("--ledger", va->ledger, "Ledger directory (opened read-only)")->required();
  vatt->add_option("--attestation", va->attestation, "The signed attestation, or - for standard input")->required();
  vatt->callback([&ctx, va] { ctx.action = [&ctx, va]() { return VerifyAttestationCmd(ctx, *va); }; });

  auto a = std::make_shared<AnomalyArgs>();
  auto* an = app.add_subcommand("anomalies", "Fraud detectors and the follow-up cross-check, with their evidence indexes");
  an->add_option("--ledger", a->ledger, "Ledger directory (opened read-only)")->required();
  an->add_option("--month", a->month, "YYYY-MM");
  an->add_flag("--all", a->all, "Every month with deliveries");
  an->add_option("--enterprise", a->enterprise, "Only this enterprise");
  AddAtSize(an, a->at_size);
  an->add_flag("--json", a->json, "JSON lines");
  an->add_flag("--csv", a->csv, "CSV (UTF-8 with BOM)");
  an->add_option("--score", a->truth, "Compare with a demo's ground-truth.jsonl: precision and recall per pattern");
  an->callback([&ctx, a] { ctx.action = [&ctx, a]() { return Anomalies(ctx, *a); }; });
}

}  // namespace eldercare::cli
