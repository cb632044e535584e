// The signed-note and checkpoint parsers (C2SP signed-note, tlog-checkpoint),
// which read what outside parties hand an evaluator. Parsing returns a
// Status; a parsed checkpoint body formats back to exactly its text (one
// checkpoint has one spelling); a note opens only with a valid signature.
#include "ledger/note.h"
#include "tests/fuzz/fuzz_util.h"

using namespace eldercare;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = fuzz::AsText(data, size);
  static const note::Verifier verifier = *note::ParseVerifierKey(
      note::VerifierKey("fuzz.example/log", fuzz::FixedKey().public_key()));

  if (auto n = note::Parse(text); n.ok()) {
    for (const auto& s : n->signatures) FUZZ_CHECK(!s.name.empty(), "a parsed signature line has no key name");
    auto body = checkpoint::ParseBody(n->text);
    FUZZ_CHECK(!body.ok() || checkpoint::FormatBody(*body) == n->text,
               "a checkpoint body does not format back to its own text");
  }
  if (auto opened = note::Open(text, verifier); opened.ok()) {
    // Only a note this key signed opens; the fuzzer cannot forge Ed25519, so
    // reaching here means the input is a real signature over its text.
    auto again = note::Sign(*opened, "fuzz.example/log", fuzz::FixedKey());
    FUZZ_CHECK(again.ok(), "an opened note's text cannot be signed again: " + again.status().ToString());
  }
  auto body = checkpoint::ParseBody(text);
  FUZZ_CHECK(!body.ok() || checkpoint::FormatBody(*body) == text, "a checkpoint body does not format back to its own text");
  (void)note::ParseVerifierKey(text);
  return 0;
}
