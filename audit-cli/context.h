// What every command handler gets, and the helpers they share.
#ifndef ELDERCARE_AUDIT_CLI_CONTEXT_H_
#define ELDERCARE_AUDIT_CLI_CONTEXT_H_

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "ledger/crypto.h"
#include "ledger/ledger.h"
#include "ledger/status.h"

namespace eldercare::proj {
class Snapshot;
class Statement;
}  // namespace eldercare::proj

namespace eldercare::cli {

struct Context {
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
  std::shared_ptr<spdlog::logger> log;
  // The projection every ledger is opened with (wired in cli.cc).
  const Projector* projector = nullptr;
  // The selected command's action, set by the parser callbacks.
  std::function<Status()> action;
};

// Each cmd_*.cc registers its subcommands.
void AddKeyCommands(CLI::App& app, Context& ctx);
void AddLogCommands(CLI::App& app, Context& ctx);
void AddProofCommands(CLI::App& app, Context& ctx);
void AddVerifyCommands(CLI::App& app, Context& ctx);
void AddProgrammeCommands(CLI::App& app, Context& ctx);
void AddElderCommands(CLI::App& app, Context& ctx);
void AddDemoCommands(CLI::App& app, Context& ctx);
void AddSuperviseCommands(CLI::App& app, Context& ctx);

// Reports a long operation's progress (ProgressFn) on standard error every
// few seconds, when standard error is a terminal; otherwise, or for an
// operation done within seconds, nothing.
ProgressFn TerminalProgress(const Context& ctx);
// Opens a ledger with the context's projection.
Result<std::unique_ptr<Ledger>> OpenLedger(const Context& ctx, const std::string& dir, bool writable);
// For log sizes, indexes and counts: digits only. Without it CLI11 reads
// "-1" into an int64_t (which the commands take for "not given") or wraps it
// to 2^64 - 1 in a uint64_t.
const CLI::Validator& WholeNumber();
// --at-size on a projection query; a negative `at_size` after parsing means
// it was not given.
void AddAtSize(CLI::App* cmd, int64_t& at_size);
// The projections as of `at_size` (negative: the state as it is); a size
// beyond the log is an error.
Result<std::unique_ptr<proj::Snapshot>> SnapshotAt(const ProjectionView& view, int64_t at_size);
// Runs fn(i) for every i in [0, n) on every core (the caller's thread among
// them) and returns when all have returned: for queries whose parts (months,
// enterprises) are independent reads of one projection snapshot, whose
// reader may be shared between threads. fn must not throw.
void InParallel(size_t n, const std::function<void(size_t)>& fn);
// Today in China (UTC+8), days since 1970-01-01: the default business date.
int32_t Today();
// The day (China) the latest entry below log size `size` was recorded: a
// month is over, as far as the log at that size knows, once this is past it
// (at size 0, the earliest day there is).
Result<int32_t> LogDay(const Ledger& ledger, uint64_t size);
// The date YYYY-MM-DD in `text`, or today when it is empty.
Result<int32_t> DayOr(const std::string& text);
// "1234.50" from fen.
std::string Yuan(int64_t fen);
// A statement as `audit-cli billing` prints it: totals, refusals, the
// adjustments to closed earlier months and what is payable; with `lines`,
// every delivery's verdict.
void PrintStatement(std::ostream& out, const proj::Statement& st, bool lines);
// Columns a terminal gives UTF-8 text (East Asian wide characters take two).
size_t DisplayWidth(std::string_view utf8);
// The text padded with spaces to `width` display columns (never cut).
std::string PadDisplay(std::string_view utf8, size_t width);
Result<PrivateKey> LoadKey(const std::string& path);
// PUB is the base64 key itself or a file holding it (surrounding space ignored).
Result<PublicKey> ParsePublicKeyArg(const std::string& arg);
// Reads a whole file, or standard input for "-".
Result<std::string> ReadInput(Context& ctx, const std::string& path);
std::string Trim(std::string s);

}  // namespace eldercare::cli

#endif  // ELDERCARE_AUDIT_CLI_CONTEXT_H_
