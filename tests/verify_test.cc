#include "ledger/verifier.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include <capnp/any.h>
#include <capnp/schema.h>

#include "ledger/bytes.h"
#include "ledger/client.h"
#include "ledger/entry.h"
#include "ledger/export.h"
#include "ledger/store_layout.h"
#include "ledger/submission.h"
#include "ledger/merkle.h"
#include "tests/raw_db.h"
#include "tests/reference_merkle.h"
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

// Verification checks leaves in order while the next batches of 4,096 are
// prepared on the workers; across many batches the answer and the first bad
// index are those of a sequential check, and a bad leaf in a batch prepared
// early does not hide an earlier one.
TEST(Verify, AnExportOfManyBatchesNamesItsFirstBadEntry) {
  LedgerFixture f;
  std::vector<std::pair<uint64_t, uint64_t>> submissions;
  for (int s = 0; s < 30; ++s) {
    std::string lines;
    for (int e = 0; e < 800; ++e) {
      lines += KeyRegisteredJson("m" + std::to_string(s) + "-" + std::to_string(e), "enterprise", NewKey().public_key()) + "\n";
    }
    auto r = f.AppendJson("operator", f.op_key, lines);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    submissions.push_back({r->first_index, r->count});
  }
  ASSERT_TRUE(f.ledger->MakeCheckpoint(f.op_key).ok());
  const uint64_t size = f.ledger->Size();
  ASSERT_GT(size, 5u * 4096);
  std::string out = f.dir.Sub("export");
  ASSERT_TRUE(WriteExport(*f.ledger, out).ok());
  for (unsigned t : {1u, 2u, 3u}) {
    VerifyOptions o;
    o.threads = t;
    auto r = VerifyExportDir(out, o);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.size, size);
    EXPECT_EQ(r.root, *f.ledger->RootAt(size));
    EXPECT_EQ(r.signatures_checked, submissions.size() + 1);
  }
  std::string bin = *ReadFile(out + "/entries.bin");
  std::vector<std::pair<size_t, size_t>> spans;
  for (size_t pos = 0; pos < bin.size();) {
    uint32_t words = static_cast<uint8_t>(bin[pos + 4]) | static_cast<uint8_t>(bin[pos + 5]) << 8;
    spans.push_back({pos + 8, words * 8u});
    pos += 8 + words * 8u;
  }
  ASSERT_EQ(spans.size(), size);
  auto start_of = [&](uint64_t i) {
    for (auto [first, count] : submissions) {
      if (i >= first && i < first + count) return first;
    }
    return uint64_t{0};
  };
  // One flip late in the log; then that flip and an earlier one two batches
  // before it: the earlier is named.
  const uint64_t late = size - 100, early = late - 2 * 4096 - 7;
  for (const std::vector<uint64_t>& flips : {std::vector<uint64_t>{late}, std::vector<uint64_t>{late, early}}) {
    std::string bad = bin;
    for (uint64_t i : flips) bad[spans[i].first + spans[i].second / 2] ^= 0x10;
    std::ofstream(out + "/entries.bin", std::ios::binary | std::ios::trunc) << bad;
    uint64_t want = flips.back();
    auto r = VerifyExportDir(out, {});
    ASSERT_FALSE(r.ok) << "flip at " << want;
    ASSERT_TRUE(r.first_bad_index.has_value()) << r.error;
    EXPECT_LE(*r.first_bad_index, want) << r.error;
    EXPECT_GE(*r.first_bad_index, start_of(want)) << r.error;
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
    std::string key = layout::MerkleTileKey({2, 1});
    std::string v = raw.Get(layout::kMerkleCf, key);
    v[layout::TilePosition({2, 1}) * kHashSize] ^= 1;
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

// The manifest is unsigned, but written last: an export without it is
// incomplete, and one whose manifest says otherwise than its verified
// entries and checkpoints is not what it claims to be. Each lie is named.
TEST(Verify, AnExportMustHaveAManifestThatDescribesIt) {
  Built b;
  std::string out = b.f->dir.Sub("export");
  ASSERT_TRUE(WriteExport(*b.f->ledger, out).ok());
  const std::string path = out + "/manifest.json";
  const std::string good = *ReadFile(path);
  auto intact = VerifyExportDir(out, {});
  ASSERT_TRUE(intact.ok) << intact.error;
  EXPECT_NE(std::find(intact.facts.begin(), intact.facts.end(),
                      "manifest.json agrees: origin, operator key, size, root, 3 checkpoints, entries.bin's length"),
            intact.facts.end());

  auto with = [&](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json m = nlohmann::json::parse(good);
    edit(m);
    std::ofstream(path, std::ios::trunc) << m.dump(2);
    auto r = VerifyExportDir(out, {});
    EXPECT_FALSE(r.ok);
    EXPECT_FALSE(r.first_bad_index.has_value()) << "no entry is bad: " << r.error;
    return r.error;
  };
  auto has = [](const std::string& error, const std::string& part) {
    return error.find(part) != std::string::npos ? ::testing::AssertionSuccess()
                                                   : ::testing::AssertionFailure() << error;
  };
  EXPECT_TRUE(has(with([&](auto& m) { m["size"] = b.size() - 1; }),
                  "manifest.json says size is " + std::to_string(b.size() - 1) + "; entries.bin holds " +
                      std::to_string(b.size()) + " entries"));
  EXPECT_TRUE(has(with([](auto& m) { m["root"] = std::string(64, '0'); }), "says root is \"000"));
  EXPECT_TRUE(has(with([](auto& m) { m["origin"] = "elsewhere"; }), "says origin is \"elsewhere\"; the genesis entry's is"));
  EXPECT_TRUE(has(with([](auto& m) { m["operator_key"] = NewKey().public_key().ToBase64(); }), "says operator_key is"));
  EXPECT_TRUE(has(with([](auto& m) { m.erase("verifier_key"); }), "says verifier_key is nothing"));
  EXPECT_TRUE(has(with([](auto& m) { m["checkpoint_sizes"].push_back(99999); }),
                  "lists 4 checkpoints; checkpoints/ holds 3; missing: the checkpoints at size 99999"));
  EXPECT_TRUE(has(with([](auto& m) { m["checkpoint_sizes"] = "all"; }), "checkpoint_sizes is not a list of sizes"));
  EXPECT_TRUE(has(with([](auto& m) { m["files"]["entries.bin"]["bytes"] = 8; }),
                  "says entries.bin's bytes is 8; it is"));

  // A checkpoint file lost on the way: every remaining one verifies, the manifest names the lost one.
  std::ofstream(path, std::ios::trunc) << good;
  const std::string latest = out + "/checkpoints/" + std::string(20 - std::to_string(b.size()).size(), '0') +
                             std::to_string(b.size()) + ".note";
  ASSERT_TRUE(fs::exists(latest));
  const std::string note = *ReadFile(latest);
  fs::remove(latest);
  auto lost = VerifyExportDir(out, {});
  EXPECT_FALSE(lost.ok);
  EXPECT_TRUE(has(lost.error, "missing: the checkpoints at size " + std::to_string(b.size())));
  std::ofstream(latest) << note;
  ASSERT_TRUE(VerifyExportDir(out, {}).ok);

  // Without a manifest, or with one that is not an export's, nothing is read.
  fs::remove(path);
  auto missing = VerifyExportDir(out, {});
  EXPECT_FALSE(missing.ok);
  EXPECT_EQ(missing.size, 0u);
  EXPECT_TRUE(has(missing.error, path + " is missing: an export writes it last, so this one is incomplete"));
  std::ofstream(path) << "{\"format\": \"something-else/2\"}";
  EXPECT_TRUE(has(VerifyExportDir(out, {}).error, "format is \"something-else/2\", expected \"" +
                                                      std::string(kExportFormat) + "\""));
  std::ofstream(path, std::ios::trunc) << "{not json";
  EXPECT_TRUE(has(VerifyExportDir(out, {}).error, path + " is not JSON"));
}

// entries.jsonl is what people read. Verify leaves it alone unless asked
// (and says so); asked, every line must be its verified entry, one a line.
TEST(Verify, ChecksTheExportsJsonLinesWhenAsked) {
  Built b;
  std::string out = b.f->dir.Sub("export");
  ASSERT_TRUE(WriteExport(*b.f->ledger, out).ok());
  const std::string path = out + "/entries.jsonl";
  const std::string good = *ReadFile(path);
  VerifyOptions jsonl;
  jsonl.export_jsonl = true;
  auto whole = VerifyExportDir(out, jsonl);
  ASSERT_TRUE(whole.ok) << whole.error;
  EXPECT_EQ(whole.facts.back(), "entries.jsonl agrees: every line is its verified entry");
  // One line per entry, each EntryJsonLine of its entry.
  std::vector<std::string> lines;
  std::istringstream in(good);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), b.size());
  EXPECT_EQ(lines[3], *EntryJsonLine(*b.f->ledger->EntryBytes(3)));

  auto with = [&](const std::string& text) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    return VerifyExportDir(out, jsonl);
  };
  std::string edited = good;
  size_t at = edited.find("\"actor_id\":\"e2-1\"");
  ASSERT_NE(at, std::string::npos);
  edited.replace(at + 13, 4, "e2-9");
  const size_t line = static_cast<size_t>(std::count(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(at), '\n')) + 1;
  auto r = with(edited);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "entries.jsonl line " + std::to_string(line) + " is not what entry " + std::to_string(line - 1) +
                         " of entries.bin says (a person reading it would be misled)");
  r = with(good.substr(0, good.size() - lines.back().size() - 1));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "entries.jsonl ends after " + std::to_string(b.size() - 1) +
                         " lines; the export holds more entries");
  r = with(good + lines.back() + "\n");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("more lines than the export has entries (line " + std::to_string(b.size() + 1) + " on)"),
            std::string::npos) << r.error;
  // Not asked: the entries verify, and the report says the lines were not read.
  std::ofstream(path, std::ios::binary | std::ios::trunc) << edited;
  auto unasked = VerifyExportDir(out, {});
  ASSERT_TRUE(unasked.ok) << unasked.error;
  EXPECT_EQ(unasked.facts.back(), "entries.jsonl not checked (--jsonl compares every line with its verified entry)");
}

// The reader hands out records where they lie in 1 MiB blocks: records that
// straddle a block, one larger than a block, every one word-aligned and
// still intact after the blocks that follow were read; a cut in a later
// block is named by its record.
TEST(ExportReader, RecordsAcrossBlocksStayIntactAndAligned) {
  std::mt19937_64 rng(7);
  std::vector<std::string> records;
  std::string stream;
  for (size_t words : {size_t{1}, size_t{4000}, size_t{131071}, kMaxEntryBytes / 8, size_t{3}, size_t{60000},
                       size_t{90001}, kMaxEntryBytes / 8, size_t{2}}) {
    std::string bytes(words * 8, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    char header[8] = {0, 0, 0, 0, static_cast<char>(words), static_cast<char>(words >> 8),
                      static_cast<char>(words >> 16), static_cast<char>(words >> 24)};
    stream.append(header, 8);
    stream += bytes;
    records.push_back(std::move(bytes));
  }
  auto reader = ExportReader::FromStream(std::make_unique<std::istringstream>(stream));
  std::vector<ExportRecord> got;
  for (;;) {
    ExportRecord r;
    auto more = reader->Next(&r);
    ASSERT_TRUE(more.ok()) << more.status().ToString();
    if (!*more) break;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(r.bytes.data()) % 8, 0u) << "record " << got.size();
    got.push_back(std::move(r));
  }
  ASSERT_EQ(got.size(), records.size());
  for (size_t i = 0; i < records.size(); ++i) EXPECT_TRUE(got[i].bytes == records[i]) << "record " << i;

  // Cut inside the seventh record (past the first blocks): named, with how much of it there was.
  const size_t seventh = 8 * 6 + (1 + 4000 + 131071 + kMaxEntryBytes / 8 + 3 + 60000) * 8;
  auto cut = ExportReader::FromStream(std::make_unique<std::istringstream>(stream.substr(0, seventh + 8 + 100)));
  std::string leaf;
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(*cut->Next(&leaf)) << i;
  EXPECT_EQ(leaf, records[5]);
  auto bad = cut->Next(&leaf);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("export record 6: truncated: 100 of 720008 bytes"), std::string::npos)
      << bad.status().message();
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

// capnp's canonical check passes an empty list written with another element
// size, which capnp::canonicalize would write differently. The signature
// covers canonicalize's bytes, so such an entry is named as not canonical
// (the verifier hashes stored bodies in place), not as a bad signature.
TEST(Verify, NamesAnEntryThatCanonicalizeWouldWriteOtherwise) {
  LedgerFixture f;
  const PrivateKey& bureau = f.Register("bureau-1", schema::Role::BUREAU);
  SubmissionBuilder sb("bureau-1");
  auto exited = sb.AddEvent().initEnterpriseExited();
  exited.setEnterpriseId("ent-c");
  exited.setEffectiveFrom(19800);
  exited.initEvidence(0);  // an empty list, present
  auto r = f.ledger->Append(sb.Sign(bureau));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  uint64_t quirky = r->first_index;
  f.Register("later", schema::Role::BUREAU);
  ASSERT_TRUE(f.ledger->MakeCheckpoint(f.op_key).ok());
  std::string out = f.dir.Sub("export");
  ASSERT_TRUE(WriteExport(*f.ledger, out).ok());
  ASSERT_TRUE(VerifyExportDir(out, {}).ok);

  // Where the evidence pointer lies in the entry's bytes.
  std::string leaf = *f.ledger->EntryBytes(quirky);
  auto parsed = ParseEntry(leaf);
  ASSERT_TRUE(parsed.ok());
  auto entry = parsed->Root<schema::Entry>();
  const auto* base = capnp::AnyStruct::Reader(entry).getDataSection().begin() - sizeof(capnp::word);
  capnp::AnyStruct::Reader ex(entry.getBody().getEnterpriseExited());
  const auto* pointers = ex.getDataSection().begin() + ex.getDataSection().size();
  uint32_t slot = capnp::Schema::from<schema::EnterpriseStatusChanged>().getFieldByName("evidence").getProto().getSlot().getOffset();
  size_t at = static_cast<size_t>(pointers - base) + slot * sizeof(capnp::word);
  auto byte = [&](size_t i) { return static_cast<uint8_t>(leaf[at + i]); };
  ASSERT_EQ(byte(0) & 3, 1) << "not a list pointer";
  ASSERT_EQ(byte(4) >> 3 | byte(5) | byte(6) | byte(7), 0) << "not an empty list";
  std::string odd = leaf;
  odd[at] = static_cast<char>(byte(0) + (5 << 2));  // the same empty list, its (unused) offset moved
  auto odd_entry = ParseEntry(odd);
  ASSERT_TRUE(odd_entry.ok()) << "capnp no longer calls this canonical; the test has lost its subject";
  ASSERT_NE(CanonicalBytes(odd_entry->Root<schema::Entry>()), odd) << "canonicalize writes it as stored";

  std::string bin = *ReadFile(out + "/entries.bin");
  size_t pos = bin.find(leaf);
  ASSERT_NE(pos, std::string::npos);
  bin.replace(pos, leaf.size(), odd);
  std::ofstream(out + "/entries.bin", std::ios::binary | std::ios::trunc) << bin;
  auto v = VerifyExportDir(out, {});
  ASSERT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_index, quirky) << v.error;
  EXPECT_NE(v.error.find("not in canonical form"), std::string::npos) << v.error;
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

// Leaves handed over off 8-byte words (a caller's own buffer) are read the
// same as aligned ones: the views the in-order checks take of them must stay
// valid, and a changed byte must still be found where it is.
TEST(Verify, LeavesOffTheirWordsVerifyTheSame) {
  Built b;
  std::vector<std::string> leaves;
  ASSERT_TRUE(b.f->ledger->ScanEntries(0, UINT64_MAX, [&](uint64_t, std::string_view leaf) {
    leaves.emplace_back(leaf);
    return true;
  }).ok());
  std::mt19937 rng(11);
  auto run = [&](std::optional<size_t> flip_in) {
    // Every leaf one byte past a word boundary, in one buffer kept alive by all.
    size_t total = 0;
    for (const auto& l : leaves) total += 8 + l.size();
    auto buffer = std::shared_ptr<char[]>(new char[total + 8]);
    std::vector<std::string_view> views;
    size_t at = 1;
    for (size_t i = 0; i < leaves.size(); ++i) {
      std::memcpy(buffer.get() + at, leaves[i].data(), leaves[i].size());
      if (flip_in == i) buffer[at + rng() % leaves[i].size()] ^= static_cast<char>(1u << (rng() % 8));
      views.emplace_back(buffer.get() + at, leaves[i].size());
      EXPECT_NE(reinterpret_cast<uintptr_t>(views.back().data()) % 8, 0u);
      at += leaves[i].size() + 8;
    }
    LogVerifier v(*b.f->ledger->Checkpoints(), nullptr, {});
    for (auto view : views) {
      if (!v.Add(buffer, view)) break;
    }
    return v.Finish();
  };
  auto r = run(std::nullopt);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.size, b.size());
  EXPECT_EQ(r.root, *b.f->ledger->RootAt(b.size()));
  EXPECT_EQ(r.signatures_checked, b.submissions.size());
  for (size_t i = 0; i < leaves.size(); ++i) {
    auto flipped = run(i);
    ASSERT_FALSE(flipped.ok) << "flip in entry " << i << " went unnoticed";
    ASSERT_TRUE(flipped.first_bad_index.has_value());
    EXPECT_LE(*flipped.first_bad_index, i) << flipped.error;
    EXPECT_GE(*flipped.first_bad_index, b.SubmissionStart(i)) << flipped.error;
  }
}

// A ledger past 256 leaves, so that Merkle nodes fill two bands of levels.
struct TwoBands {
  LedgerFixture f;
  std::vector<Hash> leaves;
  TwoBands() {
    for (int s = 0; s < 3; ++s) {
      std::string lines;
      for (int e = 0; e < 150; ++e) {
        lines += KeyRegisteredJson("a" + std::to_string(s) + "-" + std::to_string(e), "enterprise", NewKey().public_key()) + "\n";
      }
      EXPECT_TRUE(f.AppendJson("operator", f.op_key, lines).ok());
    }
    EXPECT_TRUE(f.ledger->MakeCheckpoint(f.op_key).ok());
    EXPECT_TRUE(f.ledger->ScanEntries(0, UINT64_MAX, [&](uint64_t, std::string_view leaf) {
      leaves.push_back(merkle::HashLeaf(AsBytes(leaf)));
      return true;
    }).ok());
  }
  // Every root, inclusion and consistency proof the store gives equals the
  // reference implementation's, for a spread of sizes and indexes.
  void ExpectProofsMatchReference() {
    Ledger& l = *f.ledger;
    for (uint64_t n : {1ull, 255ull, 256ull, 257ull, 300ull, 384ull, 451ull}) {
      if (n > leaves.size()) continue;
      std::vector<Hash> d(leaves.begin(), leaves.begin() + static_cast<long>(n));
      EXPECT_EQ(*l.RootAt(n), reference::Mth(d, 0, n)) << n;
      for (uint64_t i = 0; i < n; i += 37) {
        EXPECT_EQ(*l.InclusionProof(i, n), reference::Path(i, d, 0, n)) << "inclusion " << i << "/" << n;
        EXPECT_EQ(*l.ConsistencyProof(i + 1, n), reference::Proof(i + 1, d, n)) << "consistency " << i + 1 << "/" << n;
      }
    }
  }
};

TEST(Verify, MerkleNodesPastLevel8AreStoredInTheirBandAndProve) {
  TwoBands t;
  ASSERT_GT(t.leaves.size(), 256u);
  std::map<std::string, size_t> hashes_by_tile;
  {
    Ledger& l = *t.f.ledger;
    for (auto c = l.NewCursor(Family::kMerkle); c->Valid(); c->Next()) {
      auto tile = layout::ParseTileKey(c->key());
      ASSERT_TRUE(tile.has_value());
      EXPECT_EQ(c->value().size(), layout::TileNodesAt(*tile, t.leaves.size()) * kHashSize);
      hashes_by_tile[std::string(c->key())] = c->value().size() / kHashSize;
    }
  }
  // Band 0: one complete tile (leaves 0..255) and one with the rest; band 1:
  // only the level-8 node over leaves 0..255 (level 9 needs 512 leaves).
  ASSERT_EQ(hashes_by_tile.size(), 3u);
  const std::string band0_first = layout::TileKey({0, 0}), band0_second = layout::TileKey({0, 1});
  const std::string band1_first = layout::TileKey({1, 0});
  EXPECT_EQ(hashes_by_tile[band0_first], layout::kTileNodes);
  EXPECT_EQ(hashes_by_tile[band0_second], layout::TileNodesAfter(t.leaves.size() - 256));
  EXPECT_EQ(hashes_by_tile[band1_first], 1u);
  t.ExpectProofsMatchReference();
  auto r = VerifyLedgerDir(t.f.path(), {});
  EXPECT_TRUE(r.ok) << r.error;
}

// Every node of a growing tree, in the order appends complete it, lands at
// the end of its tile: TileOf/TilePosition agree with that order, TileNode
// inverts them, and TileNodesAt counts what a tree of each size holds. 70,000
// leaves reach band 2 and a second band-1 tile.
TEST(MerkleTiles, PositionsFollowCompletionOrder) {
  std::map<std::pair<uint32_t, uint64_t>, uint64_t> held;  // tile -> hashes so far
  merkle::CompactRange tree;
  Hash leaf{};
  uint64_t checked = 0;
  for (uint64_t i = 0; i < 70000; ++i) {
    leaf[0] = static_cast<uint8_t>(i);
    tree.Append(leaf, [&](merkle::NodeId id, const Hash&) {
      layout::TileId t = layout::TileOf(id);
      uint64_t& n = held[{t.band, t.index}];
      ASSERT_EQ(layout::TilePosition(id), n) << "level " << id.level << " index " << id.index;
      ASSERT_EQ(layout::TileNode(t, n), id) << "level " << id.level << " index " << id.index;
      ++n;
      ++checked;
    });
    if (i % 997 == 0 || i + 1 == 70000) {
      for (const auto& [t, n] : held) {
        ASSERT_EQ(layout::TileNodesAt(layout::TileId{t.first, t.second}, i + 1), n) << "size " << i + 1;
      }
    }
  }
  EXPECT_EQ(held[std::make_pair(0u, uint64_t{0})], layout::kTileNodes);
  EXPECT_EQ(held[std::make_pair(1u, uint64_t{1})], layout::TileNodesAfter(70000 / 256 - 256));
  EXPECT_EQ(held[std::make_pair(2u, uint64_t{0})], 1u);  // level 16: the node over the first 65,536 leaves
  // A tree of n leaves has sum over l of floor(n / 2^l) = 2n - popcount(n)
  // complete subtrees; every one was placed.
  EXPECT_EQ(checked, 2 * 70000u - static_cast<uint64_t>(std::popcount(70000u)));
}

// Rewrites the Merkle store in format 2 (one key per node): the first
// `in_tiles` nodes, in (band, completion) order, stay in tiles -- as after
// a crash in the middle of the upgrade to format 3 -- the rest get a key each.
void DowngradeToFormat2(const std::string& dir, const std::vector<Hash>& leaves, size_t in_tiles) {
  std::vector<std::pair<merkle::NodeId, Hash>> nodes;
  merkle::CompactRange tree;
  for (const Hash& h : leaves) tree.Append(h, [&](merkle::NodeId id, const Hash& x) { nodes.emplace_back(id, x); });
  std::stable_sort(nodes.begin(), nodes.end(), [](const auto& a, const auto& b) {
    return layout::MerkleBand(a.first.level) < layout::MerkleBand(b.first.level);
  });
  RawDb raw(dir);
  for (auto& [key, value] : raw.All(layout::kMerkleCf)) raw.Delete(layout::kMerkleCf, key);
  std::map<std::string, std::string> tiles;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const auto& [id, h] = nodes[i];
    std::string hash(reinterpret_cast<const char*>(h.data()), h.size());
    if (i < in_tiles) {
      tiles[layout::MerkleTileKey(id)] += hash;
    } else {
      raw.Put(layout::kMerkleCf, layout::MerkleKeyFormat2(id), hash);
    }
  }
  for (const auto& [key, value] : tiles) raw.Put(layout::kMerkleCf, key, value);
  raw.Put("default", layout::kMetaFormat, std::string(layout::kFormatVersion2));
}

// Format 1 keyed nodes BE64(last leaf) || level. Rewrites a format-2 store
// that way (all keys, or only some, as after a crash during an upgrade).
void DowngradeToFormat1(const std::string& dir, bool only_some) {
  RawDb raw(dir);
  size_t n = 0;
  for (auto& [key, value] : raw.All(layout::kMerkleCf)) {
    ASSERT_EQ(key.size(), 10u);
    if (only_some && n++ % 2 == 0) continue;
    raw.Put(layout::kMerkleCf, key.substr(1), value);
    raw.Delete(layout::kMerkleCf, key);
  }
  raw.Put("default", layout::kMetaFormat, std::string(layout::kFormatVersion1));
}

// Opened for writing, an older ledger becomes format 3 with the same root
// and proofs, takes appends, and verifies; a read-only open asks for that.
void ExpectUpgraded(TwoBands& t, const Hash& root, const std::string& what) {
  SCOPED_TRACE(what);
  LedgerOptions ro;
  ro.read_only = true;
  auto reading = Ledger::Open(t.f.path(), ro);
  ASSERT_FALSE(reading.ok());
  EXPECT_NE(reading.status().message().find("one-time upgrade"), std::string::npos) << reading.status().ToString();
  t.f.Reopen();
  EXPECT_EQ(*t.f.ledger->RootAt(t.leaves.size()), root);
  t.ExpectProofsMatchReference();
  for (auto c = t.f.ledger->NewCursor(Family::kMerkle); c->Valid(); c->Next()) {
    auto tile = layout::ParseTileKey(c->key());
    ASSERT_TRUE(tile.has_value());
    EXPECT_EQ(c->value().size(), layout::TileNodesAt(*tile, t.leaves.size()) * kHashSize);
  }
  {
    auto format = t.f.ledger->NewCursor(Family::kMeta, layout::kMetaFormat);
    ASSERT_TRUE(format->Valid());
    EXPECT_EQ(format->value(), layout::kFormatVersion);
  }
  // Appends carry on, and the whole ledger verifies.
  EXPECT_TRUE(t.f.AppendJson("operator", t.f.op_key, KeyRegisteredJson("late", "enterprise", NewKey().public_key())).ok());
  t.f.ledger.reset();
  auto r = VerifyLedgerDir(t.f.path(), {});
  EXPECT_TRUE(r.ok) << r.error;
}

TEST(Verify, AFormat2LedgerIsUpgradedWhenOpenedForWriting) {
  for (size_t in_tiles : {size_t{0}, size_t{300}, size_t{600}}) {
    TwoBands t;
    Hash root = *t.f.ledger->RootAt(t.leaves.size());
    t.f.ledger.reset();
    DowngradeToFormat2(t.f.path(), t.leaves, in_tiles);
    ExpectUpgraded(t, root, in_tiles == 0 ? "format 2" : "format 2, " + std::to_string(in_tiles) + " nodes already in tiles");
  }
}

// Verifying changes nothing: a format-2 ledger is verified as it is, its
// nodes one key each, and a wrong node is still named; format 1 is refused
// with the way out.
TEST(Verify, AFormat2LedgerIsVerifiedAsItIs) {
  TwoBands t;
  t.f.ledger.reset();
  DowngradeToFormat2(t.f.path(), t.leaves, 0);
  auto r = VerifyLedgerDir(t.f.path(), {});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.merkle_nodes_checked, 2 * t.leaves.size() - static_cast<uint64_t>(std::popcount(t.leaves.size())));
  EXPECT_TRUE(std::any_of(r.facts.begin(), r.facts.end(),
                          [](const std::string& f) { return f.find("eldercare-ledger/2") != std::string::npos; }));
  {
    RawDb raw(t.f.path());
    EXPECT_EQ(raw.Get("default", layout::kMetaFormat), layout::kFormatVersion2);  // not upgraded
    std::string key = layout::MerkleKeyFormat2({3, 5});
    std::string v = raw.Get(layout::kMerkleCf, key);
    v[7] ^= 4;
    raw.Put(layout::kMerkleCf, key, v);
  }
  r = VerifyLedgerDir(t.f.path(), {});
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.error.find("stored Merkle node (level 3, index 5) differs"), std::string::npos) << r.error;
  EXPECT_EQ(r.first_bad_index, 47u);  // the node over leaves 40..47 completes at leaf 47

  DowngradeToFormat1(t.f.path(), false);
  r = VerifyLedgerDir(t.f.path(), {});
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.error.find("'eldercare-ledger/1' is not one this verifier reads"), std::string::npos) << r.error;
}

TEST(Verify, AFormat1LedgerIsUpgradedWhenOpenedForWriting) {
  for (bool only_some : {false, true}) {
    TwoBands t;
    Hash root = *t.f.ledger->RootAt(t.leaves.size());
    t.f.ledger.reset();
    DowngradeToFormat2(t.f.path(), t.leaves, 0);
    DowngradeToFormat1(t.f.path(), only_some);
    ExpectUpgraded(t, root, only_some ? "format 1, partly upgraded to 2" : "format 1");
  }
}

}  // namespace
}  // namespace eldercare
