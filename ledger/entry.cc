#include "ledger/entry.h"

#include <capnp/serialize.h>

#include <cstring>

#include "ledger/submission.h"

namespace eldercare {

struct CanonicalMessage::Impl {
  kj::Array<capnp::word> words;  // a copy, or
  std::shared_ptr<const void> owner;  // or what keeps the caller's word-aligned bytes alive
  kj::ArrayPtr<const capnp::word> segments[1];
  std::optional<capnp::SegmentArrayMessageReader> reader;
};

namespace {

Status CheckWholeWords(size_t size) {
  if (size == 0 || size % sizeof(capnp::word) != 0) {
    return Status::InvalidArgument("message of " + std::to_string(size) + " bytes is not a whole number of 8-byte words");
  }
  return Status::Ok();
}

}  // namespace

std::string BuildEntryBytes(const EntryHeader& h, schema::EventBody::Reader body) {
  capnp::MallocMessageBuilder msg(256);
  auto e = msg.initRoot<schema::Entry>();
  e.setIndex(h.index);
  e.setRecordedAt(h.recorded_at);
  e.setWriter(capnp::Text::Reader(h.writer.data(), h.writer.size()));
  e.setSubmissionId(capnp::Text::Reader(h.submission_id.data(), h.submission_id.size()));
  e.setPosition(h.position);
  e.setCount(h.count);
  e.setSignature(capnp::Data::Reader(h.signature.data(), h.signature.size()));
  e.setBody(body);
  return CanonicalBytes(e.asReader());
}

std::string BuildEntryTemplate(std::string_view writer, std::string_view submission_id, uint32_t position,
                               uint32_t count, ByteSpan signature, schema::EventBody::Reader body) {
  assert(count >= 1);
  return BuildEntryBytes(EntryHeader{0, 0, writer, submission_id, position, count, signature}, body);
}

void PlaceEntry(std::string& t, uint64_t index, int64_t recorded_at) {
  auto put = [&](size_t at, uint64_t v) {
    for (int i = 0; i < 8; ++i) t[at + i] = static_cast<char>(v >> (8 * i));
  };
  put(8, index);
  put(16, static_cast<uint64_t>(recorded_at));
}

Result<CanonicalMessage> CanonicalMessage::Parse(std::string_view bytes, bool require_canonical,
                                                 uint64_t traversal_factor) {
  ELDERCARE_RETURN_IF_ERROR(CheckWholeWords(bytes.size()));
  auto impl = std::make_shared<Impl>();
  impl->words = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
  std::memcpy(impl->words.begin(), bytes.data(), bytes.size());
  impl->segments[0] = impl->words.asPtr();
  return Read(std::move(impl), require_canonical, traversal_factor);
}

Result<CanonicalMessage> CanonicalMessage::Parse(std::shared_ptr<const void> owner, std::string_view bytes,
                                                 bool require_canonical, uint64_t traversal_factor) {
  if (reinterpret_cast<uintptr_t>(bytes.data()) % alignof(capnp::word) != 0) {
    return Parse(bytes, require_canonical, traversal_factor);
  }
  ELDERCARE_RETURN_IF_ERROR(CheckWholeWords(bytes.size()));
  auto impl = std::make_shared<Impl>();
  impl->owner = std::move(owner);
  impl->segments[0] = kj::arrayPtr(reinterpret_cast<const capnp::word*>(bytes.data()), bytes.size() / sizeof(capnp::word));
  return Read(std::move(impl), require_canonical, traversal_factor);
}

namespace {

capnp::ReaderOptions LimitsFor(size_t words, uint64_t traversal_factor) {
  capnp::ReaderOptions opts;
  opts.traversalLimitInWords = traversal_factor * words + 1024;
  opts.nestingLimit = 16;
  return opts;
}

Status NotCanonical() { return Status::InvalidArgument("message is not in canonical Cap'n Proto form"); }
Status Malformed(const kj::Exception& e) {
  return Status::InvalidArgument(std::string("malformed Cap'n Proto message: ") + e.getDescription().cStr());
}
Status MalformedEntry(const kj::Exception& e) {
  return Status::InvalidArgument(std::string("malformed entry: ") + e.getDescription().cStr());
}

// Reads the pointers every entry must have, so that a bad one is reported
// here, not by whoever reads it next.
void TouchEntry(schema::Entry::Reader e) {
  (void)e.getBody().which();
  (void)e.getWriter();
  (void)e.getSubmissionId();
  (void)e.getSignature();
}

}  // namespace

Result<CanonicalMessage> CanonicalMessage::Read(std::shared_ptr<Impl> impl, bool require_canonical,
                                                uint64_t traversal_factor) {
  CanonicalMessage m;
  try {
    impl->reader.emplace(kj::arrayPtr(impl->segments, 1), LimitsFor(impl->segments[0].size(), traversal_factor));
    if (require_canonical && !impl->reader->isCanonical()) return NotCanonical();
    m.root_ = impl->reader->getRoot<capnp::AnyStruct>();
  } catch (const kj::Exception& e) {
    return Malformed(e);
  }
  m.impl_ = std::move(impl);
  return m;
}

ByteSpan CanonicalMessage::words() const {
  auto w = impl_->segments[0];
  return ByteSpan(reinterpret_cast<const uint8_t*>(w.begin()), w.size() * sizeof(capnp::word));
}

namespace {

Result<CanonicalMessage> CheckEntry(Result<CanonicalMessage> m) {
  if (!m.ok()) return m.status();
  try {
    TouchEntry(m->Root<schema::Entry>());
  } catch (const kj::Exception& ex) {
    return MalformedEntry(ex);
  }
  return m;
}

}  // namespace

Result<CanonicalMessage> ParseEntry(std::string_view leaf_bytes) { return CheckEntry(CanonicalMessage::Parse(leaf_bytes)); }
Result<CanonicalMessage> ParseEntry(std::shared_ptr<const void> owner, std::string_view leaf_bytes) {
  return CheckEntry(CanonicalMessage::Parse(std::move(owner), leaf_bytes));
}

Status ReadEntryInPlace(std::string_view leaf_bytes, kj::FunctionParam<void(schema::Entry::Reader, ByteSpan)> use) {
  ELDERCARE_RETURN_IF_ERROR(CheckWholeWords(leaf_bytes.size()));
  if (reinterpret_cast<uintptr_t>(leaf_bytes.data()) % alignof(capnp::word) != 0) {
    return Status::FailedPrecondition("leaf bytes to be read in place are not on 8-byte words");
  }
  const size_t n = leaf_bytes.size() / sizeof(capnp::word);
  kj::ArrayPtr<const capnp::word> segment = kj::arrayPtr(reinterpret_cast<const capnp::word*>(leaf_bytes.data()), n);
  // The reader and its arena live on this stack (the whole point: a parse
  // kept for later costs an allocation, and its release on another thread).
  std::optional<capnp::SegmentArrayMessageReader> reader;
  schema::Entry::Reader e;
  try {
    reader.emplace(kj::arrayPtr(&segment, 1), LimitsFor(n, 16));
    if (!reader->isCanonical()) return NotCanonical();
    e = reader->getRoot<schema::Entry>();
  } catch (const kj::Exception& ex) {
    return Malformed(ex);
  }
  try {
    TouchEntry(e);
    use(e, AsBytes(leaf_bytes));
  } catch (const kj::Exception& ex) {
    return MalformedEntry(ex);
  }
  return Status::Ok();
}

}  // namespace eldercare
