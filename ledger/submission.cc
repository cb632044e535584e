#include "ledger/submission.h"

#include <capnp/any.h>

#include <algorithm>
#include <cstring>

namespace eldercare {
namespace {
// Entry's pointer fields: writer, submissionId, signature, body (the last).
// A pointer field added to Entry would come after body and break the sizing
// in BodyDigestInCanonicalEntry: this fails to compile first.
constexpr size_t kEntryPointers = 4;
static_assert(schema::Entry::_capnpPrivate::pointerCount == kEntryPointers);
}  // namespace

namespace detail {
kj::ArrayPtr<capnp::word> ZeroedScratch(size_t words, kj::Array<capnp::word>& big) {
  constexpr size_t kReusedWords = (1u << 20) / sizeof(capnp::word);
  thread_local kj::Array<capnp::word> reused = kj::heapArray<capnp::word>(1024);
  kj::ArrayPtr<capnp::word> out;
  if (words > kReusedWords) {
    big = kj::heapArray<capnp::word>(words);
    out = big;
  } else {
    if (reused.size() < words) {
      reused = kj::heapArray<capnp::word>(std::max(words, std::min(2 * reused.size(), kReusedWords)));
    }
    out = reused.slice(0, words);
  }
  std::memset(out.begin(), 0, words * sizeof(capnp::word));
  return out;
}
}  // namespace detail

Hash BodyDigest(schema::EventBody::Reader body) {
  return WithCanonical(body, [](ByteSpan b) { return Sha256(b); });
}

std::optional<CanonicalBody> CanonicalBodyInEntry(const CanonicalMessage& entry) {
  return CanonicalBodyInEntry(entry.Root<schema::Entry>(), entry.words());
}

std::optional<CanonicalBody> CanonicalBodyInEntry(schema::Entry::Reader e, ByteSpan all) {
  auto body = e.getBody();
  // A canonical message lays every object out in preorder with no gaps, so
  // the body's struct and everything under it are one run of words, and
  // pointers inside the run are relative to it. canonicalize(body) is those
  // words after a root pointer to the struct that follows it (offset 0).
  capnp::AnyStruct::Reader any(body);
  auto data = any.getDataSection();
  auto pointers = any.getPointerSection();
  uint64_t data_words = data.size() / sizeof(capnp::word);
  if (data_words == 0 && pointers.size() == 0) return std::nullopt;  // empty: a special pointer
  // The body is Entry's last pointer, so in preorder its struct and all
  // under it run to the message's end: sized from where it starts, without
  // a walk of the body. (A message with pointers after it, which this
  // schema does not write, is sized by the walk.)
  const uint8_t* begin = reinterpret_cast<const uint8_t*>(data.begin());
  uint64_t words = capnp::AnyStruct::Reader(e).getPointerSection().size() == kEntryPointers && begin >= all.data() &&
                           begin < all.data() + all.size()
                       ? static_cast<uint64_t>(all.data() + all.size() - begin) / sizeof(capnp::word)
                       : body.totalSize().wordCount;
  CanonicalBody out;
  uint64_t root = (data_words | (uint64_t{pointers.size()} << 16)) << 32;  // struct pointer, offset 0
  for (int i = 0; i < 8; ++i) out.root[i] = static_cast<uint8_t>(root >> (8 * i));
  out.words = ByteSpan(begin, words * sizeof(capnp::word));
  return out;
}

Hash BodyDigestInCanonicalEntry(const CanonicalMessage& entry) {
  return BodyDigestInCanonicalEntry(entry.Root<schema::Entry>(), entry.words());
}

Hash BodyDigestInCanonicalEntry(schema::Entry::Reader e, ByteSpan words) {
  auto body = CanonicalBodyInEntry(e, words);
  if (!body) return BodyDigest(e.getBody());
  thread_local Sha256Hasher h;  // a context per call cost more than hashing a small body
  h.Update(ByteSpan(body->root.data(), body->root.size()));
  h.Update(body->words);
  return h.Finish();
}

Hash HeaderDigest(std::string_view writer, std::string_view submission_id,
                  std::span<const Hash> body_digests) {
  capnp::MallocMessageBuilder msg(64 + 6 * body_digests.size());
  auto h = msg.initRoot<schema::SignedHeader>();
  h.setWriter(capnp::Text::Reader(writer.data(), writer.size()));
  h.setSubmissionId(capnp::Text::Reader(submission_id.data(), submission_id.size()));
  auto list = h.initBodyDigests(static_cast<unsigned>(body_digests.size()));
  for (size_t i = 0; i < body_digests.size(); ++i) {
    list.set(static_cast<unsigned>(i), capnp::Data::Reader(body_digests[i].data(), body_digests[i].size()));
  }
  return WithCanonical(h.asReader(), [](ByteSpan b) { return Sha256(b); });
}

Bytes SigningMessage(const Hash& header_digest) {
  Bytes m(kSubmissionContext.begin(), kSubmissionContext.end());
  m.push_back(0x00);
  m.insert(m.end(), header_digest.begin(), header_digest.end());
  return m;
}

void SignSubmission(schema::Submission::Builder s, const PrivateKey& key) {
  std::vector<Hash> digests;
  digests.reserve(s.getEvents().size());
  for (auto e : s.getEvents()) digests.push_back(BodyDigest(e.asReader()));
  Hash h = HeaderDigest(s.getWriter().cStr(), s.getSubmissionId().cStr(), digests);
  Signature sig = key.Sign(SigningMessage(h));
  s.setSignature(capnp::Data::Reader(sig.data(), sig.size()));
}

Result<DecodedSubmission> DecodedSubmission::FromBytes(std::string_view bytes, const SubmissionLimits& limits) {
  if (bytes.size() > limits.max_submission_bytes) {
    return Status::InvalidArgument("submission is " + std::to_string(bytes.size()) + " bytes, more than the limit of " +
                                   std::to_string(limits.max_submission_bytes));
  }
  if (bytes.size() % sizeof(capnp::word) != 0 || bytes.empty()) {
    return Status::InvalidArgument("submission is not a whole number of 8-byte words");
  }
  DecodedSubmission d;
  d.words_ = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
  std::memcpy(d.words_.begin(), bytes.data(), bytes.size());
  capnp::ReaderOptions opts;
  opts.traversalLimitInWords = 4 * d.words_.size() + 1024;
  opts.nestingLimit = 16;
  try {
    d.reader_ = std::make_unique<capnp::FlatArrayMessageReader>(d.words_.asPtr(), opts);
    d.root_ = d.reader_->getRoot<schema::Submission>();
    (void)d.root_.getEvents().size();
  } catch (const kj::Exception& e) {
    return Status::InvalidArgument(std::string("submission is not a valid Cap'n Proto message: ") +
                                   e.getDescription().cStr());
  }
  return d;
}

DecodedSubmission DecodedSubmission::FromBuilder(schema::Submission::Reader s) {
  DecodedSubmission d;
  capnp::MallocMessageBuilder msg;
  msg.setRoot(s);
  d.words_ = capnp::messageToFlatArray(msg);
  d.reader_ = std::make_unique<capnp::FlatArrayMessageReader>(d.words_.asPtr());
  d.root_ = d.reader_->getRoot<schema::Submission>();
  return d;
}

std::string_view DecodedSubmission::bytes() const {
  auto b = words_.asBytes();
  return {reinterpret_cast<const char*>(b.begin()), b.size()};
}

std::string SubmissionToBytes(schema::Submission::Reader s) {
  capnp::MallocMessageBuilder msg;
  msg.setRoot(s);
  kj::Array<capnp::word> words = capnp::messageToFlatArray(msg);
  return std::string(reinterpret_cast<const char*>(words.asBytes().begin()), words.asBytes().size());
}

}  // namespace eldercare
