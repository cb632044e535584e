// The inspector's report: one self-contained HTML page (inline SVG, no
// scripts, no external resources) for an enterprise and a month.
#ifndef ELDERCARE_AUDIT_CLI_REPORT_H_
#define ELDERCARE_AUDIT_CLI_REPORT_H_

#include <string>

#include "ledger/ledger.h"
#include "ledger/status.h"

namespace eldercare::cli {

// Renders the page from the ledger's state now: statement, six months of
// billed and refused deliveries by reason, spot-check and follow-up outcomes,
// supervision, exit recommendations, and every anomaly with its event
// indexes and an inclusion proof against the latest checkpoint.
Result<std::string> RenderReport(const Ledger& ledger, const std::string& enterprise, const std::string& month);

}  // namespace eldercare::cli

#endif  // ELDERCARE_AUDIT_CLI_REPORT_H_
