// Binary decoding: a submission envelope (capnp framing, as sent over the
// wire) and a stored entry (canonical leaf bytes, as read from the log or an
// export). Either decodes to a Status; whatever decodes can be checked the
// way the ledger and the verifier check it, and anything that passes the
// write-side rules can be shown as JSON.
#include <capnp/message.h>

#include "ledger/entry.h"
#include "ledger/event_json.h"
#include "ledger/event_schema.h"
#include "ledger/submission.h"
#include "tests/fuzz/fuzz_util.h"

using namespace eldercare;

namespace {

// The whole text, embedded NULs and all (cStr() would stop at the first).
std::string_view Text(capnp::Text::Reader t) { return {t.cStr(), t.size()}; }

void Show(schema::EventBody::Reader original) {
  if (events::EventTypeOf(original) == nullptr) return;
  // Every check below reads the body again, and a reader's traversal budget
  // is shared by all its reads: on the original a later check could run out
  // where an earlier one did not. So they read a copy, which has no budget
  // (making the copy may run out: the caller catches that).
  capnp::MallocMessageBuilder copy;
  copy.setRoot(original);
  auto body = copy.getRoot<schema::EventBody>().asReader();
  if (events::FastBodyIsValid(body)) {
    Status dynamic = events::ValidateBodyDynamic(body);
    FUZZ_CHECK(dynamic.ok(), "the fast schema check accepted a body the dynamic validator refuses: " + dynamic.ToString());
  }
  if (!events::ValidateBody(body).ok()) return;
  try {
    (void)events::EventToJson(body).dump();
  } catch (const std::exception& e) {
    fuzz::Broken(std::string("a valid event cannot be shown as JSON: ") + e.what());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes = fuzz::AsText(data, size);
  SubmissionLimits limits;
  limits.max_submission_bytes = 1 << 20;
  if (auto d = DecodedSubmission::FromBytes(bytes, limits); d.ok()) {
    try {
      auto s = d->get();
      (void)events::ValidateId("writer", Text(s.getWriter()));
      std::vector<Hash> digests;
      for (auto body : s.getEvents()) {
        digests.push_back(BodyDigest(body));
        kj::Array<capnp::word> canonical = capnp::canonicalize(body);
        FUZZ_CHECK(CanonicalBytes(body) == AsChars(ByteSpan(canonical.asBytes().begin(), canonical.asBytes().size())),
                   "the canonical bytes the ledger builds differ from capnp::canonicalize's");
        Show(body);
      }
      Hash header = HeaderDigest(Text(s.getWriter()), Text(s.getSubmissionId()), digests);
      auto sig = s.getSignature();
      Bytes message = SigningMessage(header);
      (void)fuzz::FixedKey().public_key().Verify(message, ByteSpan(sig.begin(), sig.size()));
    } catch (const kj::Exception&) {
      // capnp refuses a read beyond the message (or over the traversal
      // limit) by throwing; the ledger catches it the same way.
    }
  }
  if (auto e = ParseEntry(bytes); e.ok()) {
    auto entry = e->Root<schema::Entry>();
    try {
      // Equal for every entry canonicalize would write byte for byte; capnp's
      // canonical check also passes a few encodings it would not (the
      // verifier then names the entry as not canonical).
      FUZZ_CHECK(BodyDigestInCanonicalEntry(*e) == BodyDigest(entry.getBody()) ||
                     CanonicalBytes(entry) != bytes,
                 "a canonical entry's body digest, hashed in place, differs from canonicalize's");
      Show(entry.getBody());
      bool valid = events::EventTypeOf(entry.getBody()) != nullptr && events::ValidateBody(entry.getBody()).ok() &&
                   events::ValidateId("writer", Text(entry.getWriter())).ok() &&
                   events::ValidateId("submission_id", Text(entry.getSubmissionId())).ok();
      try {
        (void)events::EntryToJson(entry, std::string(64, '0')).dump();
      } catch (const nlohmann::json::exception& ex) {
        // Text that is not UTF-8 can only come from an entry that fails the
        // write-side rules, which the verifier refuses before showing it.
        FUZZ_CHECK(!valid, std::string("a valid entry cannot be shown as JSON: ") + ex.what());
      }
    } catch (const kj::Exception&) {
    }
  }
  return 0;
}
