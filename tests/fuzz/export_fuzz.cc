// An export's entries.bin, as an evaluator receives it: the record framing
// and then the whole verifier (genesis, keys, roles, signatures, Merkle
// root). Any byte string ends in a report — a clean OK only for a log whose
// every entry is well-formed — never in a crash.
#include <sstream>

#include "ledger/export.h"
#include "ledger/verifier.h"
#include "tests/fuzz/fuzz_util.h"

using namespace eldercare;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto reader = ExportReader::FromStream(std::make_unique<std::istringstream>(std::string(fuzz::AsText(data, size))));
  VerifyOptions options;
  options.threads = 1;
  LogVerifier verifier({}, nullptr, options);
  std::string leaf;
  uint64_t records = 0;
  for (;;) {
    auto next = reader->Next(&leaf);
    if (!next.ok()) {
      verifier.FailSource(next.status());
      break;
    }
    if (!*next) break;
    ++records;
    if (!verifier.Add(leaf)) break;
  }
  VerifyReport report = verifier.Finish();
  FUZZ_CHECK(!report.ok || report.size == records, "verify passed without reading every record");
  FUZZ_CHECK(report.ok || !report.error.empty(), "a failed verification says nothing");
  return 0;
}
