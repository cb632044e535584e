// The JSON submission parser: what `audit-cli submit` reads from writers.
// Whatever text arrives, parsing returns a Status (never crashes, never
// throws); and an accepted event written back as JSON reads back to the same
// canonical bytes, so what the ledger shows a person is what was signed.
#include <sstream>

#include "ledger/client.h"
#include "ledger/event_json.h"
#include "ledger/event_schema.h"
#include "ledger/submission.h"
#include "tests/fuzz/fuzz_util.h"

using namespace eldercare;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in{std::string(fuzz::AsText(data, size))};
  SubmissionBuilder first("fuzzer");
  if (!first.AddJsonLines(in).ok()) {
    FUZZ_CHECK(first.size() == 0, "a refused input left events in the builder");
    return 0;
  }
  auto signed_once = first.Sign(fuzz::FixedKey(), "fuzz-1");
  SubmissionBuilder second("fuzzer");
  for (auto body : signed_once.getEvents()) {
    (void)events::ValidateBody(body);  // the write-side rules: any answer, no crash
    std::string shown = events::EventToJson(body).dump();
    Status s = second.AddJson(shown);
    FUZZ_CHECK(s.ok(), "an accepted event does not read back from its own JSON: " + s.ToString() + "\n" + shown);
  }
  auto signed_twice = second.Sign(fuzz::FixedKey(), "fuzz-1");
  auto a = signed_once.getEvents(), b = signed_twice.getEvents();
  for (uint32_t i = 0; i < a.size(); ++i) {
    FUZZ_CHECK(CanonicalBytes(a[i]) == CanonicalBytes(b[i]),
               "event " + std::to_string(i + 1) + " changed on its way through JSON: " +
                   events::EventToJson(a[i]).dump() + " vs " + events::EventToJson(b[i]).dump());
  }
  return 0;
}
