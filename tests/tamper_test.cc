// The tamper campaign: on copies of one ledger, random corruptions made
// through RocksDB itself, each followed by a verification.
//
// The log (entries, Merkle nodes, checkpoints, the metadata a writer
// trusts): flip a byte of an entry, delete an entry, swap two entries,
// truncate the tail (with the size metadata made to agree), replace a
// signature, alter or delete a Merkle node, alter a stored checkpoint, sign
// a checkpoint over a false root with the operator's own key, alter the size
// or origin metadata. Every one is detected, and the first bad index named.
// Rolling the whole ledger back to an older copy, or rewriting its history
// with the operator's key, leaves a ledger that is valid in itself: both are
// caught by the consistency check against a checkpoint kept outside.
//
// The derived stores (submission index, actors, projections, metadata and,
// again, Merkle nodes): detected by `verify --derived`, and repaired by
// RepairLedger (`audit-cli repair`), after which the ledger verifies and its
// projection digest is what it was.
//
// ELDERCARE_TAMPER_ROUNDS sets the number of log corruptions (default 1000).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "ledger/entry.h"
#include "ledger/note.h"
#include "ledger/store_layout.h"
#include "ledger/verifier.h"
#include "projections/digest.h"
#include "tests/programme_util.h"
#include "tests/raw_db.h"

namespace eldercare {
namespace {

namespace fs = std::filesystem;
using testing::ProgrammeFixture;
using testing::RawDb;

int Rounds() {
  const char* v = std::getenv("ELDERCARE_TAMPER_ROUNDS");
  return v ? std::max(1, std::atoi(v)) : 1000;
}

// The ledger every copy starts from: the programme's world, days of
// deliveries in multi-event submissions, checkpoints along the way and at
// the end; an older copy of the whole directory; checkpoints kept outside.
class Campaign : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    f_ = new ProgrammeFixture();
    ProgrammeFixture& f = *f_;
    f.EnterpriseAndContract("ent-a", "com-1");
    for (const char* e : {"E1", "E2", "E3"}) f.ServedElder(e);
    auto day = [&](int d) {
      std::string lines;
      for (int v = 0; v < 1 + d % 5; ++v) {
        char in[40], out[40];
        std::snprintf(in, sizeof in, "2024-03-%02dT%02d:00:00+08:00", d, 8 + v);
        std::snprintf(out, sizeof out, "2024-03-%02dT%02d:50:00+08:00", d, 8 + v);
        lines += ProgrammeFixture::Delivery("d" + std::to_string(d) + "-" + std::to_string(v), v % 2 ? "E1" : "E3",
                                            "w" + std::to_string(v), "bathing", in, out, d * 10 + v) + "\n";
      }
      f.Expect("ent-a", lines);
    };
    for (int d = 1; d <= 12; ++d) day(d);
    old_checkpoint_ = *f.ledger().MakeCheckpoint(f.base().op_key);
    // The older copy (for the roll-back): the ledger as it stood here.
    f.base().ledger.reset();
    older_ = f.base().dir.Sub("older");
    fs::copy(f.base().path(), older_, fs::copy_options::recursive);
    f.base().Reopen();
    for (int d = 13; d <= 28; ++d) {
      day(d);
      if (d == 20) {
        ASSERT_TRUE(f.ledger().MakeCheckpoint(f.base().op_key).ok());
      }
    }
    latest_checkpoint_ = *f.ledger().MakeCheckpoint(f.base().op_key);
    ASSERT_TRUE(f.ledger().Flush().ok());
    size_ = f.ledger().Size();
    origin_ = f.ledger().origin();
    {
      auto v = f.Snap();
      digest_ = HexEncode(proj::ComputeDigest(*v.snap).digest);
    }
    ASSERT_TRUE(f.ledger()
                    .ScanEntries(0, UINT64_MAX,
                                 [&](uint64_t i, std::string_view leaf) {
                                   auto parsed = ParseEntry(std::string(leaf));
                                   auto e = parsed->Root<schema::Entry>();
                                   start_[i] = i - e.getPosition();
                                   return true;
                                 })
                    .ok());
    f.base().ledger.reset();
  }
  static void TearDownTestSuite() {
    delete f_;
    f_ = nullptr;
  }

  static std::string Base() { return f_->base().path(); }
  // A fresh copy of the ledger directory.
  std::string Copy() {
    std::string to = f_->base().dir.Sub("copy");
    fs::remove_all(to);
    fs::copy(Base(), to, fs::copy_options::recursive);
    return to;
  }
  // verify --derived, the projections included.
  static VerifyOptions Derived() {
    VerifyOptions o;
    o.derived = true;
    o.projector = &projector_;
    return o;
  }
  static VerifyOptions WithLatestOutside() {
    VerifyOptions o;
    o.external_checkpoints = {latest_checkpoint_};
    return o;
  }

  static ProgrammeFixture* f_;
  static proj::ProgrammeProjector projector_;
  static std::string old_checkpoint_, latest_checkpoint_, older_, digest_, origin_;
  static uint64_t size_;
  static std::map<uint64_t, uint64_t> start_;  // index -> first index of its submission
};

ProgrammeFixture* Campaign::f_ = nullptr;
proj::ProgrammeProjector Campaign::projector_;
std::string Campaign::old_checkpoint_, Campaign::latest_checkpoint_, Campaign::older_, Campaign::digest_, Campaign::origin_;
uint64_t Campaign::size_ = 0;
std::map<uint64_t, uint64_t> Campaign::start_;

// An entry's canonical bytes with another signature (still canonical, still parseable).
std::string WithSignature(const std::string& leaf, const std::string& sig) {
  auto parsed = ParseEntry(leaf);
  auto e = parsed->Root<schema::Entry>();
  EntryHeader h{e.getIndex(), e.getRecordedAt(), e.getWriter().cStr(), e.getSubmissionId().cStr(), e.getPosition(),
                e.getCount(), AsBytes(sig)};
  return BuildEntryBytes(h, e.getBody());
}

TEST_F(Campaign, EveryCorruptionOfTheLogIsDetectedAndTheFirstBadIndexNamed) {
  std::mt19937 rng(1122);
  const int rounds = Rounds();
  std::map<std::string, int> by_kind;
  for (int round = 0; round < rounds; ++round) {
    std::string copy = Copy();
    uint64_t n = size_;
    uint64_t i = rng() % n;
    std::string kind;
    uint64_t lo = 0, hi = 0;  // the first bad index must be in [lo, hi]
    bool index_named = true;
    {
      RawDb raw(copy);
      switch (rng() % 11) {
        case 0: {
          kind = "flip a byte of an entry";
          std::string v = raw.Get(layout::kEntriesCf, layout::EntryKey(i));
          v[rng() % v.size()] ^= static_cast<char>(1u << (rng() % 8));
          raw.Put(layout::kEntriesCf, layout::EntryKey(i), v);
          lo = start_[i], hi = i;
          break;
        }
        case 1:
          kind = "delete an entry";
          raw.Delete(layout::kEntriesCf, layout::EntryKey(i));
          lo = hi = i;
          break;
        case 2: {
          kind = "swap two entries";
          uint64_t j = rng() % n;
          while (j == i) j = rng() % n;
          if (j < i) std::swap(i, j);
          std::string a = raw.Get(layout::kEntriesCf, layout::EntryKey(i)), b = raw.Get(layout::kEntriesCf, layout::EntryKey(j));
          raw.Put(layout::kEntriesCf, layout::EntryKey(i), b);
          raw.Put(layout::kEntriesCf, layout::EntryKey(j), a);
          lo = start_[i], hi = i;
          break;
        }
        case 3: {
          kind = "truncate the tail";
          uint64_t k = 1 + rng() % 30;
          for (uint64_t x = n - k; x < n; ++x) raw.Delete(layout::kEntriesCf, layout::EntryKey(x));
          raw.Put("default", layout::kMetaSize, BigEndianKey(n - k));
          lo = hi = n - k;
          break;
        }
        case 4: {
          kind = "replace a signature";
          std::string sig(64, '\0');
          for (char& c : sig) c = static_cast<char>(rng());
          raw.Put(layout::kEntriesCf, layout::EntryKey(i), WithSignature(raw.Get(layout::kEntriesCf, layout::EntryKey(i)), sig));
          lo = start_[i], hi = i;
          break;
        }
        case 5: {
          kind = "alter a Merkle node";
          auto tiles = raw.All(layout::kMerkleCf);
          auto& [key, value] = tiles[rng() % tiles.size()];
          std::string v = value;
          size_t at = rng() % v.size();
          v[at] ^= static_cast<char>(1u << (rng() % 8));
          raw.Put(layout::kMerkleCf, key, v);
          lo = hi = layout::TileNode(*layout::ParseTileKey(key), at / kHashSize).last_leaf();
          break;
        }
        case 6: {
          kind = "delete a Merkle tile";
          auto tiles = raw.All(layout::kMerkleCf);
          const std::string& key = tiles[rng() % tiles.size()].first;
          raw.Delete(layout::kMerkleCf, key);
          lo = hi = layout::TileNode(*layout::ParseTileKey(key), 0).last_leaf();  // its first node
          break;
        }
        case 7: {
          kind = "alter a stored checkpoint";
          auto cps = raw.All(layout::kCheckpointsCf);
          auto& [key, note] = cps[rng() % cps.size()];
          std::string v = note;
          size_t at = rng() % v.size();
          v[at] = v[at] == 'A' ? 'B' : 'A';
          raw.Put(layout::kCheckpointsCf, key, v);
          index_named = false;  // an unreadable note names no index; a false one names its size
          break;
        }
        case 8: {
          kind = "sign a checkpoint over a false root";
          uint64_t s = 1 + rng() % n;
          checkpoint::Checkpoint c;
          c.origin = origin_;
          c.size = s;
          for (auto& b : c.root) b = static_cast<uint8_t>(rng());
          raw.Put(layout::kCheckpointsCf, layout::CheckpointKey(s),
                  *note::Sign(checkpoint::FormatBody(c), origin_, f_->base().op_key));
          lo = 0, hi = s;
          break;
        }
        case 9:
          kind = "alter the size metadata";
          raw.Put("default", layout::kMetaSize, BigEndianKey(rng() % 2 ? n + 1 + rng() % 5 : n - 1 - rng() % 5));
          lo = 0, hi = n;
          break;
        default:
          kind = "alter the origin metadata";
          raw.Put("default", layout::kMetaOrigin, "forged.example/ledger");
          lo = hi = 0;
          break;
      }
    }
    ++by_kind[kind];
    auto r = VerifyLedgerDir(copy, {});
    ASSERT_FALSE(r.ok) << "round " << round << ": '" << kind << "' at " << i << " went unnoticed";
    if (index_named) {
      ASSERT_TRUE(r.first_bad_index.has_value()) << kind << ": " << r.error;
      EXPECT_GE(*r.first_bad_index, lo) << "round " << round << " " << kind << ": " << r.error;
      EXPECT_LE(*r.first_bad_index, hi) << "round " << round << " " << kind << ": " << r.error;
    } else {
      EXPECT_NE(r.error.find("checkpoint"), std::string::npos) << r.error;
    }
  }
  std::string summary;
  for (const auto& [k, c] : by_kind) summary += "  " + k + ": " + std::to_string(c) + "\n";
  std::printf("%d corruptions of the log, all detected:\n%s", rounds, summary.c_str());
  if (rounds >= 200) {
    EXPECT_EQ(by_kind.size(), 11u) << "every kind of corruption must have been tried";
  }
}

TEST_F(Campaign, ARolledBackLedgerIsCaughtByACheckpointKeptOutside) {
  // In itself the older copy is a valid ledger...
  ASSERT_TRUE(VerifyLedgerDir(older_, {}).ok);
  // ...but not the one whose checkpoint the evaluator holds.
  auto r = VerifyLedgerDir(older_, WithLatestOutside());
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.error.find("your checkpoint at size " + std::to_string(size_)), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("rolled back"), std::string::npos) << r.error;
}

TEST_F(Campaign, ARewrittenHistoryIsCaughtByTheConsistencyCheck) {
  std::mt19937 rng(99);
  for (int round = 0; round < 10; ++round) {
    std::string copy = Copy();
    // The operator (who holds the key) rewrites everything from index k:
    // drops the tail, its Merkle nodes and the checkpoints beyond, and
    // appends other events, then signs fresh checkpoints.
    uint64_t k = 40 + rng() % (size_ - 60);
    while (start_[k] != k) ++k;
    {
      RawDb raw(copy);
      for (uint64_t x = k; x < size_; ++x) raw.Delete(layout::kEntriesCf, layout::EntryKey(x));
      for (auto& [key, v] : raw.All(layout::kMerkleCf)) {
        uint64_t kept = layout::TileNodesAt(*layout::ParseTileKey(key), k) * kHashSize;
        if (kept == 0) {
          raw.Delete(layout::kMerkleCf, key);
        } else if (kept < v.size()) {
          raw.Put(layout::kMerkleCf, key, v.substr(0, kept));
        }
      }
      for (auto& [key, v] : raw.All(layout::kCheckpointsCf)) {
        if (GetBigEndian64(reinterpret_cast<const uint8_t*>(key.data())) > k) raw.Delete(layout::kCheckpointsCf, key);
      }
      for (auto& [key, v] : raw.All(layout::kSubmissionsCf)) raw.Delete(layout::kSubmissionsCf, key);
      raw.Put("default", layout::kMetaSize, BigEndianKey(k));
      raw.Delete("default", layout::kMetaProjectionSize);
    }
    {
      LedgerOptions o;
      o.projector = &projector_;
      auto l = Ledger::Open(copy, o);
      ASSERT_TRUE(l.ok()) << l.status().ToString();
      for (int s = 0; s < 5; ++s) {
        SubmissionBuilder b("ent-a");
        std::istringstream in(ProgrammeFixture::Delivery("x" + std::to_string(round) + "-" + std::to_string(s), "E1", "w9",
                                                         "bathing", "2024-03-29T09:00:00+08:00",
                                                         "2024-03-29T09:50:00+08:00", 5000 + s));
        ASSERT_TRUE(b.AddJsonLines(in).ok());
        ASSERT_TRUE((*l)->Append(b.Sign(f_->base().keys.at("ent-a"))).ok());
      }
      ASSERT_TRUE((*l)->MakeCheckpoint(f_->base().op_key).ok());
    }
    // Valid in itself: every signature checks, every stored checkpoint too.
    ASSERT_TRUE(VerifyLedgerDir(copy, {}).ok) << VerifyLedgerDir(copy, {}).error;
    // Against a checkpoint the evaluator kept from before: caught.
    VerifyOptions o;
    o.external_checkpoints = {latest_checkpoint_};
    auto r = VerifyLedgerDir(copy, o);
    ASSERT_FALSE(r.ok) << "round " << round << ": a history rewritten from " << k << " passed";
    EXPECT_NE(r.error.find("your checkpoint"), std::string::npos) << r.error;
    ASSERT_TRUE(r.first_bad_index.has_value());
    EXPECT_LE(*r.first_bad_index, size_) << r.error;
  }
}

TEST_F(Campaign, DerivedStoresAreDetectedAndRepairedByRebuild) {
  VerifyOptions derived = Derived();
  // The stores are recomputed in a scratch ledger there, removed each time.
  derived.scratch = f_->base().dir.Sub("scratch");
  fs::create_directories(derived.scratch);
  auto scratch_is_empty = [&] { return fs::is_empty(derived.scratch); };
  ASSERT_TRUE(VerifyLedgerDir(Base(), derived).ok) << VerifyLedgerDir(Base(), derived).error;
  EXPECT_TRUE(scratch_is_empty());
  std::mt19937 rng(7);
  std::map<std::string, int> by_kind;
  for (int round = 0; round < 60; ++round) {
    std::string copy = Copy();
    const char* families[] = {layout::kSubmissionsCf, layout::kActorsCf, layout::kProjectionsCf, layout::kMerkleCf};
    std::string family = families[round % 4];
    std::string kind;
    {
      RawDb raw(copy);
      auto all = raw.All(family);
      auto& [key, value] = all[rng() % all.size()];
      if (rng() % 3 == 0) {
        kind = "delete a key of " + family;
        raw.Delete(family, key);
      } else if (rng() % 2 == 0 || value.empty()) {
        kind = "add a key to " + family;
        raw.Put(family, key + "~forged", value);
      } else {
        kind = "flip a byte in " + family;
        std::string v = value;
        v[rng() % v.size()] ^= static_cast<char>(1u << (rng() % 8));
        raw.Put(family, key, v);
      }
    }
    ++by_kind[kind];
    auto r = VerifyLedgerDir(copy, derived);
    ASSERT_FALSE(r.ok) << "round " << round << ": '" << kind << "' went unnoticed";
    EXPECT_TRUE(scratch_is_empty()) << kind << ": the scratch ledger was left behind";
    if (family != layout::kMerkleCf) {
      EXPECT_NE(r.error.find("derived store '" + family + "'"), std::string::npos) << kind << ": " << r.error;
    }
    // Repair rebuilds it from the log; the ledger is then what it was.
    VerifyOptions repair;
    repair.projector = &projector_;
    auto kept = RepairLedger(copy, repair);
    ASSERT_TRUE(kept.ok()) << kind << ": " << kept.status().ToString();
    EXPECT_TRUE(fs::exists(*kept));
    auto after = VerifyLedgerDir(copy, derived);
    ASSERT_TRUE(after.ok) << kind << ": after repair: " << after.error;
    LedgerOptions o;
    o.projector = &projector_;
    o.read_only = true;
    auto l = Ledger::Open(copy, o);
    ASSERT_TRUE(l.ok());
    EXPECT_EQ((*l)->Size(), size_);
    auto v = (*l)->Projections();
    proj::Snapshot s(*v->state, v->size, v->size);
    EXPECT_EQ(HexEncode(proj::ComputeDigest(s).digest), digest_) << kind;
  }
  EXPECT_GE(by_kind.size(), 10u);
}

// A table file of the projections damaged on disk (a data block that
// fails its checksum) is named as such, with the file: not taken for the
// end of that family, which read as keys missing from the stored state.
// Verified by the real audit-cli, in a process of its own: this one's block
// cache holds the original's blocks under the same keys as the copy's.
TEST_F(Campaign, ADamagedProjectionTableFileIsNamedNotTakenForMissingKeys) {
  std::string copy = Copy();
  std::string file;
  {
    LedgerOptions o;
    o.read_only = true;
    auto l = Ledger::Open(copy, o);
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    for (const auto& f : (*l)->StorageStats()) {
      if (f.name == layout::kDeliveriesCf && !f.files.empty()) file = f.files.front();
    }
  }
  ASSERT_FALSE(file.empty()) << "the delivery records are in no table file";
  {
    // A byte of the file's first data block (table files begin with them).
    std::fstream io(file, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(io.good()) << file;
    io.seekg(16);
    char c = 0;
    io.get(c);
    io.seekp(16);
    io.put(static_cast<char>(c ^ 0x5a));
  }
  std::string err_file = f_->base().dir.Sub("verify.err");
  int rc = std::system((std::string(ELDERCARE_AUDIT_CLI) + " verify --derived --ledger '" + copy + "' >/dev/null 2>'" +
                        err_file + "'")
                           .c_str());
  ASSERT_TRUE(WIFEXITED(rc)) << rc;
  EXPECT_EQ(WEXITSTATUS(rc), 1);
  std::ifstream in(err_file);
  std::string err((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(err.find("reading derived store 'projections'"), std::string::npos) << err;
  EXPECT_NE(err.find("block checksum mismatch"), std::string::npos) << err;
  EXPECT_NE(err.find(fs::path(file).filename().string()), std::string::npos) << err;
  EXPECT_EQ(err.find("lacks key"), std::string::npos) << err;
}

// Projections folded by another version of the fold are not "damaged": the
// error says which versions differ and what folds them again.
TEST_F(Campaign, ProjectionsOfAnotherFoldVersionAreNamedAsSuch) {
  std::string copy = Copy();
  {
    RawDb raw(copy);
    raw.Put("default", layout::kMetaProjectionVersion, "programme/0");
  }
  auto r = VerifyLedgerDir(copy, Derived());
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.error.find("the projections were folded by 'programme/0', this build folds '" +
                         std::string(projector_.version()) + "'"),
            std::string::npos)
      << r.error;
  EXPECT_NE(r.error.find("audit-cli rebuild"), std::string::npos) << r.error;
}

// A scratch place that cannot take the scratch ledger is named, and the
// ledger is left as it was.
TEST_F(Campaign, AnUnusableScratchDirectoryIsNamed) {
  VerifyOptions derived = Derived();
  derived.scratch = f_->base().dir.Sub("no-such-dir");
  fs::remove_all(derived.scratch);
  auto r = VerifyLedgerDir(Base(), derived);
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.error.find("cannot make a scratch directory in " + derived.scratch), std::string::npos) << r.error;
  EXPECT_FALSE(fs::exists(derived.scratch));
  derived.scratch.clear();
  auto again = VerifyLedgerDir(Base(), derived);
  EXPECT_TRUE(again.ok) << again.error;
}

TEST_F(Campaign, RepairRefusesADamagedLogAndChangesNothing) {
  std::string copy = Copy();
  {
    RawDb raw(copy);
    std::string v = raw.Get(layout::kEntriesCf, layout::EntryKey(30));
    v[v.size() / 2] ^= 0x20;
    raw.Put(layout::kEntriesCf, layout::EntryKey(30), v);
  }
  auto before = fs::recursive_directory_iterator(copy);
  size_t files = 0;
  for (auto& e : before) files += e.is_regular_file();
  auto r = RepairLedger(copy, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("the log itself is damaged at index"), std::string::npos) << r.status().ToString();
  EXPECT_FALSE(fs::exists(copy + ".repair-tmp"));
  size_t after = 0;
  for (auto& e : fs::recursive_directory_iterator(copy)) after += e.is_regular_file();
  EXPECT_EQ(after, files);
}

}  // namespace
}  // namespace eldercare
