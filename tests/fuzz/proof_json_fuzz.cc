// The proof parser (`audit-cli verify-proof --proof FILE`): inclusion and
// consistency proofs as JSON from anyone. Parsing returns a Status; checking
// a parsed proof returns a Status (sizes and indexes of any value, paths of
// any length); a parsed proof written back as JSON parses to the same proof.
#include "ledger/merkle.h"
#include "ledger/proof_json.h"
#include "tests/fuzz/fuzz_util.h"

using namespace eldercare;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parsed = ParseProofJson(fuzz::AsText(data, size));
  if (!parsed.ok()) return 0;
  Status checked = CheckProof(*parsed);
  std::string shown = parsed->is_inclusion ? ToJson(parsed->inclusion).dump() : ToJson(parsed->consistency).dump();
  auto again = ParseProofJson(shown);
  FUZZ_CHECK(again.ok(), "a parsed proof does not parse from its own JSON: " + again.status().ToString());
  FUZZ_CHECK(again->is_inclusion == parsed->is_inclusion, "the proof changed kind");
  std::string shown_again = again->is_inclusion ? ToJson(again->inclusion).dump() : ToJson(again->consistency).dump();
  FUZZ_CHECK(shown_again == shown, "the proof changed on its way through JSON");
  FUZZ_CHECK(CheckProof(*again).ok() == checked.ok(), "the same proof checked two ways");
  return 0;
}
