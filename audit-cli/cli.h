// audit-cli: argument parsing and wiring only. Every command lives in one of
// the cmd_*.cc files and calls the libraries; none holds business rules.
#ifndef ELDERCARE_AUDIT_CLI_CLI_H_
#define ELDERCARE_AUDIT_CLI_CLI_H_

#include <iosfwd>

namespace eldercare::cli {

// Runs one command line. Data goes to `out`, diagnostics to `err`.
// Exit status: 0 success, 1 failure (including "verification failed"),
// 2 usage error.
int Run(int argc, const char* const* argv, std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace eldercare::cli

#endif  // ELDERCARE_AUDIT_CLI_CLI_H_
