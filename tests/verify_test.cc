#include "ledger/verifier.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "ledger/bytes.h"
#include "ledger/entry.h"
#include "ledger/export.h"
#include "ledger/store_layout.h"
#include "tests/raw_db.h"
#include "tests/test_util.h"

namespace eldercare {
namespace {

namespace fs = std::filesystem;
using testing::KeyRegisteredJson;
using testing::LedgerFixture;
using testing::NewKey;
using testing::RawDb;

// A small ledger: operators registered, then multi-event submissions, so
// that entries sit inside submissions of 1 to 4 events; two checkpoints.
struct Built {
  std::unique_ptr<LedgerFixture> f = std::make_unique<LedgerFixture>();
  std::vector<std::pair<uint64_t, uint64_t>> submissions;  // first, count
  std::string old_checkpoint;

  Built() {
    auto reg = f->AppendJson("operator", f->op_key, KeyRegisteredJson("ops-2", "operator", NewKey().public_key()));
    f->keys.emplace("unused", NewKey());
    submissions.push_back({0, 1});
    submissions.push_back({reg->first_index, reg->count});
    for (int s = 0; s < 8; ++s) {
      std::string lines;
      for (int e = 0; e <= s % 4; ++e) {
        lines += KeyRegisteredJson("e" + std::to_string(s) + "-" + std::to_string(e), "enterprise", NewKey().public_key()) + "\n";
      }
      auto r = f->AppendJson("operator", f->op_key, lines);
      EXPECT_TRUE(r.ok());
      submissions.push_back({r->first_index, r->count});
      if (s == 3) old_checkpoint = *f->ledger->MakeCheckpoint(f->op_key);
    }
    EXPECT_TRUE(f->ledger->MakeCheckpoint(f->op_key).ok());
  }
  uint64_t size() const { return f->ledger->Size(); }
  uint64_t SubmissionStart(uint64_t index) const {
    for (auto [first, count] : submissions) {
      if (index >= first && index < first + count) return first;
    }
    return UINT64_MAX;
  }
  // Copies the ledger directory (closed) so that each tamper starts clean.
  std::string Copy(const std::string& name) {
    f->ledger.reset();
    std::string to = f->dir.Sub(name);
    fs::copy(f->path(), to, fs::copy_options::recursive);
    f->Reopen();
    return to;
  }
};

TEST(Verify, AcceptsAnUntouchedLedgerAndItsExport) {
  Built b;
  auto r = VerifyLedgerDir(b.f->path(), {});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.size, b.size());
  EXPECT_EQ(r.root, *b.f->ledger->RootAt(b.size()));
  EXPECT_EQ(r.submissions, b.submissions.size());
  EXPECT_EQ(r.signatures_checked, b.submissions.size());
  EXPECT_EQ(r.checkpoints_checked, 3u);
  EXPECT_GT(r.merkle_nodes_checked, b.size());

  std::string out = b.f->dir.Sub("export");
  auto sum = WriteExport(*b.f->ledger, out);
  ASSERT_TRUE(sum.ok()) << sum.status().ToString();
  EXPECT_EQ(sum->checkpoints, 3u);
  auto e = VerifyExportDir(out, {});
  ASSERT_TRUE(e.ok) << e.error;
  EXPECT_EQ(e.root, r.root);
  EXPECT_TRUE(fs::exists(fs::path(out) / "entries.jsonl"));
  EXPECT_TRUE(fs::exists(fs::path(out) / "manifest.json"));
}

TEST(Verify, CatchesAFlippedByteInEveryStoredEntry) {
  Built b;
  std::mt19937 rng(42);
  for (uint64_t i = 0; i < b.size(); ++i) {
    std::string copy = b.Copy("flip-" + std::to_string(i));
    std::string key = layout::EntryKey(i);
    {
      RawDb raw(copy);
      std::string v = raw.Get(layout::kEntriesCf, key);
      v[rng() % v.size()] ^= static_cast<char>(1u << (rng() % 8));
      raw.Put(layout::kEntriesCf, key, v);
    }
    auto r = VerifyLedgerDir(copy, {});
    ASSERT_FALSE(r.ok) << "flip in entry " << i << " went unnoticed";
    ASSERT_TRUE(r.first_bad_index.has_value());
    // The first bad index is the entry itself, or the start of the submission
    // whose signature its change broke.
    EXPECT_LE(*r.first_bad_index, i) << r.error;
    EXPECT_GE(*r.first_bad_index, b.SubmissionStart(i)) << r.error;
    fs::remove_all(copy);
  }
}

TEST(Verify, CatchesAFlippedByteInEveryExportedEntry) {
  Built b;
  std::string out = b.f->dir.Sub("export");
  ASSERT_TRUE(WriteExport(*b.f->ledger, out).ok());
  std::string bin = *ReadFile(out + "/entries.bin");
  // Walk the records to know where each entry's bytes are.
  std::vector<std::pair<size_t, size_t>> spans;
  for (size_t pos = 0; pos < bin.size();) {
    uint32_t words = static_cast<uint8_t>(bin[pos + 4]) | static_cast<uint8_t>(bin[pos + 5]) << 8;
    spans.push_back({pos + 8, words * 8u});
    pos += 8 + words * 8u;
  }
  ASSERT_EQ(spans.size(), b.size());
  std::mt19937 rng(7);
  for (uint64_t i = 0; i < spans.size(); ++i) {
    std::string bad = bin;
    bad[spans[i].first + rng() % spans[i].second] ^= 0x10;
    std::ofstream(out + "/entries.bin", std::ios::binary | std::ios::trunc) << bad;
    auto r = VerifyExportDir(out, {});
    ASSERT_FALSE(r.ok) << "export flip in entry " << i;
    EXPECT_LE(*r.first_bad_index, i) << r.error;
    EXPECT_GE(*r.first_bad_index, b.SubmissionStart(i)) << r.error;
  }
}

TEST(Verify, NamesADeletedEntry) {
  Built b;
  std::string copy = b.Copy("deleted");
  { RawDb(copy).Delete(layout::kEntriesCf, layout::EntryKey(5)); }
  auto r = VerifyLedgerDir(copy, {});
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 5u) << r.error;
}

TEST(Verify, CatchesAnAlteredMerkleNode) {
  Built b;
  std::string copy = b.Copy("node");
  {
    RawDb raw(copy);
    std::string key = layout::MerkleKey({2, 1});
    std::string v = raw.Get(layout::kMerkleCf, key);
    v[0] ^= 1;
    raw.Put(layout::kMerkleCf, key, v);
  }
  auto r = VerifyLedgerDir(copy, {});
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.error.find("stored Merkle node (level 2, index 1)"), std::string::npos) << r.error;
  EXPECT_EQ(r.first_bad_index, 7u);  // the node covering leaves 4..7 completes at leaf 7
}

TEST(Verify, CatchesATamperedCheckpointSignature) {
  Built b;
  std::string copy = b.Copy("cp");
  {
    RawDb raw(copy);
    auto all = raw.All(layout::kCheckpointsCf);
    std::string note = all.back().second;
    note[note.size() - 10] = note[note.size() - 10] == 'A' ? 'B' : 'A';
    raw.Put(layout::kCheckpointsCf, all.back().first, note);
  }
  auto r = VerifyLedgerDir(copy, {});
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.error.find("stored checkpoint"), std::string::npos) << r.error;
}

TEST(Verify, CatchesATruncatedTailAgainstItsCheckpoints) {
  Built b;
  std::string copy = b.Copy("truncated");
  uint64_t n = b.size();
  uint64_t last_start = b.submissions.back().first;
  {
    RawDb raw(copy);
    for (uint64_t i = last_start; i < n; ++i) raw.Delete(layout::kEntriesCf, layout::EntryKey(i));
    raw.Put("default", layout::kMetaSize, BigEndianKey(last_start));
  }
  auto r = VerifyLedgerDir(copy, {});
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, last_start) << r.error;
}

TEST(Verify, ProvesTheLogExtendsAnOlderCheckpointKeptElsewhere) {
  Built b;
  VerifyOptions o;
  o.external_checkpoints = {b.old_checkpoint};
  auto r = VerifyLedgerDir(b.f->path(), o);
  ASSERT_TRUE(r.ok) << r.error;
  bool said = false;
  for (const auto& fact : r.facts) said |= fact.find("extends your checkpoint") != std::string::npos;
  EXPECT_TRUE(said);

  // A rewritten history under the same operator key: same first entries
  // cannot be reproduced (times and keys differ), so the old checkpoint
  // catches it even though every signature in the new log is valid.
  LedgerFixture other;
  testing::TempDir d;
  std::string rewritten = d.Sub("rewritten");
  auto l = Ledger::Create(rewritten, {"test.example/ledger", "operator", ""}, b.f->op_key);
  ASSERT_TRUE(l.ok());
  for (int i = 0; i < 30; ++i) {
    SubmissionBuilder sb("operator");
    std::istringstream in(KeyRegisteredJson("x" + std::to_string(i), "bureau", NewKey().public_key()));
    ASSERT_TRUE(sb.AddJsonLines(in).ok());
    ASSERT_TRUE((*l)->Append(sb.Sign(b.f->op_key)).ok());
  }
  l->reset();
  auto bad = VerifyLedgerDir(rewritten, o);
  ASSERT_FALSE(bad.ok);
  EXPECT_NE(bad.error.find("your checkpoint"), std::string::npos) << bad.error;
}

TEST(Verify, ReportsATruncatedExportByRecord) {
  Built b;
  std::string out = b.f->dir.Sub("export");
  ASSERT_TRUE(WriteExport(*b.f->ledger, out).ok());
  std::string bin = *ReadFile(out + "/entries.bin");
  for (size_t cut : {bin.size() - 1, bin.size() - 9, size_t{4}, size_t{12}}) {
    std::ofstream(out + "/entries.bin", std::ios::binary | std::ios::trunc) << bin.substr(0, cut);
    auto r = VerifyExportDir(out, {});
    ASSERT_FALSE(r.ok) << "cut at " << cut;
    EXPECT_NE(r.error.find("truncated"), std::string::npos) << r.error;
  }
}

TEST(Verify, RejectsANonCanonicalExportEntry) {
  Built b;
  std::string out = b.f->dir.Sub("export");
  ASSERT_TRUE(WriteExport(*b.f->ledger, out).ok());
  std::string bin = *ReadFile(out + "/entries.bin");
  // Entry 0 padded with a zero word: the same message, no longer canonical.
  uint32_t words = static_cast<uint8_t>(bin[4]) | static_cast<uint8_t>(bin[5]) << 8;
  std::string rec0 = bin.substr(8, words * 8u) + std::string(8, '\0');
  std::string header(8, '\0');
  header[4] = static_cast<char>((words + 1) & 0xff);
  header[5] = static_cast<char>((words + 1) >> 8);
  std::ofstream(out + "/entries.bin", std::ios::binary | std::ios::trunc) << header << rec0 << bin.substr(8 + words * 8u);
  auto r = VerifyExportDir(out, {});
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 0u);
  EXPECT_NE(r.error.find("canonical"), std::string::npos) << r.error;
}

TEST(Verify, UsesSeveralThreadsWithTheSameAnswer) {
  Built b;
  for (unsigned t : {1u, 2u, 4u}) {
    VerifyOptions o;
    o.threads = t;
    auto r = VerifyLedgerDir(b.f->path(), o);
    EXPECT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.signatures_checked, b.submissions.size());
  }
}

}  // namespace
}  // namespace eldercare
