#include "ledger/ledger.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <thread>

#include "ledger/entry.h"
#include "ledger/export.h"
#include "ledger/merkle.h"
#include "ledger/note.h"
#include "ledger/verifier.h"
#include "tests/reference_merkle.h"
#include "tests/test_util.h"

namespace eldercare {
namespace {

using testing::KeyRegisteredJson;
using testing::LedgerFixture;
using testing::NewKey;

struct Snapshot {
  uint64_t size;
  Hash root;
  bool operator==(const Snapshot&) const = default;
};
Snapshot Snap(const Ledger& l) { return {l.Size(), *l.RootAt(l.Size())}; }

// Parsing a leaf held by an owner reads its bytes where they lie (verify's
// path): it must accept and refuse exactly what parsing a view does, and the
// parsed entry must keep the bytes alive after the caller lets go of them.
TEST(Ledger, ParsingAnOwnedLeafAgreesWithParsingAView) {
  LedgerFixture f;
  std::string leaf = *f.ledger->EntryBytes(0);
  auto owned = std::make_shared<std::string>(leaf);
  const char* bytes = owned->data();
  auto adopted = ParseEntry(owned, *owned);
  ASSERT_TRUE(adopted.ok()) << adopted.status().ToString();
  owned.reset();  // the caller lets go: the parsed entry holds the bytes
  auto viewed = ParseEntry(std::string_view(leaf));
  ASSERT_TRUE(viewed.ok());
  auto a = adopted->Root<schema::Entry>(), v = viewed->Root<schema::Entry>();
  EXPECT_EQ(a.getBody().getGenesis().getOrigin(), v.getBody().getGenesis().getOrigin());
  EXPECT_EQ(a.getIndex(), v.getIndex());
  EXPECT_EQ(a.getSignature(), v.getSignature());
  EXPECT_EQ(reinterpret_cast<const char*>(capnp::AnyStruct::Reader(a).getDataSection().begin()), bytes + 8)
      << "the owned leaf's bytes were copied";
  // Answered alike: bytes that are not whole words, and a null root pointer.
  for (std::string bad : {leaf.substr(0, leaf.size() - 3), std::string(8, '\0') + leaf.substr(8)}) {
    auto from_view = ParseEntry(std::string_view(bad));
    auto held = std::make_shared<const std::string>(bad);
    auto from_owned = ParseEntry(held, *held);
    EXPECT_EQ(from_view.ok(), from_owned.ok());
    if (!from_view.ok() && !from_owned.ok()) {
      EXPECT_EQ(from_view.status().message(), from_owned.status().message());
    }
  }
  // Refused both ways: a non-canonical encoding of the same entry.
  std::string padded = leaf;
  padded[0] = 4;  // root struct pointer offset 1: one word of padding...
  padded.insert(8, 8, '\0');  // ...inserted before the struct
  auto held = std::make_shared<const std::string>(padded);
  EXPECT_FALSE(ParseEntry(held, *held).ok());
  EXPECT_FALSE(ParseEntry(std::string_view(padded)).ok());
}

// Reading a leaf in place (verify's workers) accepts and refuses what
// ParseEntry does, with ParseEntry's messages; it sees the bytes where they
// lie, and refuses bytes off their words rather than read a copy that views
// into it would outlive.
TEST(Ledger, ReadingALeafInPlaceAgreesWithParseEntry) {
  LedgerFixture f;
  std::string leaf = *f.ledger->EntryBytes(0);
  auto words = std::make_unique<uint64_t[]>(leaf.size() / 8 + 2);
  auto in_place = [&](std::string_view bytes) {
    std::memcpy(words.get(), bytes.data(), bytes.size());
    return std::string_view(reinterpret_cast<const char*>(words.get()), bytes.size());
  };
  std::string_view aligned = in_place(leaf);
  int calls = 0;
  Status s = ReadEntryInPlace(aligned, [&](schema::Entry::Reader e, ByteSpan seen) {
    ++calls;
    EXPECT_EQ(e.getIndex(), 0u);
    EXPECT_EQ(std::string(e.getBody().getGenesis().getOrigin().cStr()), f.ledger->origin());
    EXPECT_EQ(reinterpret_cast<const char*>(seen.data()), aligned.data());
    EXPECT_EQ(seen.size(), aligned.size());
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(calls, 1);
  // Refused with ParseEntry's message: bytes that are not whole words, a
  // null root pointer, a non-canonical encoding of the same entry.
  std::string padded = leaf;
  padded[0] = 4;
  padded.insert(8, 8, '\0');
  for (std::string bad : {leaf.substr(0, leaf.size() - 3), std::string(8, '\0') + leaf.substr(8), padded}) {
    auto parsed = ParseEntry(std::string_view(bad));
    ASSERT_FALSE(parsed.ok());
    Status read = ReadEntryInPlace(in_place(bad), [&](schema::Entry::Reader, ByteSpan) { ++calls; });
    EXPECT_EQ(read.message(), parsed.status().message());
  }
  EXPECT_EQ(calls, 1) << "`use` ran for a refused leaf";
  // Off its words (one byte past the word-aligned buffer): refused, not copied.
  char* shifted = reinterpret_cast<char*>(words.get()) + 1;
  std::memcpy(shifted, leaf.data(), leaf.size());
  Status off = ReadEntryInPlace(std::string_view(shifted, leaf.size()), [&](schema::Entry::Reader, ByteSpan) { ++calls; });
  EXPECT_EQ(off.code(), Status::Code::kFailedPrecondition) << off.ToString();
  EXPECT_EQ(calls, 1);
}

TEST(Ledger, CreateWritesGenesisAndAFirstCheckpoint) {
  LedgerFixture f;
  EXPECT_EQ(f.ledger->Size(), 1u);
  auto leaf = f.ledger->EntryBytes(0);
  ASSERT_TRUE(leaf.ok());
  EXPECT_EQ(*f.ledger->RootAt(1), merkle::HashLeaf(AsBytes(*leaf)));
  auto entry = ParseEntry(*leaf);
  ASSERT_TRUE(entry.ok());
  EXPECT_TRUE(entry->Root<schema::Entry>().getBody().isGenesis());
  auto notes = f.ledger->Checkpoints();
  ASSERT_TRUE(notes.ok());
  ASSERT_EQ(notes->size(), 1u);
  note::Verifier v{"test.example/ledger", note::KeyId("test.example/ledger", f.op_key.public_key()),
                   f.op_key.public_key()};
  auto body = note::Open(notes->front(), v);
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  EXPECT_EQ(checkpoint::ParseBody(*body)->size, 1u);
}

TEST(Ledger, RefusesToCreateOverAnExistingLedger) {
  LedgerFixture f;
  auto again = Ledger::Create(f.path(), {"x.example/l", "operator", ""}, f.op_key);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), Status::Code::kAlreadyExists);
  EXPECT_FALSE(Ledger::Create(f.dir.Sub("other"), {"bad origin", "operator", ""}, f.op_key).ok());
}

TEST(Ledger, AppendsASubmissionOfManyEventsContiguously) {
  LedgerFixture f;
  auto a = NewKey(), b = NewKey(), c = NewKey();
  std::string lines = KeyRegisteredJson("ent-a", "enterprise", a.public_key()) + "\n" +
                      KeyRegisteredJson("ent-b", "enterprise", b.public_key()) + "\n\n" +
                      KeyRegisteredJson("bureau-1", "bureau", c.public_key()) + "\n";
  auto r = f.AppendJson("operator", f.op_key, lines);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->first_index, 1u);
  EXPECT_EQ(r->count, 3u);
  EXPECT_FALSE(r->duplicate);
  EXPECT_EQ(f.ledger->Size(), 4u);
  for (uint64_t i = 1; i < 4; ++i) {
    auto e = ParseEntry(*f.ledger->EntryBytes(i));
    auto entry = e->Root<schema::Entry>();
    EXPECT_EQ(entry.getIndex(), i);
    EXPECT_EQ(entry.getPosition(), i - 1);
    EXPECT_EQ(entry.getCount(), 3u);
  }
  EXPECT_NE(f.ledger->FindActor("ent-b"), std::nullopt);
}

TEST(Ledger, IdenticalSubmissionAgainReturnsItsOriginalPositions) {
  LedgerFixture f;
  std::string line = KeyRegisteredJson("ent-a", "enterprise", NewKey().public_key());
  auto first = f.AppendJson("operator", f.op_key, line, "sub-1");
  ASSERT_TRUE(first.ok());
  Snapshot before = Snap(*f.ledger);
  auto again = f.AppendJson("operator", f.op_key, line, "sub-1");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->first_index, first->first_index);
  EXPECT_EQ(again->count, first->count);
  EXPECT_EQ(Snap(*f.ledger), before);
}

TEST(Ledger, OtherContentUnderAUsedIdIsAConflict) {
  LedgerFixture f;
  ASSERT_TRUE(f.AppendJson("operator", f.op_key, KeyRegisteredJson("ent-a", "enterprise", NewKey().public_key()), "s").ok());
  Snapshot before = Snap(*f.ledger);
  auto r = f.AppendJson("operator", f.op_key, KeyRegisteredJson("ent-b", "enterprise", NewKey().public_key()), "s");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kConflict);
  EXPECT_NE(r.status().message().find("already used for different content"), std::string::npos);
  EXPECT_EQ(Snap(*f.ledger), before);
}

TEST(Ledger, RejectsUnknownWriter) {
  LedgerFixture f;
  Snapshot before = Snap(*f.ledger);
  auto stranger = NewKey();
  auto r = f.AppendJson("nobody", stranger, KeyRegisteredJson("x", "bureau", stranger.public_key()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kPermissionDenied);
  EXPECT_NE(r.status().message().find("writer 'nobody' has no registered key"), std::string::npos);
  EXPECT_EQ(Snap(*f.ledger), before);
}

TEST(Ledger, RejectsARoleThatMayNotWriteTheEvent) {
  LedgerFixture f;
  const PrivateKey& ent = f.Register("ent-a", schema::Role::ENTERPRISE);
  Snapshot before = Snap(*f.ledger);
  auto r = f.AppendJson("ent-a", ent, KeyRegisteredJson("ent-b", "enterprise", NewKey().public_key()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kPermissionDenied);
  EXPECT_NE(r.status().message().find("role 'enterprise' may not write 'key_registered'"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(Snap(*f.ledger), before);
}

TEST(Ledger, RejectsAForgedSignature) {
  LedgerFixture f;
  f.Register("ops-2", schema::Role::OPERATOR);
  Snapshot before = Snap(*f.ledger);
  auto forger = NewKey();
  auto r = f.AppendJson("ops-2", forger, KeyRegisteredJson("x", "bureau", forger.public_key()));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("signature does not verify"), std::string::npos);
  // A valid signature over other bytes is no better: flip one signature bit.
  SubmissionBuilder b("ops-2");
  std::istringstream in(KeyRegisteredJson("y", "bureau", forger.public_key()));
  ASSERT_TRUE(b.AddJsonLines(in).ok());
  auto sub = b.Sign(f.keys.at("ops-2"));
  capnp::MallocMessageBuilder copy;
  copy.setRoot(sub);
  auto mutable_sub = copy.getRoot<schema::Submission>();
  mutable_sub.getSignature()[0] ^= 1;
  EXPECT_FALSE(f.ledger->Append(mutable_sub.asReader()).ok());
  EXPECT_EQ(Snap(*f.ledger), before);
}

TEST(Ledger, RejectsARevokedKey) {
  LedgerFixture f;
  const PrivateKey& k = f.Register("ops-2", schema::Role::OPERATOR);
  std::string revoke = R"({"type":"key_revoked","actor_id":"ops-2","public_key":")" + k.public_key().ToBase64() +
                       R"(","reason":"laptop stolen"})";
  ASSERT_TRUE(f.AppendJson("operator", f.op_key, revoke).ok());
  Snapshot before = Snap(*f.ledger);
  auto r = f.AppendJson("ops-2", k, KeyRegisteredJson("x", "bureau", NewKey().public_key()));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no key that may sign"), std::string::npos) << r.status().message();
  EXPECT_EQ(Snap(*f.ledger), before);
  // The same revocation resent is a recognised retry; a new revocation of the
  // already-revoked key is refused.
  auto resent = f.AppendJson("operator", f.op_key, revoke);
  ASSERT_TRUE(resent.ok());
  EXPECT_TRUE(resent->duplicate);
  auto again = f.AppendJson("operator", f.op_key, revoke, "revoke-again");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), Status::Code::kNotFound);
}

TEST(Ledger, KeyCannotSignBeforeItsValidFrom) {
  LedgerFixture f;
  auto k = NewKey();
  int64_t now = f.clock.now->load();
  std::string line = KeyRegisteredJson("ops-2", "operator", k.public_key());
  line.pop_back();
  line += R"(,"valid_from":")" + std::string("2100-01-01T00:00:00Z") + "\"}";
  ASSERT_TRUE(f.AppendJson("operator", f.op_key, line).ok());
  auto r = f.AppendJson("ops-2", k, KeyRegisteredJson("x", "bureau", NewKey().public_key()));
  EXPECT_FALSE(r.ok());
  f.clock.now->store(now + int64_t{200} * 365 * 86400 * 1000000);
  EXPECT_TRUE(f.AppendJson("ops-2", k, KeyRegisteredJson("x", "bureau", NewKey().public_key())).ok());
}

TEST(Ledger, AnActorsRoleNeverChanges) {
  LedgerFixture f;
  f.Register("ent-a", schema::Role::ENTERPRISE);
  Snapshot before = Snap(*f.ledger);
  auto r = f.AppendJson("operator", f.op_key, KeyRegisteredJson("ent-a", "bureau", NewKey().public_key()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kConflict);
  EXPECT_EQ(Snap(*f.ledger), before);
}

TEST(Ledger, EnforcesSizeLimits) {
  LedgerOptions o;
  o.limits.max_events = 3;
  o.limits.max_body_bytes = 200;
  LedgerFixture f(o);
  Snapshot before = Snap(*f.ledger);
  std::string four;
  for (int i = 0; i < 4; ++i) four += KeyRegisteredJson("e" + std::to_string(i), "enterprise", NewKey().public_key()) + "\n";
  auto r = f.AppendJson("operator", f.op_key, four);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("more than the limit of 3"), std::string::npos);
  std::string big = KeyRegisteredJson("e", "enterprise", NewKey().public_key());
  big.pop_back();
  big += R"(,"display_name":")" + std::string(190, 'n') + "\"}";
  auto r2 = f.AppendJson("operator", f.op_key, big);
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.status().message().find("more than the limit of 200"), std::string::npos) << r2.status().message();
  EXPECT_EQ(Snap(*f.ledger), before);
}

TEST(Ledger, RefusesGenesisAfterCreation) {
  LedgerFixture f;
  std::string g = R"({"type":"genesis","origin":"x","operator_id":"operator","operator_key":")" +
                  f.op_key.public_key().ToBase64() + "\"}";
  auto r = f.AppendJson("operator", f.op_key, g);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("genesis is written only when a ledger is created"), std::string::npos);
}

TEST(Ledger, ReopenRestoresSizeRootFrontierAndKeys) {
  LedgerFixture f;
  f.Register("ops-2", schema::Role::OPERATOR);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(f.AppendJson("operator", f.op_key, KeyRegisteredJson("e" + std::to_string(i), "enterprise", NewKey().public_key())).ok());
  }
  Snapshot before = Snap(*f.ledger);
  f.Reopen();
  EXPECT_EQ(Snap(*f.ledger), before);
  ASSERT_NE(f.ledger->FindActor("ops-2"), std::nullopt);
  // Appending after reopen continues the same tree.
  auto r = f.AppendJson("ops-2", f.keys.at("ops-2"), KeyRegisteredJson("late", "bureau", NewKey().public_key()));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->first_index, before.size);
  auto report = VerifyLedgerDir(f.path(), {});
  EXPECT_TRUE(report.ok) << report.error;
}

TEST(Ledger, ProofsFromStoredNodesVerify) {
  LedgerFixture f;
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(f.AppendJson("operator", f.op_key, KeyRegisteredJson("e" + std::to_string(i), "enterprise", NewKey().public_key())).ok());
  }
  uint64_t n = f.ledger->Size();
  for (uint64_t size = 1; size <= n; ++size) {
    Hash root = *f.ledger->RootAt(size);
    for (uint64_t i = 0; i < size; ++i) {
      auto proof = f.ledger->InclusionProof(i, size);
      ASSERT_TRUE(proof.ok());
      ASSERT_TRUE(merkle::VerifyInclusion(*f.ledger->LeafHash(i), i, size, *proof, root).ok()) << i << "/" << size;
    }
    for (uint64_t m = 0; m <= size; ++m) {
      auto proof = f.ledger->ConsistencyProof(m, size);
      ASSERT_TRUE(proof.ok());
      ASSERT_TRUE(merkle::VerifyConsistency(m, size, *f.ledger->RootAt(m), root, *proof).ok()) << m << "->" << size;
    }
  }
  EXPECT_FALSE(f.ledger->InclusionProof(0, n + 1).ok());
  EXPECT_FALSE(f.ledger->RootAt(n + 1).ok());
}

// Proofs asked at every size while the log grows past two Merkle tiles of
// 256 leaves: the ledger keeps the nodes it read of each band's newest tile
// (the tree's right edge) and of the upper levels, so later proofs, at the
// new size or an old one, reuse nodes read before the log grew. Each proof
// must equal the reference implementation's over the stored leaf hashes.
TEST(Ledger, ProofsStayRightWhileTheLogGrowsPastTiles) {
  LedgerFixture f;
  std::vector<Hash> leaves;
  auto catch_up = [&] {
    for (uint64_t i = leaves.size(); i < f.ledger->Size(); ++i) leaves.push_back(*f.ledger->LeafHash(i));
  };
  catch_up();
  std::vector<uint64_t> sizes;
  int actor = 0;
  while (f.ledger->Size() < 600) {
    std::string jsonl;
    for (int k = 0; k < 37; ++k) {  // 37 events a submission: tile boundaries fall inside submissions
      jsonl += KeyRegisteredJson("e" + std::to_string(actor++), "enterprise", NewKey().public_key()) + "\n";
    }
    ASSERT_TRUE(f.AppendJson("operator", f.op_key, jsonl).ok());
    catch_up();
    const uint64_t n = leaves.size();
    sizes.push_back(n);
    ASSERT_EQ(*f.ledger->RootAt(n), reference::Mth(leaves, 0, n));
    for (uint64_t i : {uint64_t{0}, n / 2, n - 38, n - 2, n - 1}) {
      auto proof = f.ledger->InclusionProof(i, n);
      ASSERT_TRUE(proof.ok()) << proof.status().ToString();
      ASSERT_EQ(*proof, reference::Path(i, leaves, 0, n)) << i << "/" << n;
    }
    // Older sizes after growth (the right edges of the first ones now lie
    // inside full tiles).
    for (uint64_t m : {uint64_t{1}, sizes.front(), sizes[sizes.size() / 2], n - 1}) {
      auto proof = f.ledger->ConsistencyProof(m, n);
      ASSERT_TRUE(proof.ok()) << proof.status().ToString();
      ASSERT_EQ(*proof, reference::Proof(m, leaves, n)) << m << "->" << n;
      auto old = f.ledger->InclusionProof(m - 1, m);
      ASSERT_TRUE(old.ok());
      ASSERT_EQ(*old, reference::Path(m - 1, leaves, 0, m)) << m - 1 << "/" << m;
    }
  }
  EXPECT_GT(f.ledger->Size(), 2 * 256u);
}

TEST(Ledger, ConcurrentWritersAllLandOnce) {
  LedgerFixture f;
  constexpr int kThreads = 8, kEach = 40;
  for (int t = 0; t < kThreads; ++t) f.Register("ops-" + std::to_string(t), schema::Role::OPERATOR);
  uint64_t start = f.ledger->Size();
  std::vector<std::vector<AppendResult>> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string writer = "ops-" + std::to_string(t);
      for (int i = 0; i < kEach; ++i) {
        auto r = f.AppendJson(writer, f.keys.at(writer),
                              KeyRegisteredJson(writer + "-e" + std::to_string(i), "enterprise", NewKey().public_key()));
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        results[t].push_back(*r);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<uint64_t> seen;
  for (const auto& per : results) {
    for (const auto& r : per) EXPECT_TRUE(seen.insert(r.first_index).second);
  }
  EXPECT_EQ(seen.size(), size_t{kThreads * kEach});
  EXPECT_EQ(f.ledger->Size(), start + kThreads * kEach);
  EXPECT_EQ(*seen.begin(), start);
  EXPECT_EQ(*seen.rbegin(), start + kThreads * kEach - 1);
  auto report = VerifyLedgerDir(f.path(), {});
  EXPECT_TRUE(report.ok) << report.error;
}

TEST(Ledger, AppendManyReportsEachSubmissionOnItsOwn) {
  LedgerFixture f;
  std::vector<std::unique_ptr<SubmissionBuilder>> builders;
  std::vector<schema::Submission::Reader> subs;
  for (int i = 0; i < 5; ++i) {
    builders.push_back(std::make_unique<SubmissionBuilder>("operator"));
    std::istringstream in(KeyRegisteredJson("e" + std::to_string(i), "enterprise", NewKey().public_key()));
    ASSERT_TRUE(builders.back()->AddJsonLines(in).ok());
    // The third one is signed by a stranger.
    subs.push_back(builders.back()->Sign(i == 2 ? NewKey() : f.op_key));
  }
  auto results = f.ledger->AppendMany(subs);
  ASSERT_EQ(results.size(), 5u);
  EXPECT_FALSE(results[2].ok());
  uint64_t expect = 1;
  for (int i : {0, 1, 3, 4}) {
    ASSERT_TRUE(results[i].ok()) << results[i].status().ToString();
    EXPECT_EQ(results[i]->first_index, expect++);
  }
  EXPECT_EQ(f.ledger->Size(), 5u);
}

// AppendMany commits in chunks, two in flight at once (one staged while the
// other is written): positions still follow the order of the submissions; a
// chunk that registers a key is committed before the next chunk's
// signatures are checked, so a submission signed with that key a chunk
// later is accepted; a repeat of an earlier submission gets its positions,
// also when the two are in different chunks in flight together. Chunks are
// sized from the end, growing twofold: 572-699, 316-571, then 0-315 here.
TEST(Ledger, AppendManyKeepsOrderAcrossChunks) {
  LedgerFixture f;
  const PrivateKey& ent = f.Register("ent", schema::Role::ENTERPRISE);
  PrivateKey late = NewKey(), stranger = NewKey();
  constexpr int kSubs = 700;
  constexpr int kRepeat = 100, kRegister = 300, kStranger = 400, kLate = 520;
  constexpr int kRepeatTail = 690, kRepeated = 560;
  auto delivery = [](int i) {
    return R"({"type":"service_delivered","delivery_id":"d)" + std::to_string(i) +
           R"(","elder_id":"E1","enterprise_id":"ent","worker_id":"w1","service":"bathing","programme":"home_visit",)"
           R"("check_in":"2024-03-04T09:00:00+08:00","check_out":"2024-03-04T09:50:00+08:00","evidence":")" +
           std::string(64, 'a') + "\"}";
  };
  std::vector<std::unique_ptr<SubmissionBuilder>> builders;
  std::vector<schema::Submission::Reader> subs;
  for (int i = 0; i < kSubs; ++i) {
    std::string writer = i == kRegister ? "operator" : i == kLate ? "late" : "ent";
    builders.push_back(std::make_unique<SubmissionBuilder>(writer));
    std::istringstream in(i == kRegister ? KeyRegisteredJson("late", "enterprise", late.public_key())
                                         : delivery(i == kRepeat ? 50 : i == kRepeatTail ? kRepeated : i));
    ASSERT_TRUE(builders.back()->AddJsonLines(in).ok());
    const PrivateKey& key = i == kRegister ? f.op_key : i == kLate ? late : i == kStranger ? stranger : ent;
    subs.push_back(builders.back()->Sign(key, "s" + std::to_string(i == kRepeat ? 50 : i == kRepeatTail ? kRepeated : i)));
  }
  uint64_t start = f.ledger->Size();
  auto results = f.ledger->AppendMany(subs);
  ASSERT_EQ(results.size(), size_t{kSubs});
  EXPECT_FALSE(results[kStranger].ok());
  ASSERT_TRUE(results[kLate].ok()) << "signed with a key registered a chunk earlier: " << results[kLate].status().ToString();
  ASSERT_TRUE(results[kRepeat].ok()) << results[kRepeat].status().ToString();
  EXPECT_TRUE(results[kRepeat]->duplicate);
  EXPECT_EQ(results[kRepeat]->first_index, results[50]->first_index);
  ASSERT_TRUE(results[kRepeatTail].ok()) << results[kRepeatTail].status().ToString();
  EXPECT_TRUE(results[kRepeatTail]->duplicate);
  EXPECT_EQ(results[kRepeatTail]->first_index, results[kRepeated]->first_index);
  uint64_t expect = start;
  for (int i = 0; i < kSubs; ++i) {
    if (i == kStranger || i == kRepeat || i == kRepeatTail) continue;
    ASSERT_TRUE(results[i].ok()) << i << ": " << results[i].status().ToString();
    EXPECT_FALSE(results[i]->duplicate) << i;
    EXPECT_EQ(results[i]->first_index, expect++) << "submission " << i << " out of order";
  }
  EXPECT_EQ(f.ledger->Size(), expect);
  auto report = VerifyLedgerDir(f.path(), {});
  EXPECT_TRUE(report.ok) << report.error;
}

TEST(Ledger, ReadOnlyOpenRefusesWrites) {
  LedgerFixture f;
  LedgerOptions ro;
  ro.read_only = true;
  auto l = Ledger::Open(f.path(), ro);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ((*l)->Size(), 1u);
  EXPECT_EQ((*l)->MakeCheckpoint(f.op_key).status().code(), Status::Code::kFailedPrecondition);
}

TEST(Ledger, OnlyTheOperatorKeySignsCheckpoints) {
  LedgerFixture f;
  auto r = f.ledger->MakeCheckpoint(NewKey());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kPermissionDenied);
  ASSERT_TRUE(f.AppendJson("operator", f.op_key, KeyRegisteredJson("e", "enterprise", NewKey().public_key())).ok());
  ASSERT_TRUE(f.ledger->MakeCheckpoint(f.op_key).ok());
  EXPECT_EQ(f.ledger->Checkpoints()->size(), 2u);
}

// Writes, for each registered actor "x", the keys "a/x", "b/x" and "c/x".
class ThreeKeysPerActor : public Projector {
 public:
  Status Apply(const EventContext&, schema::EventBody::Reader body, StateStore& state) const override {
    if (!body.isKeyRegistered()) return Status::Ok();
    std::string actor(body.getKeyRegistered().getActorId().cStr());
    for (const char* family : {"a/", "b/", "c/"}) state.Put(family + actor, actor);
    return Status::Ok();
  }
  std::string_view version() const override { return "three-keys/1"; }
};

std::vector<std::string> ScanKeys(const StateReader& r, std::string_view prefix) {
  std::vector<std::string> out;
  r.Scan(prefix, [&](std::string_view k, std::string_view) {
    out.emplace_back(k);
    return true;
  });
  return out;
}

// A view reuses its iterators from scan to scan (each with a new bound):
// every scan still sees exactly its own prefix, nested scans each their own,
// and nothing written after the view was taken.
TEST(Ledger, ScansOfOneViewStayWithinTheirPrefixAndItsSnapshot) {
  ThreeKeysPerActor projector;
  LedgerOptions o;
  o.projector = &projector;
  LedgerFixture f(o);
  f.Register("p1", schema::Role::BUREAU);
  f.Register("p2", schema::Role::BUREAU);
  auto view = f.ledger->Projections();
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  f.Register("p3", schema::Role::BUREAU);  // after the view: it must not show

  using V = std::vector<std::string>;
  EXPECT_EQ(ScanKeys(*view->state, "b/"), (V{"b/p1", "b/p2"}));
  EXPECT_EQ(ScanKeys(*view->state, "c/"), (V{"c/p1", "c/p2"}));
  EXPECT_EQ(ScanKeys(*view->state, "a/"), (V{"a/p1", "a/p2"}));  // a lower bound than before
  EXPECT_EQ(ScanKeys(*view->state, "b/p2"), (V{"b/p2"}));
  EXPECT_EQ(ScanKeys(*view->state, "d/"), V{});
  // Stopping early hands the iterator back in a state the next scan resets.
  int seen = 0;
  view->state->Scan("a/", [&](std::string_view, std::string_view) { return ++seen < 1; });
  EXPECT_EQ(seen, 1);
  EXPECT_EQ(ScanKeys(*view->state, "c/"), (V{"c/p1", "c/p2"}));
  V pairs;
  view->state->Scan("a/", [&](std::string_view k, std::string_view) {
    for (const auto& inner : ScanKeys(*view->state, "c/")) pairs.push_back(std::string(k) + "+" + inner);
    return true;
  });
  EXPECT_EQ(pairs, (V{"a/p1+c/p1", "a/p1+c/p2", "a/p2+c/p1", "a/p2+c/p2"}));
  // A new view sees the later write.
  auto now = f.ledger->Projections();
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(ScanKeys(*now->state, "b/"), (V{"b/p1", "b/p2", "b/p3"}));
}

// The same fold under a new version: what a ledger folded with the old one
// holds is stale.
class ThreeKeysPerActorV2 : public ThreeKeysPerActor {
 public:
  std::string_view version() const override { return "three-keys/2"; }
};

// The operator's registration of `actor` as a bureau with `key`, unsigned.
std::unique_ptr<SubmissionBuilder> Registration(const std::string& actor, const PrivateKey& key) {
  auto b = std::make_unique<SubmissionBuilder>("operator");
  auto e = b->AddEvent().initKeyRegistered();
  e.setActorId(actor);
  e.setRole(schema::Role::BUREAU);
  e.setPublicKey(capnp::Data::Reader(key.public_key().raw().data(), 32));
  return b;
}

// A ledger holding one registration ("p1"), folded by ThreeKeysPerActor
// version 1 and closed: to a fold of version 2 its projections are stale.
class FoldedByAnotherVersion : public ::testing::Test {
 protected:
  void SetUp() override {
    LedgerOptions o;
    o.projector = &v1_;
    f_ = std::make_unique<LedgerFixture>(o);
    f_->Register("p1", schema::Role::BUREAU);
    EXPECT_EQ(f_->ledger->StaleProjections(), "");
    f_->ledger.reset();
  }
  Result<std::unique_ptr<Ledger>> OpenWithVersion2(LedgerOptions o) {
    o.projector = &v2_;
    return Ledger::Open(f_->path(), o);
  }
  ThreeKeysPerActor v1_;
  ThreeKeysPerActorV2 v2_;
  std::unique_ptr<LedgerFixture> f_;
};

// Opened without folding stale projections again (what `audit-cli rebuild`
// does, so as to fold the log once), a ledger says why they are stale, and
// refuses appends and views -- which would fold onto, or read, a state that
// is not the log's -- until they are rebuilt.
TEST_F(FoldedByAnotherVersion, StaleProjectionsAreNamedAndGuardedUntilRebuilt) {
  LedgerOptions stale;
  stale.rebuild_stale_projections = false;
  auto l = OpenWithVersion2(stale);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  Ledger& ledger = **l;
  EXPECT_EQ(ledger.StaleProjections(), "folded by 'three-keys/1', this build folds 'three-keys/2'");
  uint64_t size = ledger.Size();
  Hash root = *ledger.RootAt(size);
  auto b = Registration("p2", f_->keys.at("p1"));
  auto refused = ledger.Append(b->Sign(f_->op_key));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("projections are out of date (folded by 'three-keys/1'"), std::string::npos)
      << refused.status().ToString();
  std::vector<schema::Submission::Reader> many = {b->Sign(f_->op_key)};
  auto refused_many = ledger.AppendMany(many);
  ASSERT_EQ(refused_many.size(), 1u);
  EXPECT_EQ(refused_many[0].status().code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(ledger.Size(), size);
  EXPECT_EQ(*ledger.RootAt(size), root);
  auto view = ledger.Projections();
  ASSERT_FALSE(view.ok());
  EXPECT_NE(view.status().message().find("out of date"), std::string::npos) << view.status().ToString();

  ASSERT_TRUE(ledger.RebuildProjections().ok());
  EXPECT_EQ(ledger.StaleProjections(), "");
  auto now = ledger.Projections();
  ASSERT_TRUE(now.ok()) << now.status().ToString();
  EXPECT_EQ(ScanKeys(*now->state, "a/"), std::vector<std::string>{"a/p1"});
  auto appended = ledger.Append(b->Sign(f_->op_key));
  ASSERT_TRUE(appended.ok()) << appended.status().ToString();
  EXPECT_EQ(ledger.Size(), size + 1);
}

// Fails to fold actor "p2" while `fail` is set: a fold with a defect, met
// halfway through a rebuild.
class FailsOnP2 : public ThreeKeysPerActor {
 public:
  Status Apply(const EventContext& ctx, schema::EventBody::Reader body, StateStore& state) const override {
    if (fail && body.isKeyRegistered() && std::string(body.getKeyRegistered().getActorId().cStr()) == "p2") {
      return Status::InvalidArgument("cannot fold p2");
    }
    return ThreeKeysPerActor::Apply(ctx, body, state);
  }
  mutable bool fail = false;
};

// A rebuild that fails halfway leaves projections that are neither the old
// state nor the new one: nothing folds on top of them, nobody reads them,
// until a rebuild succeeds.
TEST(Ledger, AFailedRebuildLeavesProjectionsNobodyUsesUntilARebuildSucceeds) {
  FailsOnP2 projector;
  LedgerOptions o;
  o.projector = &projector;
  o.rebuild_chunk_keys = 2;  // p1's keys are written before p2 fails
  LedgerFixture f(o);
  const PrivateKey& p1 = f.Register("p1", schema::Role::BUREAU);
  f.Register("p2", schema::Role::BUREAU);
  f.Register("p3", schema::Role::BUREAU);
  ASSERT_TRUE(f.ledger->Projections().ok());
  projector.fail = true;
  Status failed = f.ledger->RebuildProjections();
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(f.ledger->StaleProjections().find("not wholly folded: a rebuild failed"), std::string::npos)
      << f.ledger->StaleProjections();
  EXPECT_NE(f.ledger->StaleProjections().find("cannot fold p2"), std::string::npos) << f.ledger->StaleProjections();
  uint64_t size = f.ledger->Size();
  auto b = Registration("p4", p1);
  auto refused = f.ledger->Append(b->Sign(f.op_key));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Status::Code::kFailedPrecondition) << refused.status().ToString();
  EXPECT_EQ(f.ledger->Size(), size);
  EXPECT_FALSE(f.ledger->Projections().ok());

  projector.fail = false;
  ASSERT_TRUE(f.ledger->RebuildProjections().ok());
  EXPECT_EQ(f.ledger->StaleProjections(), "");
  ASSERT_TRUE(f.ledger->Append(b->Sign(f.op_key)).ok());
  auto view = f.ledger->Projections();
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  EXPECT_EQ(ScanKeys(*view->state, "a/"), (std::vector<std::string>{"a/p1", "a/p2", "a/p3", "a/p4"}));
}

// What a long operation reports of its progress, by phase: every
// (done, total) in order.
struct ProgressLog {
  std::map<std::string, std::vector<std::pair<uint64_t, uint64_t>>> by_what;
  ProgressFn fn() {
    return [this](std::string_view what, uint64_t done, uint64_t total) {
      by_what[std::string(what)].emplace_back(done, total);
    };
  }
  // The phase was reported, never went backwards, and ended at `last`.
  void ExpectPhase(const std::string& what, uint64_t last, uint64_t total) const {
    auto it = by_what.find(what);
    ASSERT_NE(it, by_what.end()) << what << " was never reported";
    for (size_t i = 1; i < it->second.size(); ++i) EXPECT_LE(it->second[i - 1].first, it->second[i].first) << what;
    EXPECT_EQ(it->second.back(), std::make_pair(last, total)) << what;
  }
};

// Rebuilds, verification (with the recomputation of the derived stores)
// and exports say how far they have come, ending at the log's size.
TEST(Ledger, LongOperationsReportTheirProgress) {
  ThreeKeysPerActor projector;
  LedgerOptions o;
  o.projector = &projector;
  o.rebuild_chunk_keys = 2;
  ProgressLog rebuild;
  o.progress = rebuild.fn();
  LedgerFixture f(o);
  for (int i = 0; i < 5; ++i) f.Register("p" + std::to_string(i), schema::Role::BUREAU);
  uint64_t size = f.ledger->Size();
  ASSERT_TRUE(f.ledger->RebuildProjections().ok());
  rebuild.ExpectPhase("folding the projections", size, size);
  EXPECT_GE(rebuild.by_what["folding the projections"].size(), 3u) << "one report a chunk";

  ProgressLog exported;
  ASSERT_TRUE(WriteExport(*f.ledger, f.dir.Sub("export"), exported.fn()).ok());
  exported.ExpectPhase("exporting", size, size);
  f.ledger.reset();

  ProgressLog verified;
  VerifyOptions v;
  v.derived = true;
  v.projector = &projector;
  v.progress = verified.fn();
  auto report = VerifyLedgerDir(f.path(), v);
  ASSERT_TRUE(report.ok) << report.error;
  verified.ExpectPhase("verifying", size, size);
  verified.ExpectPhase("folding the projections", size, size);

  ProgressLog of_export;
  VerifyOptions x;
  x.progress = of_export.fn();
  auto checked = VerifyExportDir(f.dir.Sub("export"), x);
  ASSERT_TRUE(checked.ok) << checked.error;
  of_export.ExpectPhase("verifying", size, size);
}

// The derived-store check reads the log twice (the scratch ledger's replay
// of it, then its fold) and compares the result with the stored copies: all
// of it as of one snapshot, so that appends meanwhile neither slip into half
// of the check nor turn up as differences.
TEST(Ledger, TheDerivedStoreCheckSeesOneViewOfAGrowingLog) {
  ThreeKeysPerActor projector;
  LedgerOptions o;
  o.projector = &projector;
  o.rebuild_chunk_keys = 2;
  LedgerFixture* growing = nullptr;
  int appended = 0;
  o.progress = [&](std::string_view what, uint64_t, uint64_t) {
    // Called from the scratch ledger's fold: the checked ledger grows.
    if (growing != nullptr && what == "folding the projections" && appended < 3) {
      growing->Register("late-" + std::to_string(++appended), schema::Role::BUREAU);
    }
  };
  LedgerFixture f(o);
  for (int i = 0; i < 5; ++i) f.Register("p" + std::to_string(i), schema::Role::BUREAU);
  const uint64_t size = f.ledger->Size();
  growing = &f;
  Status checked = f.ledger->CheckDerivedStores(&projector);
  EXPECT_TRUE(checked.ok()) << checked.ToString();
  EXPECT_EQ(appended, 3);
  EXPECT_EQ(f.ledger->Size(), size + 3);
  // The grown ledger checks too (nothing is appended during this one).
  checked = f.ledger->CheckDerivedStores(&projector);
  EXPECT_TRUE(checked.ok()) << checked.ToString();
}

// A read-only open cannot fold them, and says what to run.
TEST_F(FoldedByAnotherVersion, AReadOnlyOpenOfStaleProjectionsSaysWhy) {
  LedgerOptions ro;
  ro.read_only = true;
  auto l = OpenWithVersion2(ro);
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.status().message().find("are out of date (folded by 'three-keys/1', this build folds 'three-keys/2'); "
                                      "run `audit-cli rebuild --ledger"),
            std::string::npos)
      << l.status().ToString();
  // A writable open folds them again (the default).
  auto w = OpenWithVersion2({});
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ((*w)->StaleProjections(), "");
  EXPECT_TRUE((*w)->Projections().ok());
}

TEST(Ledger, OpeningAMissingLedgerSaysSo) {
  testing::TempDir d;
  auto l = Ledger::Open(d.Sub("nothing"));
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace eldercare
