// Signed submissions: the bytes a writer signs, and how the ledger checks them.
//
// Signed bytes (docs/FORMATS.md, "Submission signature"):
//   body_digest[i] = SHA-256(canonical(EventBody_i))
//   header         = canonical(SignedHeader{writer, submissionId, body_digests})
//   message        = "eldercare-ledger:submission:v1" || 0x00 || SHA-256(header)
//   signature      = Ed25519(writer's key, message)
// canonical() is capnp::canonicalize: one segment, no segment table.
// The NUL after the context string keeps a submission signature from ever
// being valid as a signed note (notes are text without control characters).
#ifndef ELDERCARE_LEDGER_SUBMISSION_H_
#define ELDERCARE_LEDGER_SUBMISSION_H_

#include <capnp/any.h>
#include <capnp/message.h>
#include <capnp/serialize.h>

#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/crypto.h"
#include "ledger/entry.h"
#include "ledger/status.h"
#include "schema/ledger.capnp.h"

namespace eldercare {

constexpr std::string_view kSubmissionContext = "eldercare-ledger:submission:v1";

struct SubmissionLimits {
  size_t max_submission_bytes = 16u << 20;  // encoded submission
  size_t max_events = 20000;                // events in one submission
  size_t max_body_bytes = 64u << 10;        // canonical bytes of one event body
};

namespace detail {
// `words` zeroed words: a buffer the calling thread reuses up to 1 MiB, a
// new one (held in `big`) past that.
kj::ArrayPtr<capnp::word> ZeroedScratch(size_t words, kj::Array<capnp::word>& big);
}  // namespace detail

// The bytes capnp::canonicalize(reader) returns, passed to `use` without
// its two allocations and its second walk: canonicalize builds the copy in
// one array, asserts it canonical, and copies it into another of the exact
// size. Here the copy is built once, in a buffer the thread reuses, by the
// same call canonicalize makes (setCanonical: canonical by construction).
// Tests compare the bytes with canonicalize's for every event type, and
// the envelope fuzzer for every body it decodes. The bytes live only
// during `use`, which must not call WithCanonical itself (the buffer is the
// thread's).
template <typename Reader, typename Use>
auto WithCanonical(Reader reader, Use&& use) {
  kj::Array<capnp::word> big;
  kj::ArrayPtr<capnp::word> buffer = detail::ZeroedScratch(reader.totalSize().wordCount + 1, big);
  capnp::FlatMessageBuilder flat(buffer);
  flat.initRoot<capnp::AnyPointer>().setCanonicalAs<capnp::FromReader<Reader>>(reader);
  auto words = flat.getSegmentsForOutput()[0];
  return use(ByteSpan(reinterpret_cast<const uint8_t*>(words.begin()), words.size() * sizeof(capnp::word)));
}

// Canonical bytes of any struct reader, as a byte string.
template <typename Reader>
std::string CanonicalBytes(Reader reader) {
  return WithCanonical(reader, [](ByteSpan b) { return std::string(AsChars(b)); });
}

Hash BodyDigest(schema::EventBody::Reader body);
// The same digest for the body of an entry already checked canonical
// (ParseEntry): its canonical form is the same words behind a new root
// pointer, hashed where they lie.
Hash BodyDigestInCanonicalEntry(const CanonicalMessage& entry);
// The same for an entry read in place (ReadEntryInPlace): `words` are the
// leaf's bytes, on 8-byte words, that `entry` was read from.
Hash BodyDigestInCanonicalEntry(schema::Entry::Reader entry, ByteSpan words);
// What that digest hashes: the new root pointer, then the body's words where
// they lie in the entry. None for an empty body (a special pointer: hashed
// by BodyDigest).
struct CanonicalBody {
  std::array<uint8_t, 8> root{};
  ByteSpan words;
};
std::optional<CanonicalBody> CanonicalBodyInEntry(const CanonicalMessage& entry);
std::optional<CanonicalBody> CanonicalBodyInEntry(schema::Entry::Reader entry, ByteSpan words);
Hash HeaderDigest(std::string_view writer, std::string_view submission_id,
                  std::span<const Hash> body_digests);
// The exact message handed to Ed25519.
Bytes SigningMessage(const Hash& header_digest);

// Computes the digest of `s`'s writer, id and events and sets its signature.
void SignSubmission(schema::Submission::Builder s, const PrivateKey& key);

// Owns a decoded submission (flat message bytes, kept word-aligned).
class DecodedSubmission {
 public:
  // Decodes bytes as written by capnp::messageToFlatArray (segment table and
  // all), with explicit reader limits. Errors are InvalidArgument.
  static Result<DecodedSubmission> FromBytes(std::string_view bytes, const SubmissionLimits& limits);
  static DecodedSubmission FromBuilder(schema::Submission::Reader s);

  schema::Submission::Reader get() const { return root_; }
  std::string_view bytes() const;

 private:
  kj::Array<capnp::word> words_;
  std::unique_ptr<capnp::FlatArrayMessageReader> reader_;
  schema::Submission::Reader root_;
};

// Serialises a submission for transport or storage (standard capnp framing).
std::string SubmissionToBytes(schema::Submission::Reader s);

}  // namespace eldercare

#endif  // ELDERCARE_LEDGER_SUBMISSION_H_
