// demo: generate and ingest a synthetic district.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>

#include "audit-cli/context.h"
#include "audit-cli/demo/district.h"
#include "ledger/time_util.h"

namespace eldercare::cli {
namespace {

struct DemoArgs {
  std::string ledger;
  demo::DistrictOptions options;
};

}  // namespace

void AddDemoCommands(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<DemoArgs>();
  auto* demo = app.add_subcommand(
      "demo", "Generate and ingest a deterministic synthetic district (keys, master key and ground truth beside it)");
  demo->add_option("--ledger", a->ledger, "Ledger directory to create; its parent receives keys/, master.key, ground-truth.jsonl")
      ->required();
  demo->add_option("--elders", a->options.elders, "Registered elders aged 60+ (Dawukou: 42,900)")->capture_default_str()->check(WholeNumber());
  demo->add_option("--months", a->options.months, "Months of service")->capture_default_str()->check(WholeNumber());
  demo->add_option("--start", a->options.start, "First month, YYYY-MM")->capture_default_str();
  demo->add_option("--seed", a->options.seed, "Random seed: the same seed gives the same district")->capture_default_str()->check(WholeNumber());
  demo->add_option("--fraud-rate", a->options.fraud_rate, "Rate at which known fraud patterns are injected")
      ->capture_default_str();
  demo->callback([&ctx, a] {
    ctx.action = [&ctx, a]() -> Status {
      namespace fs = std::filesystem;
      demo::DistrictOptions o = a->options;
      if (o.elders < 100) return Status::InvalidArgument("--elders must be at least 100");
      if (o.months < 1 || o.months > 60) return Status::InvalidArgument("--months must be 1 to 60");
      if (o.fraud_rate < 0 || o.fraud_rate > 0.1) return Status::InvalidArgument("--fraud-rate must be 0 to 0.1");
      o.out_dir = fs::absolute(a->ledger).parent_path().string();
      bool terminal = isatty(2);
      auto start = std::chrono::steady_clock::now();
      if (terminal) o.progress = [&ctx](const std::string& line) { ctx.log->info("{}", line); };
      ELDERCARE_ASSIGN_OR_RETURN(demo::DistrictReport r, demo::GenerateDistrict(a->ledger, ctx.projector, o));
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::map<std::string, size_t> injected;
      for (const auto& t : r.truth) ++injected[t.pattern];
      ctx.out << "district generated in " << static_cast<int>(secs) << " s: " << r.elders << " elders, " << r.deliveries
              << " deliveries, " << r.events << " events in " << r.submissions << " signed submissions, months "
              << r.months.front() << " to " << r.months.back() << "\n";
      ctx.out << "injected fraud cases (ground truth in " << o.out_dir << "/ground-truth.jsonl):";
      for (const auto& [p, n] : injected) ctx.out << " " << p << "=" << n;
      ctx.out << "\n";
      if (!r.suspended_enterprise.empty()) {
        ctx.out << "exit mechanism: " << r.suspended_enterprise << " suspended from " << FormatDate(r.exit.suspended_from)
                << " on its spot-check failures, decided " << FormatDate(r.exit.suspension_decided);
        if (r.exit.suspended_from <= r.exit.suspension_decided) {
          ctx.out << " (backdated: its statement of " << FormatMonth(MonthOfDate(r.exit.suspension_decided))
                  << " takes back what was paid for since)";
        }
        if (r.exit.exited_from) ctx.out << ", exited from " << FormatDate(r.exit.exited_from);
        ctx.out << "\n";
        if (r.exit.recovered_fen > 0) {
          ctx.out << "recovery: " << r.suspended_enterprise << " paid back " << Yuan(r.exit.recovered_fen) << " yuan on "
                  << FormatDate(r.exit.recovered_on) << " (recorded at log index " << r.exit.recovery_index << ")\n";
        }
      }
      ctx.out << "actors' keys in " << o.out_dir << "/keys/, the master key in " << o.out_dir << "/master.key\n";
      return Status::Ok();
    };
  });
}

}  // namespace eldercare::cli
