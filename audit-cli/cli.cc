#include "audit-cli/cli.h"

#include <spdlog/sinks/ostream_sink.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>

#include "audit-cli/context.h"
#include "ledger/thread_pool.h"
#include "ledger/time_util.h"
#include "projections/fold.h"
#include "projections/snapshot.h"

namespace eldercare::cli {

ProgressFn TerminalProgress(const Context& ctx) {
  if (!isatty(2)) return {};
  struct State {
    std::mutex mu;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now(), last = started;
  };
  auto state = std::make_shared<State>();
  return [state, log = ctx.log](std::string_view what, uint64_t done, uint64_t total) {
    constexpr auto kEvery = std::chrono::seconds(3);
    auto now = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> l(state->mu);
    if (now - state->last < kEvery) return;
    state->last = now;
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(now - state->started).count();
    if (total > 0) {
      log->info("{}: {} of {} entries ({}%), {} s", what, done, total, done * 100 / total, secs);
    } else {
      log->info("{}: {} entries, {} s", what, done, secs);
    }
  };
}

Result<std::unique_ptr<Ledger>> OpenLedger(const Context& ctx, const std::string& dir, bool writable) {
  LedgerOptions o;
  o.read_only = !writable;
  o.projector = ctx.projector;
  if (writable) o.progress = TerminalProgress(ctx);  // (an open that rebuilds stale projections)
  return Ledger::Open(dir, o);
}

const CLI::Validator& WholeNumber() {
  static const CLI::Validator v(
      [](std::string& text) -> std::string {
        bool digits = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
        return digits ? std::string() : "'" + text + "' is not a whole number (0 or more)";
      },
      "UINT");
  return v;
}

void AddAtSize(CLI::App* cmd, int64_t& at_size) {
  cmd->add_option("--at-size", at_size, "Answer as of this log size (default: now)")->check(WholeNumber());
}

Result<std::unique_ptr<proj::Snapshot>> SnapshotAt(const ProjectionView& view, int64_t at_size) {
  if (at_size > static_cast<int64_t>(view.size)) {
    return Status::InvalidArgument("--at-size " + std::to_string(at_size) + " is beyond the log's size " +
                                   std::to_string(view.size));
  }
  uint64_t size = at_size < 0 ? view.size : static_cast<uint64_t>(at_size);
  return std::make_unique<proj::Snapshot>(*view.state, view.size, size);
}

int32_t Today() {
  auto now = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch());
  return DateOfTimestamp(now.count(), kChinaOffsetMinutes);
}

void InParallel(size_t n, const std::function<void(size_t)>& fn) {
  const size_t threads = std::min<size_t>(n, HardwareThreads());
  if (threads <= 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  ThreadPool pool(static_cast<unsigned>(threads - 1));
  pool.ParallelFor(n, fn);
}

Result<int32_t> LogDay(const Ledger& ledger, uint64_t size) {
  if (size == 0) return kMinDay;  // nothing recorded yet: no month is over
  ELDERCARE_ASSIGN_OR_RETURN(int64_t at, ledger.RecordedAt(size - 1));
  return DateOfTimestamp(at, kChinaOffsetMinutes);
}

Result<int32_t> DayOr(const std::string& text) {
  if (text.empty()) return Today();
  return ParseDate(text);
}

std::string Yuan(int64_t fen) {
  std::string sign = fen < 0 ? "-" : "";
  uint64_t a = fen < 0 ? static_cast<uint64_t>(-(fen + 1)) + 1 : static_cast<uint64_t>(fen);
  std::string cents = std::to_string(a % 100);
  return sign + std::to_string(a / 100) + "." + (cents.size() == 1 ? "0" : "") + cents;
}

size_t DisplayWidth(std::string_view s) {
  size_t width = 0;
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    uint32_t cp = c;
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    if (n > 1 && i + n <= s.size()) {
      cp = c & (0x7f >> n);
      for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
    }
    i += n;
    bool wide = (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3) ||
                (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
                (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x20000 && cp <= 0x3fffd);
    width += wide ? 2 : 1;
  }
  return width;
}

std::string PadDisplay(std::string_view s, size_t width) {
  std::string out(s);
  size_t w = DisplayWidth(s);
  if (w < width) out.append(width - w, ' ');
  return out;
}

Result<PrivateKey> LoadKey(const std::string& path) { return PrivateKey::LoadPemFile(path); }

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  size_t e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

Result<PublicKey> ParsePublicKeyArg(const std::string& arg) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(arg, ec)) {
    auto text = ReadFile(arg);
    if (!text.ok()) return text.status();
    // A file may hold the key alone or `audit-cli keygen`'s output (key last).
    std::string t = Trim(*text);
    size_t nl = t.find_last_of('\n');
    return PublicKey::FromBase64(Trim(nl == std::string::npos ? t : t.substr(nl + 1)));
  }
  return PublicKey::FromBase64(Trim(arg));
}

Result<std::string> ReadInput(Context& ctx, const std::string& path) {
  if (path == "-" || path.empty()) {
    std::ostringstream ss;
    ss << ctx.in.rdbuf();
    return ss.str();
  }
  return ReadFile(path);
}

int Run(int argc, const char* const* argv, std::istream& in, std::ostream& out, std::ostream& err) {
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(err, /*force_flush=*/true);
  auto log = std::make_shared<spdlog::logger>("audit-cli", sink);
  log->set_pattern("%^%l%$: %v");
  log->set_level(spdlog::level::info);
  spdlog::set_default_logger(log);
  proj::ProgrammeProjector projector;
  Context ctx{in, out, err, log, &projector, {}};

  CLI::App app{
      "audit-cli: the eldercare audit ledger -- signed, append-only, verifiable.\n"
      "Data goes to standard output, diagnostics to standard error.",
      "audit-cli"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every command");
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "Log more detail to standard error");
  AddKeyCommands(app, ctx);
  AddLogCommands(app, ctx);
  AddProofCommands(app, ctx);
  AddVerifyCommands(app, ctx);
  AddProgrammeCommands(app, ctx);
  AddElderCommands(app, ctx);
  AddDemoCommands(app, ctx);
  AddSuperviseCommands(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with exit code 0, printed to out.
    return app.exit(e, out, err) == 0 ? 0 : 2;
  }
  if (verbose) log->set_level(spdlog::level::debug);
  if (!ctx.action) return 2;
  Status s = ctx.action();
  out.flush();
  if (!s.ok()) {
    log->error("{}", s.ToString());
    return 1;
  }
  return 0;
}

}  // namespace eldercare::cli
