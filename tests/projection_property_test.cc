// Properties of the projection over random histories:
//   1. incremental == rebuild: the state the ledger keeps while appending
//      (group commits, per-submission staging) equals a fold from scratch;
//   2. as-of == prefix: today's state read as of size N equals the state of
//      a log that stopped at N (the as-of rule loses and invents nothing);
//   3. adjustments: a statement's corrections to closed earlier months equal
//      those found by recomputing every closed month (the shortcut that
//      skips months nothing relevant touched misses nothing).
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include "ledger/event_json.h"
#include "ledger/verifier.h"
#include "projections/billing.h"
#include "projections/keys.h"
#include "ledger/store_layout.h"
#include "projections/digest.h"
#include "projections/fold.h"
#include "tests/programme_util.h"
#include "tests/raw_db.h"

namespace eldercare {
namespace {

using testing::ProgrammeFixture;
using testing::RawDb;

struct RandomEvent {
  std::string writer;
  schema::Role role;
  std::string json;
};

// Events over a small world of ids, so that references often resolve and
// sometimes do not; roughly a third are rejected by the write-side rules.
class History {
 public:
  explicit History(uint32_t seed) : rng_(seed) {}

  // Enterprises, contracts and elders, so that random references resolve.
  static std::vector<RandomEvent> World() {
    std::vector<RandomEvent> w;
    for (const char* e : {"ent-a", "ent-b"}) {
      w.push_back({"bureau", schema::Role::BUREAU,
                   std::string(R"({"type":"enterprise_registered","enterprise_id":")") + e + R"(","name":"n","registered_on":"2024-01-01"})"});
      w.push_back({"bureau", schema::Role::BUREAU,
                   std::string(R"({"type":"contract_signed","contract_id":"base-)") + e + R"(","enterprise_id":")" + e +
                       R"(","communities":["com-0","com-1"],"programmes":["home_visit","meal_aid"],"valid_from":"2024-01-01","valid_until":"2024-12-31","confidentiality_agreement":")" +
                       std::string(64, 'e') + R"(","signed_on":"2024-01-01"})"});
    }
    for (int i = 0; i < 8; ++i) {
      w.push_back({"com-1", schema::Role::COMMUNITY,
                   R"({"type":"elder_registered","elder_id":"E)" + std::to_string(i) +
                       R"(","household_district":"dawukou","community":"com-)" + std::to_string(i % 2) + R"(","birth_date":"19)" +
                       std::to_string(25 + 5 * i) + R"(-03-01","registered_on":"2024-01-02"})"});
    }
    return w;
  }

  RandomEvent Next() {
    switch (Pick(16)) {
      case 0: return Bureau(R"({"type":"enterprise_registered","enterprise_id":")" + Ent() + R"(","name":"n","registered_on":"2024-01-01"})");
      case 1: return Bureau(R"({"type":"contract_signed","contract_id":"ct)" + N(4) + R"(","enterprise_id":")" + Ent() +
                            R"(","communities":["com-)" + N(2) + R"("],"programmes":["home_visit"],"valid_from":"2024-0)" +
                            std::to_string(1 + Pick(3)) + R"(-01","valid_until":"2024-0)" + std::to_string(4 + Pick(5)) +
                            R"(-28","confidentiality_agreement":")" + std::string(64, 'e') + R"(","signed_on":"2024-01-01"})");
      case 2: return {"com-1", schema::Role::COMMUNITY,
                      R"({"type":"elder_registered","elder_id":"E)" + N(8) + R"(","household_district":"dawukou","community":"com-)" +
                          N(2) + R"(","birth_date":"19)" + std::to_string(25 + Pick(40)) + R"(-03-01","registered_on":"2024-01-02"})"};
      case 3: return {"com-1", schema::Role::COMMUNITY,
                      R"({"type":"circumstance_recorded","elder_id":"E)" + N(8) + R"(","circumstance":")" + Circ() +
                          R"(","change":")" + (Pick(4) ? "begins" : "ends") + R"(","effective_on":"2024-0)" +
                          std::to_string(1 + Pick(8)) + R"(-1)" + N(9) + "\"}"};
      case 4: {
        int total = static_cast<int>(Pick(91));
        const char* level = total >= 90 ? "intact" : total >= 66 ? "mild" : total >= 46 ? "moderate" : total >= 30 ? "severe" : "complete";
        int s = std::min(total, 32), m = std::min(total - s, 15), me = std::min(total - s - m, 28), p = total - s - m - me;
        return {"assessor", schema::Role::ASSESSOR,
                R"({"type":"assessment_recorded","elder_id":"E)" + N(8) + R"(","assessment_id":"as)" + N(30) +
                    R"(","assessed_on":"2024-0)" + std::to_string(1 + Pick(6)) + R"(-05","valid_until":"2025-01-04","self_care":)" +
                    std::to_string(s) + R"(,"mobility":)" + std::to_string(m) + R"(,"mental":)" + std::to_string(me) +
                    R"(,"perception":)" + std::to_string(p) + R"(,"level":")" + (Pick(10) ? level : "mild") + "\"}"};
      }
      case 5: return {"com-1", schema::Role::COMMUNITY,
                      R"({"type":"application_submitted","application_id":"A)" + N(10) + R"(","elder_id":"E)" + N(8) +
                          R"(","programme":")" + (Pick(2) ? "home_visit" : "meal_aid") + R"(","filed_by":"family","filed_on":"2024-01-06"})"};
      case 6: return {"com-1", schema::Role::COMMUNITY,
                      R"({"type":"community_review","application_id":"A)" + N(10) + R"(","decision":")" + (Pick(5) ? "pass" : "reject") + R"(","reviewed_on":"2024-01-07"})"};
      case 7: return {"sub-1", schema::Role::SUBDISTRICT,
                      R"({"type":"subdistrict_review","application_id":"A)" + N(10) + R"(","decision":"pass","reviewed_on":"2024-01-08"})"};
      case 8: return Bureau(R"({"type":"application_decided","application_id":"A)" + N(10) +
                            R"(","decision":"pass","effective_from":"2024-0)" + std::to_string(1 + Pick(4)) + R"(-10","decided_on":"2024-01-09"})");
      case 9:
      case 10:
      case 11: {
        std::string ent = Ent();
        int day = 1 + static_cast<int>(Pick(28)), hour = 8 + static_cast<int>(Pick(8));
        char in[64], out[64];
        std::snprintf(in, sizeof in, "2024-0%d-%02dT%02d:%02d:00+08:00", 2 + static_cast<int>(Pick(4)), day, hour, 10 * static_cast<int>(Pick(6)));
        std::snprintf(out, sizeof out, "%.11s%02d:%02d:00+08:00", in, hour + 1 + static_cast<int>(Pick(2)), 10 * static_cast<int>(Pick(6)));
        return {ent, schema::Role::ENTERPRISE,
                ProgrammeFixture::Delivery("d" + N(60), "E" + N(8), "w" + N(3), Pick(3) ? "bathing" : "cleaning", in,
                                           out, static_cast<int>(Pick(40)), ent, static_cast<int>(Pick(3)))};
      }
      case 12: {
        std::string ent = Ent();
        return {ent, schema::Role::ENTERPRISE,
                R"({"type":"delivery_voided","delivery_id":"d)" + N(60) + R"(","enterprise_id":")" + ent + R"(","voided_on":"2024-05-01"})"};
      }
      case 13: return {"insp", schema::Role::INSPECTOR,
                       R"({"type":"follow_up_call","call_id":"c)" + N(1000) + R"(","elder_id":"E)" + N(8) + R"(","enterprise_id":")" +
                           Ent() + R"(","called_at":"2024-05-01T10:00:00+08:00","month":"2024-03","outcome":")" +
                           (Pick(2) ? "denied" : "confirmed") + R"(","deliveries":["d)" + N(60) + "\"]}"};
      case 14: return Bureau(std::string(R"({"type":"enterprise_)") + (Pick(2) ? "suspended" : "reinstated") +
                             R"(","enterprise_id":")" + Ent() + R"(","effective_from":"2024-0)" + std::to_string(2 + Pick(4)) + R"(-15"})");
      default: return Bureau(R"({"type":"billing_period_closed","enterprise_id":")" + Ent() + R"(","month":"2024-0)" +
                             std::to_string(2 + Pick(4)) + R"(","at_size":1,"statement_digest":")" + std::string(64, 'f') +
                             R"(","closed_on":"2024-06-01"})");
    }
  }

 private:
  uint32_t Pick(uint32_t n) { return static_cast<uint32_t>(rng_() % n); }
  std::string N(uint32_t n) { return std::to_string(Pick(n)); }
  std::string Ent() { return Pick(2) ? "ent-a" : "ent-b"; }
  std::string Circ() {
    static const char* c[] = {"lives_alone", "dibao", "near_dibao", "deceased", "moved_away", "extreme_poverty", "empty_nest", "ltc_insurance"};
    return c[Pick(8)];
  }
  RandomEvent Bureau(std::string json) { return {"bureau", schema::Role::BUREAU, std::move(json)}; }
  std::mt19937 rng_;
};

std::map<std::string, std::string> RawProjection(Ledger& l) {
  std::map<std::string, std::string> out;
  for (auto c = l.NewCursor(Family::kProjections); c->Valid(); c->Next()) out.emplace(c->key(), c->value());
  return out;
}

TEST(ProjectionProperty, IncrementalEqualsRebuild) {
  for (uint32_t seed : {1u, 2u, 3u, 4u, 5u}) {
    // A rebuild folds chunks of changes while the one before is written on
    // another thread; small chunks make it pass through dozens of them (seed
    // 5: one chunk), so that the fold reads what earlier chunks wrote from
    // the chunk in flight, the cache and RocksDB.
    ProgrammeFixture f(true, [&](LedgerOptions& o) {
      if (seed != 5) o.rebuild_chunk_keys = 5 + 9 * seed;
    });
    for (const auto& ev : History::World()) f.Expect(ev.writer, ev.json);
    History h(seed);
    int accepted = 0;
    for (int i = 0; i < 300; ++i) {
      // 1 to 3 events of one writer per submission.
      RandomEvent first = h.Next();
      std::string lines = first.json;
      for (int k = 0; k < (i % 3); ++k) {
        RandomEvent more = h.Next();
        if (more.writer == first.writer) lines += "\n" + more.json;
      }
      accepted += f.Submit(first.writer, lines).ok();
    }
    EXPECT_GT(accepted, 40) << "seed " << seed << ": the history is mostly rejected and proves little";
    auto before = RawProjection(f.ledger());
    auto d1 = proj::ComputeDigest(*f.Snap().snap);
    // For some seeds the old projection lies in compacted files, which the
    // rebuild drops whole before folding (the others: memtable and WAL).
    if (seed % 2) {
      ASSERT_TRUE(f.ledger().Flush(/*compact=*/true).ok());
    }
    ASSERT_TRUE(f.ledger().RebuildProjections().ok());
    auto after = RawProjection(f.ledger());
    auto d2 = proj::ComputeDigest(*f.Snap().snap);
    EXPECT_EQ(before, after) << "seed " << seed;
    EXPECT_EQ(d1.digest, d2.digest) << "seed " << seed;
    EXPECT_GT(d1.records, 10u);
    f.base().Reopen();
    EXPECT_EQ(before, RawProjection(f.ledger())) << "seed " << seed << ", reopened";
  }
}

// What the ledger reports RocksDB wrote to the family `name` since it opened.
FamilyStorageStats StatsOf(const Ledger& l, const std::string& name) {
  for (const auto& s : l.StorageStats()) {
    if (s.name == name) return s;
  }
  ADD_FAILURE() << "no family " << name;
  return FamilyStorageStats{};
}

// What the next open replays is every WAL file since the oldest write still
// only in memory in any column family. A rebuild once wrote its projection
// through the WAL, and its last write to the metadata family stayed in
// memory: closing the ledger kept the whole rebuild's WAL alive (636 MB at
// 1M events) and every later read-only open (each query) replayed it. Since
// 2026-12-07 the rebuild's chunks skip the WAL (they are flushed to table
// files before the projection is said to be whole). After a rebuild of many
// megabytes and a close, the WAL is empty enough to open at once.
TEST(ProjectionProperty, ARebuildLeavesNoWalForTheNextOpenToReplay) {
  ProgrammeFixture f;
  f.EnterpriseAndContract();
  f.ServedElder("E1");
  constexpr int kSubmissions = 40, kEach = 500;
  for (int s = 0; s < kSubmissions; ++s) {
    std::string lines;
    for (int i = 0; i < kEach; ++i) {
      int n = s * kEach + i;
      char at[64], to[64];
      // A ten-minute bath every quarter of an hour from 2024-02-01 (28 days a month).
      int d = n / 96, slot = n % 96;
      std::snprintf(at, sizeof at, "2024-%02d-%02dT%02d:%02d:00+08:00", 2 + d / 28, 1 + d % 28, slot / 4, slot % 4 * 15);
      std::snprintf(to, sizeof to, "2024-%02d-%02dT%02d:%02d:00+08:00", 2 + d / 28, 1 + d % 28, slot / 4, slot % 4 * 15 + 10);
      lines += ProgrammeFixture::Delivery("d" + std::to_string(n), "E1", "w" + std::to_string(n % 50), "bathing",
                                          at, to, n + 1) + "\n";
    }
    f.Expect("ent-a", lines);
  }
  f.base().Reopen();  // what the ingest left in memory is flushed
  auto projection_flushed = [&] {
    uint64_t bytes = 0;
    for (const char* name : layout::kProjectionFamilyNames) bytes += StatsOf(f.ledger(), name).flushed_bytes;
    return bytes;
  };
  uint64_t flushed_before = projection_flushed();
  ASSERT_TRUE(f.ledger().RebuildProjections().ok());
  EXPECT_GT(projection_flushed() - flushed_before, 2u << 20)
      << "the rebuild wrote less projection (compressed) than this test needs to mean anything";
  auto wal_bytes = [&] {
    uint64_t bytes = 0;
    for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(f.base().path()) / "log")) {
      if (e.path().extension() == ".log") bytes += e.file_size();
    }
    return bytes;
  };
  f.base().ledger.reset();  // closed; a read-only open would replay what is left
  EXPECT_LT(wal_bytes(), 1u << 20);
  f.base().Reopen();
}

// A served elder's deliveries over two months, by two workers.
void TwoMonthsOfDeliveries(ProgrammeFixture& f) {
  f.EnterpriseAndContract();
  f.ServedElder("E1");
  std::string lines;
  for (int i = 0; i < 6; ++i) {
    std::string day = i < 3 ? "2024-03-2" + std::to_string(i) : "2024-04-0" + std::to_string(i);
    lines += ProgrammeFixture::Delivery("d" + std::to_string(i), "E1", "w" + std::to_string(i % 2), "bathing",
                                        day + "T09:00:00+08:00", day + "T10:00:00+08:00", 100 + i) + "\n";
  }
  f.Expect("ent-a", lines);
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

Pairs InCursorOrder(Ledger& l) {
  Pairs out;
  for (auto c = l.NewCursor(Family::kProjections); c->Valid(); c->Next()) out.emplace_back(c->key(), c->value());
  return out;
}

// The projection state is one keyspace kept in four column families
// (ledger/store_layout.h): delivery records in "deliveries", workers' visits
// in "visits", the delivery-id and evidence lookups in "lookups", the rest in
// "projections". Reads, scans of any prefix and the
// ledger's cursor see one keyspace in key order.
TEST(ProjectionStorage, DeliveryKeysLiveInTheirOwnFamiliesAndTheStateReadsAsOne) {
  ProgrammeFixture f;
  TwoMonthsOfDeliveries(f);
  Pairs all = InCursorOrder(f.ledger());
  for (size_t i = 1; i < all.size(); ++i) ASSERT_LT(all[i - 1].first, all[i].first) << "at " << i;
  {
    auto view = f.ledger().Projections();
    ASSERT_TRUE(view.ok());
    for (std::string prefix :
         {std::string(), std::string("d"), std::string("dl"), std::string("dw"), keys::Prefix({"dl"}),
          keys::Prefix({"dw"}), keys::Prefix({"dw", "2024-04"}), keys::Prefix({"el"}), keys::Prefix({"di"}),
          keys::Prefix({"ev"}), std::string("e")}) {
      Pairs want, got;
      for (const auto& kv : all) {
        if (kv.first.rfind(prefix, 0) == 0) want.push_back(kv);
      }
      view->state->Scan(prefix, [&](std::string_view k, std::string_view v) {
        got.emplace_back(k, v);
        return true;
      });
      EXPECT_EQ(got, want) << "prefix '" << prefix << "'";
      EXPECT_FALSE(want.empty()) << "prefix '" << prefix << "'";
      for (const auto& [k, v] : want) EXPECT_EQ(view->state->Get(k), v);
    }
  }
  proj::ProgrammeProjector projector;
  EXPECT_TRUE(f.ledger().CheckDerivedStores(&projector).ok());
  f.base().ledger.reset();
  RawDb raw(f.base().path());
  Pairs deliveries = raw.All(layout::kDeliveriesCf), visits = raw.All(layout::kVisitsCf),
        lookups = raw.All(layout::kLookupsCf), records = raw.All(layout::kProjectionsCf);
  for (const auto& [k, v] : deliveries) {
    EXPECT_EQ(layout::ProjectionFamilyOf(k), layout::ProjectionFamily::kDeliveries) << k;
    EXPECT_EQ(k.rfind(keys::Prefix({"dl"}), 0), 0u) << k;
  }
  for (const auto& [k, v] : visits) {
    EXPECT_EQ(layout::ProjectionFamilyOf(k), layout::ProjectionFamily::kVisits) << k;
    EXPECT_EQ(k.rfind(keys::Prefix({"dw"}), 0), 0u) << k;
  }
  // A delivery id's lookup holds the check-in and the elder, which with its
  // key's enterprise and id name the record; an evidence hash's only the
  // index it was first seen at (keys.h).
  std::set<std::string> records_named;
  size_t di = 0, ev = 0;
  for (const auto& [k, v] : lookups) {
    EXPECT_EQ(layout::ProjectionFamilyOf(k), layout::ProjectionFamily::kLookups) << k;
    auto lookup = keys::DecodeLookup(v);
    ASSERT_TRUE(lookup.has_value()) << k;
    if (k.rfind(keys::Prefix({"di"}), 0) == 0) {
      ++di;
      std::string_view rest = std::string_view(k).substr(3);
      std::string ent(rest.substr(0, rest.find('\0'))), id(rest.substr(rest.find('\0') + 1));
      ASSERT_EQ(lookup->target.size(), 8u + 2u) << k;
      auto check_in = static_cast<int64_t>(GetBigEndian64(reinterpret_cast<const uint8_t*>(lookup->target.data())));
      EXPECT_EQ(lookup->target.substr(8), "E1");
      records_named.insert(proj::DeliveryKey(proj::DeliveryMonth(check_in), "E1", check_in, ent, id));
    } else if (k.rfind(keys::Prefix({"ev"}), 0) == 0) {
      ++ev;
      EXPECT_EQ(v.size(), 8u) << "an evidence lookup holds only its index";
    }
  }
  std::set<std::string> delivery_keys;
  for (const auto& [k, v] : deliveries) delivery_keys.insert(k);
  EXPECT_EQ(records_named, delivery_keys);
  EXPECT_EQ(deliveries.size(), 6u);
  EXPECT_EQ(visits.size(), 6u);
  EXPECT_EQ(di, 6u);
  EXPECT_EQ(ev, 6u);
  EXPECT_EQ(lookups.size(), 12u);
  for (const auto& [k, v] : records) EXPECT_EQ(layout::ProjectionFamilyOf(k), layout::ProjectionFamily::kRecords) << k;
  Pairs every = deliveries;
  every.insert(every.end(), visits.begin(), visits.end());
  every.insert(every.end(), lookups.begin(), lookups.end());
  every.insert(every.end(), records.begin(), records.end());
  std::sort(every.begin(), every.end());
  EXPECT_EQ(every, all);
  // Month first in each: March's records, then April's.
  for (const Pairs* family : {&deliveries, &visits}) {
    ASSERT_FALSE(family->empty());
    EXPECT_NE(family->front().first.find("2024-03"), std::string::npos) << family->front().first;
    EXPECT_NE(family->back().first.find("2024-04"), std::string::npos) << family->back().first;
  }
}

// What the ledger reports RocksDB wrote per family (the macro benchmark's
// storage lines) only ever grows while the ledger is open, and names flushes
// and compactions apart.
TEST(ProjectionStorage, StorageStatsCountFlushesAndCompactionsPerFamily) {
  ProgrammeFixture f;
  auto of = [&](const std::string& name) { return StatsOf(f.ledger(), name); };
  TwoMonthsOfDeliveries(f);
  ASSERT_TRUE(f.ledger().Flush().ok());
  FamilyStorageStats flushed = of(layout::kDeliveriesCf);
  EXPECT_GT(flushed.flushed_bytes, 0u);
  EXPECT_EQ(flushed.compacted_bytes, 0u);
  EXPECT_GT(flushed.live_bytes, 0u);
  ASSERT_TRUE(f.ledger().Flush(/*compact=*/true).ok());
  FamilyStorageStats compacted = of(layout::kDeliveriesCf);
  EXPECT_EQ(compacted.flushed_bytes, flushed.flushed_bytes);
  EXPECT_GT(compacted.compacted_bytes, 0u);
  for (const char* name : {layout::kEntriesCf, layout::kProjectionsCf, layout::kVisitsCf, layout::kLookupsCf}) {
    FamilyStorageStats s = of(name);
    EXPECT_GT(s.flushed_bytes, 0u) << name;
    EXPECT_GT(s.compacted_bytes, 0u) << name;
  }
  // Nothing written since: nothing counted since, and RocksDB settles (the
  // macro benchmark waits for this before it times proofs).
  auto settled = f.ledger().SettleCompactions(std::chrono::seconds(60));
  ASSERT_TRUE(settled.ok()) << settled.status().ToString();
  ASSERT_TRUE(f.ledger().Flush().ok());
  EXPECT_EQ(of(layout::kDeliveriesCf).flushed_bytes, compacted.flushed_bytes);
  EXPECT_EQ(of(layout::kDeliveriesCf).compacted_bytes, compacted.compacted_bytes);
}

// `files` submissions of five March deliveries each (MarchWorld), each
// flushed on its own: a table file of each family per submission.
void FlushedOneByOne(ProgrammeFixture& f, int files) {
  for (int file = 0; file < files; ++file) {
    std::string lines;
    for (int i = 0; i < 5; ++i) {
      lines += ProgrammeFixture::MarchDelivery("d" + std::to_string(file) + "-" + std::to_string(i), file * 5 + i) + "\n";
    }
    f.Expect("ent-a", lines);
    ASSERT_TRUE(f.ledger().Flush().ok());
  }
}

// A rebuild turns RocksDB's automatic compactions of the projection families
// off while it folds (it compacts once at the end), and must turn them on
// again: otherwise every later flush leaves one more level-0 file for every
// read to consult. After a rebuild, files flushed one by one are compacted
// without anybody asking.
TEST(ProjectionStorage, AfterARebuildRocksDBCompactsTheProjectionOnItsOwnAgain) {
  ProgrammeFixture f;
  f.MarchWorld();
  ASSERT_TRUE(f.ledger().RebuildProjections().ok());
  auto compacted = [&] { return StatsOf(f.ledger(), layout::kDeliveriesCf).compacted_bytes; };
  const uint64_t after_rebuild = compacted();
  // More level-0 files than RocksDB's trigger (4) for a compaction.
  ASSERT_NO_FATAL_FAILURE(FlushedOneByOne(f, 8));
  auto settled = f.ledger().SettleCompactions(std::chrono::seconds(60));
  ASSERT_TRUE(settled.ok()) << settled.status().ToString();
  EXPECT_GT(compacted(), after_rebuild) << "nothing compacted the files flushed after the rebuild";
}

// Entries are keyed by their index, so a flush of them holds keys after every
// older one and compaction need not rewrite them: it can move their files.
// Under leveled compaction it did move them, but once a snapshot was
// released RocksDB rewrote each file moved into the last level, to zero its
// sequence numbers (every entry written twice; benchmarks/RESULTS.md,
// fourteenth session). With universal compaction and trivial moves, files
// flushed one by one, more than its trigger, are mostly moved (a merge whose
// output stays in level 0 is rewritten), and the log still verifies.
TEST(LedgerStorage, EntriesAreMovedByCompactionNotRewritten) {
  ProgrammeFixture f;
  f.MarchWorld();
  ASSERT_NO_FATAL_FAILURE(FlushedOneByOne(f, 12));
  // A query reads under a snapshot; releasing it is what had RocksDB look
  // for last-level files to rewrite.
  ASSERT_TRUE(f.ledger().Projections().ok());
  auto settled = f.ledger().SettleCompactions(std::chrono::seconds(60));
  ASSERT_TRUE(settled.ok()) << settled.status().ToString();
  FamilyStorageStats entries = StatsOf(f.ledger(), layout::kEntriesCf);
  EXPECT_GT(entries.flushed_bytes, 0u);
  EXPECT_GT(entries.moved_bytes, 0u) << "no compaction moved the flushed entries";
  // Leveled: 81% of the flushed bytes rewritten (the last-level pass);
  // universal: 30% in this small ledger, merges whose output stays in level 0.
  EXPECT_LT(2 * entries.compacted_bytes, entries.flushed_bytes)
      << "compaction rewrote " << entries.compacted_bytes << " of " << entries.flushed_bytes << " bytes of entries";
  auto report = VerifyLedgerDir(f.base().path(), {});
  EXPECT_TRUE(report.ok) << report.error;
}

TEST(ProjectionStorage, RoutingReadsTheFirstPartOfTheKeyOnly) {
  using layout::ProjectionFamily;
  EXPECT_EQ(layout::ProjectionFamilyOf(keys::Join({"dl", "2024-03", "E1"})), ProjectionFamily::kDeliveries);
  EXPECT_EQ(layout::ProjectionFamilyOf(keys::Prefix({"dl"})), ProjectionFamily::kDeliveries);
  EXPECT_EQ(layout::ProjectionFamilyOf(keys::Join({"dw", "2024-03", "ent-a"})), ProjectionFamily::kVisits);
  EXPECT_EQ(layout::ProjectionFamilyOf(keys::Prefix({"dw"})), ProjectionFamily::kVisits);
  EXPECT_EQ(layout::ProjectionFamilyOf(keys::Join({"di", "ent-a", "d1"})), ProjectionFamily::kLookups);
  EXPECT_EQ(layout::ProjectionFamilyOf(keys::Join({"ev", std::string(32, '\x7f')})), ProjectionFamily::kLookups);
  for (std::string k : {keys::Join({"dx", "ent-a", "w1"}), keys::Join({"de", "ent-a"}), keys::Join({"el", "dl"}),
                        keys::Join({"ei", "x"}), keys::Join({"dv", "x"}), std::string("dl"), std::string("dw"),
                        std::string("ev"), std::string("dlx"), std::string("dwa\0", 4), std::string()}) {
    EXPECT_EQ(layout::ProjectionFamilyOf(k), ProjectionFamily::kRecords) << k;
  }
}

// Ledgers from before a projection family existed, their projector's version
// older: every projection key in "projections" (before programme/6);
// delivery records and visits together in "deliveries" (programme/6);
// visits in "visits" but the delivery-id and evidence lookups still in
// "projections" (programme/7). Read-only such a ledger opens for what needs
// no projections and refuses what does, naming the rebuild; opened for
// writing it gains the families and is rebuilt into them, with the same
// projection digest.
TEST(ProjectionStorage, ALedgerFromBeforeTheFamiliesIsRebuiltIntoThem) {
  struct Older {
    const char* version;
    std::vector<std::pair<const char*, const char*>> moved;  // family -> where it lived
  };
  const Older olders[] = {
      {"programme/5",
       {{layout::kLookupsCf, layout::kProjectionsCf},
        {layout::kVisitsCf, layout::kProjectionsCf},
        {layout::kDeliveriesCf, layout::kProjectionsCf}}},
      {"programme/6", {{layout::kLookupsCf, layout::kProjectionsCf}, {layout::kVisitsCf, layout::kDeliveriesCf}}},
      {"programme/7", {{layout::kLookupsCf, layout::kProjectionsCf}}},
  };
  for (const Older& older : olders) {
    SCOPED_TRACE(older.version);
    ProgrammeFixture f;
    TwoMonthsOfDeliveries(f);
    auto digest = [&] {
      auto view = f.ledger().Projections();
      EXPECT_TRUE(view.ok());
      proj::Snapshot snap(*view->state, view->size, view->size);
      return proj::ComputeDigest(snap).digest;
    };
    Hash before = digest();
    Pairs all = InCursorOrder(f.ledger());
    uint64_t size = f.ledger().Size();
    f.base().ledger.reset();
    {
      RawDb raw(f.base().path());
      for (const auto& [family, into] : older.moved) {
        for (const auto& [k, v] : raw.All(family)) raw.Put(into, k, v);
        raw.DropFamily(family);
      }
      raw.Put("default", layout::kMetaProjectionVersion, older.version);
    }
    proj::ProgrammeProjector projector;
    LedgerOptions ro;
    ro.read_only = true;
    {
      auto bare = Ledger::Open(f.base().path(), ro);
      ASSERT_TRUE(bare.ok()) << bare.status().ToString();
      EXPECT_EQ((*bare)->Size(), size);
      EXPECT_EQ(InCursorOrder(**bare), all);  // everything in the families it has
    }
    ro.projector = &projector;
    auto refused = Ledger::Open(f.base().path(), ro);
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.status().message().find("audit-cli rebuild"), std::string::npos) << refused.status().ToString();
    f.base().Reopen();  // for writing, with the projector: rebuilt
    EXPECT_EQ(digest(), before);
    EXPECT_EQ(InCursorOrder(f.ledger()), all);
    EXPECT_TRUE(f.ledger().CheckDerivedStores(&projector).ok());
    f.base().ledger.reset();
    RawDb raw(f.base().path());
    EXPECT_EQ(raw.All(layout::kDeliveriesCf).size(), 6u);
    EXPECT_EQ(raw.All(layout::kVisitsCf).size(), 6u);
    EXPECT_EQ(raw.All(layout::kLookupsCf).size(), 12u);  // six delivery ids, six evidence hashes
  }
}

// Concurrent writers: the ledger stages each group of submissions on top of
// the group still being written (Enqueue), so the projection, the duplicate
// check and the Merkle frontier run one group ahead of the disk. Whatever the
// interleaving, what is kept equals a fold from scratch in log order; a
// submission id sent by every thread is recorded once; an id reused with
// other content is refused for all but one.
TEST(ProjectionProperty, IncrementalEqualsRebuildUnderConcurrentWriters) {
  for (uint32_t seed : {11u, 12u, 13u}) {
    ProgrammeFixture f;
    for (const auto& ev : History::World()) f.Expect(ev.writer, ev.json);
    History h(seed);
    constexpr int kThreads = 4, kEach = 120;
    std::vector<std::vector<RandomEvent>> work(kThreads);
    for (auto& w : work) {
      for (int i = 0; i < kEach; ++i) w.push_back(h.Next());
    }
    testing::LedgerFixture& base = f.base();
    std::atomic<int> accepted{0};
    std::vector<std::vector<Result<AppendResult>>> shared(kThreads), clash(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i) {
          const RandomEvent& ev = work[t][i];
          auto r = base.AppendJson(ev.writer, base.keys.at(ev.writer), ev.json,
                                   "t" + std::to_string(t) + "-" + std::to_string(i));
          accepted += r.ok();
          if (i % 20 == 0) {
            // The same submission from every thread, and one id with each
            // thread's own content.
            shared[t].push_back(base.AppendJson("bureau", base.keys.at("bureau"),
                                                R"({"type":"enterprise_registered","enterprise_id":"ent-s)" +
                                                    std::to_string(i) + R"(","name":"n","registered_on":"2024-01-01"})",
                                                "shared-" + std::to_string(i)));
            clash[t].push_back(base.AppendJson("bureau", base.keys.at("bureau"),
                                               R"({"type":"enterprise_registered","enterprise_id":"ent-c)" +
                                                   std::to_string(i) + "-" + std::to_string(t) +
                                                   R"(","name":"n","registered_on":"2024-01-01"})",
                                               "clash-" + std::to_string(i)));
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_GT(accepted.load(), 100) << "seed " << seed;
    for (size_t k = 0; k < shared[0].size(); ++k) {
      int firsts = 0, wins = 0;
      for (int t = 0; t < kThreads; ++t) {
        ASSERT_TRUE(shared[t][k].ok()) << shared[t][k].status().ToString();
        EXPECT_EQ(shared[t][k]->first_index, shared[0][k]->first_index) << "seed " << seed << " shared " << k;
        firsts += !shared[t][k]->duplicate;
        if (clash[t][k].ok()) {
          ++wins;
        } else {
          EXPECT_EQ(clash[t][k].status().code(), Status::Code::kConflict) << clash[t][k].status().ToString();
        }
      }
      EXPECT_EQ(firsts, 1) << "seed " << seed << ": shared submission " << k << " recorded " << firsts << " times";
      EXPECT_EQ(wins, 1) << "seed " << seed << ": clashing id " << k << " accepted " << wins << " times";
    }
    auto incremental = RawProjection(f.ledger());
    proj::ProgrammeProjector projector;
    Status derived = f.ledger().CheckDerivedStores(&projector);
    EXPECT_TRUE(derived.ok()) << "seed " << seed << ": " << derived.ToString();
    ASSERT_TRUE(f.ledger().RebuildProjections().ok());
    EXPECT_EQ(incremental, RawProjection(f.ledger())) << "seed " << seed;
    auto report = VerifyLedgerDir(f.base().path(), {});
    EXPECT_TRUE(report.ok) << report.error;
  }
}

// Folds events one at a time into a memory store, as the ledger would.
struct DirectFold {
  MemoryStateStore store;
  uint64_t next_index = 1;  // index 0 is genesis
  proj::ProgrammeProjector projector;

  bool Apply(const RandomEvent& ev) {
    capnp::MallocMessageBuilder msg;
    auto body = msg.initRoot<schema::EventBody>();
    if (!events::EventFromJsonText(ev.json, body).ok()) return false;
    OverlayStateStore staged(&store);
    EventContext ctx{next_index, 1700000000000000 + static_cast<int64_t>(next_index), ev.writer, ev.role};
    if (!projector.Apply(ctx, body.asReader(), staged).ok()) return false;
    staged.MergeInto(store);
    ++next_index;
    return true;
  }
};

// For a failure message: the first primary record whose bytes differ.
std::string FirstDifference(const proj::Snapshot& a, const proj::Snapshot& b) {
  auto collect = [](const proj::Snapshot& s) {
    std::map<std::string, std::string> out;
    for (std::string_view prefix : keys::kPrimary) {
      s.state().Scan(keys::Prefix({prefix}), [&](std::string_view k, std::string_view v) {
        if (auto bytes = proj::AsOf(v, proj::PrimarySchema(prefix), s.size())) out[std::string(k)] = *bytes;
        return true;
      });
    }
    return out;
  };
  auto show = [](const std::string& key, const std::string& bytes) {
    auto m = CanonicalMessage::Parse(bytes, false, 1 << 20);
    auto schema = proj::PrimarySchema(key.substr(0, 2));
    return events::StructToJson(m->Root<capnp::AnyStruct>().as<capnp::DynamicStruct>(schema)).dump();
  };
  auto ra = collect(a), rb = collect(b);
  for (const auto& [k, v] : ra) {
    auto it = rb.find(k);
    if (it == rb.end()) return "\nonly as-of: " + show(k, v);
    if (it->second != v) return "\nas-of:  " + show(k, v) + "\nprefix: " + show(k, it->second);
  }
  for (const auto& [k, v] : rb) {
    if (!ra.count(k)) return "\nonly in the prefix: " + show(k, v);
  }
  return "";
}

TEST(ProjectionProperty, AsOfEqualsTheLogThatStoppedThere) {
  for (uint32_t seed : {11u, 12u, 13u, 14u, 15u, 16u}) {
    History h(seed);
    DirectFold full;
    // The world needs its policy and actors; they come first in both folds.
    std::vector<RandomEvent> accepted;
    std::string policy = *ReadFile(testing::DefaultPolicyPath());
    policy = policy.substr(policy.find('{'), policy.rfind('}') - policy.find('{') + 1);
    RandomEvent p{"bureau", schema::Role::BUREAU, policy};
    ASSERT_TRUE(full.Apply(p));
    accepted.push_back(p);
    for (const auto& ev : History::World()) {
      ASSERT_TRUE(full.Apply(ev)) << ev.json;
      accepted.push_back(ev);
    }
    for (int i = 0; i < 700; ++i) {
      RandomEvent ev = h.Next();
      if (full.Apply(ev)) accepted.push_back(ev);
    }
    uint64_t total = full.next_index;
    ASSERT_GT(accepted.size(), 100u) << "seed " << seed;
    for (uint64_t n : {uint64_t{2}, total / 4, total / 2, total - 7, total}) {
      DirectFold prefix;
      for (size_t i = 0; i + 1 < n; ++i) ASSERT_TRUE(prefix.Apply(accepted[i])) << "event accepted once, refused in a prefix";
      proj::Snapshot as_of(full.store, total, n);
      proj::Snapshot stopped(prefix.store, n, n);
      EXPECT_EQ(proj::ComputeDigest(as_of).digest, proj::ComputeDigest(stopped).digest) << "seed " << seed << " n " << n
                                                                                      << FirstDifference(as_of, stopped);
      for (const char* ent : {"ent-a", "ent-b"}) {
        for (const char* month : {"2024-03", "2024-04"}) {
          auto a = proj::ComputeStatement(as_of, ent, month);
          auto b = proj::ComputeStatement(stopped, ent, month);
          ASSERT_EQ(a.ok(), b.ok());
          if (a.ok()) {
            EXPECT_EQ((*a)->canonical(), (*b)->canonical()) << ent << " " << month << " n " << n;
          }
        }
      }
    }
  }
}

// The adjustments every statement would carry if it recomputed each closed
// earlier month as it was accounted for and as it is now.
std::vector<std::tuple<std::string, int64_t, int64_t>> ExhaustiveAdjustments(const proj::Snapshot& snap, const std::string& ent,
                                                                            const std::string& month) {
  std::vector<std::pair<std::string, uint64_t>> closes;
  snap.Scan<schema::CloseRecord>(keys::Prefix({"bc", ent}), [&](std::string_view, const proj::Record<schema::CloseRecord>& r) {
    std::string m(r.get().getClose().getMonth().cStr());
    if (m < month) closes.emplace_back(m, r.get().getClose().getAtSize());
    return true;
  });
  std::vector<std::tuple<std::string, int64_t, int64_t>> out;
  for (const auto& [m, size] : closes) {
    proj::Snapshot then(snap.state(), snap.state_size(), std::min(closes.back().second, snap.size()));
    int64_t a = (*proj::ComputeBilled(then, ent, m))->get().getBilledFen();
    int64_t b = (*proj::ComputeBilled(snap, ent, m))->get().getBilledFen();
    if (a != b) out.emplace_back(m, a, b);
  }
  return out;
}

TEST(ProjectionProperty, AdjustmentsMissNoCorrection) {
  size_t adjusted = 0, compared = 0;
  // At least eight histories, more until the rule has been exercised enough
  // (which histories a seed gives depends on the compiler: the order in which
  // a call's arguments draw random numbers is unspecified).
  for (uint32_t seed = 21; seed < 29 || (adjusted <= 10 && seed < 61); ++seed) {
    History h(seed);
    std::mt19937 rng(seed);
    DirectFold full;
    std::string policy = *ReadFile(testing::DefaultPolicyPath());
    ASSERT_TRUE(full.Apply({"bureau", schema::Role::BUREAU, policy.substr(policy.find('{'), policy.rfind('}') - policy.find('{') + 1)}));
    for (const auto& ev : History::World()) ASSERT_TRUE(full.Apply(ev)) << ev.json;
    std::vector<uint64_t> sizes;
    auto close = [&](const std::string& ent, int month) {
      bool ok = full.Apply({"bureau", schema::Role::BUREAU,
                            R"({"type":"billing_period_closed","enterprise_id":")" + ent + R"(","month":"2024-0)" +
                                std::to_string(month) + R"(","at_size":)" + std::to_string(full.next_index) +
                                R"(,"statement_digest":")" + std::string(64, 'f') + R"(","closed_on":"2024-06-01"})"});
      if (ok) sizes.push_back(full.next_index);
    };
    // 1. Everything, with closes at the size they were computed at between
    //    ordinary events, so that later events land before and after each.
    for (int i = 0; i < 600; ++i) {
      if (rng() % 12 == 0) {
        close(rng() % 2 ? "ent-a" : "ent-b", 2 + static_cast<int>(rng() % 4));
      } else {
        full.Apply(h.Next());
      }
    }
    // 2. Every month closed; 3. then only late facts about elders,
    //    enterprises and applications (no deliveries): whatever changes a
    //    closed month now is a fact effective in it, recorded late.
    for (const char* ent : {"ent-a", "ent-b"}) {
      for (int m = 2; m <= 5; ++m) close(ent, m);
    }
    for (int i = 0; i < 400; ++i) {
      RandomEvent ev = h.Next();
      bool about_deliveries = ev.json.find("delivered") != std::string::npos || ev.json.find("voided") != std::string::npos ||
                              ev.json.find("follow_up") != std::string::npos || ev.json.find("closed") != std::string::npos;
      if (about_deliveries) continue;
      if (full.Apply(ev) && rng() % 8 == 0) sizes.push_back(full.next_index);
    }
    sizes.push_back(full.next_index);
    for (size_t k = 0; k < sizes.size(); k += 3) {
      proj::Snapshot snap(full.store, full.next_index, sizes[k]);
      for (const char* ent : {"ent-a", "ent-b"}) {
        for (const char* month : {"2024-03", "2024-04", "2024-05", "2024-06"}) {
          auto st = proj::ComputeStatement(snap, ent, month);
          ASSERT_TRUE(st.ok()) << st.status().ToString();
          std::vector<std::tuple<std::string, int64_t, int64_t>> got;
          for (auto a : (*st)->get().getAdjustments()) got.emplace_back(a.getMonth().cStr(), a.getAccountedFen(), a.getNowFen());
          auto want = ExhaustiveAdjustments(snap, ent, month);
          EXPECT_EQ(got, want) << "seed " << seed << " size " << sizes[k] << " " << ent << " " << month;
          adjusted += want.size();
          ++compared;
        }
      }
    }
  }
  // The histories must exercise the rule: some statements carry adjustments.
  EXPECT_GT(adjusted, 10u) << "of " << compared << " statements";
}

}  // namespace
}  // namespace eldercare
