// Stored entries: building their canonical bytes (the Merkle leaf data) and
// reading them back with the canonical form checked.
#ifndef ELDERCARE_LEDGER_ENTRY_H_
#define ELDERCARE_LEDGER_ENTRY_H_

#include <capnp/any.h>
#include <capnp/message.h>
#include <kj/function.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "ledger/crypto.h"
#include "ledger/status.h"
#include "schema/ledger.capnp.h"

namespace eldercare {

struct EntryHeader {
  uint64_t index = 0;
  int64_t recorded_at = 0;
  std::string_view writer;
  std::string_view submission_id;
  uint32_t position = 0;
  uint32_t count = 0;
  ByteSpan signature;
};

// canonical(Entry{header..., body}).
std::string BuildEntryBytes(const EntryHeader& h, schema::EventBody::Reader body);

// The same bytes in two steps, so that the costly part runs before an entry's
// position is known (in parallel, while signatures are checked): a template
// built with index 0 and time 0, then both set in place. Canonical layout
// puts Entry's data section right after the root pointer: index at bytes
// 8-15, recordedAt at 16-23 (little-endian); `count` >= 1 keeps the data
// section's length fixed. A test checks this equals BuildEntryBytes.
std::string BuildEntryTemplate(std::string_view writer, std::string_view submission_id, uint32_t position,
                               uint32_t count, ByteSpan signature, schema::EventBody::Reader body);
void PlaceEntry(std::string& entry_template, uint64_t index, int64_t recorded_at);

// A canonical, single-segment Cap'n Proto message without segment table, as
// stored in the log and signed or hashed. Owns an aligned copy of the bytes.
class CanonicalMessage {
 public:
  // InvalidArgument if the bytes are not a well-formed message, or (with
  // require_canonical) not in canonical form. Reads are limited to
  // `traversal_factor` times the message size (capnp::ReaderOptions): small
  // for untrusted input read a few times, large for records read often.
  static Result<CanonicalMessage> Parse(std::string_view bytes, bool require_canonical = true,
                                        uint64_t traversal_factor = 16);
  // The same, reading `bytes` where they lie (when on 8-byte words) and
  // holding `owner`, which keeps them alive.
  static Result<CanonicalMessage> Parse(std::shared_ptr<const void> owner, std::string_view bytes,
                                        bool require_canonical = true, uint64_t traversal_factor = 16);

  // The root struct, read once when the message was parsed (getRoot checks
  // the root pointer again on every call, and a verify asks five times an
  // entry).
  template <typename T>
  typename T::Reader Root() const {
    return root_.as<T>();
  }
  // The message's words, as parsed.
  ByteSpan words() const;

 private:
  struct Impl;
  static Result<CanonicalMessage> Read(std::shared_ptr<Impl> impl, bool require_canonical, uint64_t traversal_factor);
  std::shared_ptr<Impl> impl_;         // owns the bytes and the reader
  capnp::AnyStruct::Reader root_;
};

// Parses leaf bytes as an Entry, checking canonical form; the message names
// the index it was expected at.
Result<CanonicalMessage> ParseEntry(std::string_view leaf_bytes);
Result<CanonicalMessage> ParseEntry(std::shared_ptr<const void> owner, std::string_view leaf_bytes);

// The same checks, reading the leaf where it lies and keeping nothing: `use`
// sees the entry, and the leaf's words, while this runs. For a pass over
// every leaf that needs each one's fields only once (verify): no reader is
// allocated or handed between threads. The bytes must lie on 8-byte words
// (FailedPrecondition if not; a caller copies them there first), so that
// views `use` takes into the entry stay valid as long as the leaf. Errors
// are ParseEntry's; an exception thrown by `use` is reported as a
// malformed entry.
Status ReadEntryInPlace(std::string_view leaf_bytes, kj::FunctionParam<void(schema::Entry::Reader, ByteSpan)> use);

}  // namespace eldercare

#endif  // ELDERCARE_LEDGER_ENTRY_H_
