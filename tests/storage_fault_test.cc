// Storage faults: a disk that fills up, a device whose syncs fail. Each
// gives a clear error naming the cause, no acknowledgement, and a ledger
// that reopens (on a healthy disk) and verifies, with everything
// acknowledged before the fault still there.
#include <gtest/gtest.h>

#include <sstream>
#include <thread>

#include "ledger/verifier.h"
#include "tests/fault_fs.h"
#include "tests/programme_util.h"

namespace eldercare {
namespace {

using testing::FailingFileSystem;
using testing::ProgrammeFixture;

struct Faulty {
  std::shared_ptr<FailingFileSystem> fs = std::make_shared<FailingFileSystem>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
};

std::string Day(int d, int visits) {
  std::string lines;
  for (int v = 0; v < visits; ++v) {
    char in[40], out[40];
    std::snprintf(in, sizeof in, "2024-03-%02dT%02d:00:00+08:00", d, 8 + v % 9);
    std::snprintf(out, sizeof out, "2024-03-%02dT%02d:50:00+08:00", d, 8 + v % 9);
    lines += ProgrammeFixture::Delivery("f" + std::to_string(d) + "-" + std::to_string(v), v % 2 ? "E1" : "E3",
                                        "w" + std::to_string(v), "bathing", in, out, d * 100 + v) +
             "\n";
  }
  return lines;
}

class StorageFault : public ::testing::Test {
 protected:
  void SetUp() override {
    f.EnterpriseAndContract("ent-a", "com-1");
    for (const char* e : {"E1", "E3"}) f.Elder(e, "1930-01-01");
    path = f.base().path();
    f.base().ledger.reset();
  }
  std::unique_ptr<Ledger> Open(rocksdb::Env* env) {
    LedgerOptions o;
    o.projector = &projector;
    o.env = env;
    auto l = Ledger::Open(path, o);
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    return l.ok() ? std::move(*l) : nullptr;
  }
  Result<AppendResult> Append(Ledger& l, const std::string& jsonl, const std::string& id) {
    SubmissionBuilder b("ent-a");
    std::istringstream in(jsonl);
    EXPECT_TRUE(b.AddJsonLines(in).ok());
    return l.Append(b.Sign(f.base().keys.at("ent-a"), id));
  }
  using Acked = std::vector<std::pair<std::string, AppendResult>>;
  // Appends `jsonl` as submission `id`, which must be acknowledged, and
  // remembers it among `acked`.
  void AppendAcked(Ledger& l, const std::string& jsonl, const std::string& id, Acked& acked) {
    auto r = Append(l, jsonl, id);
    ASSERT_TRUE(r.ok()) << id << ": " << r.status().ToString();
    acked.emplace_back(id, *r);
  }
  // After the fault: reopened on a healthy disk, it verifies, and holds
  // every acknowledged submission.
  void ExpectRecovered(const Acked& acked) {
    auto l = Open(nullptr);
    ASSERT_TRUE(l);
    for (const auto& [id, r] : acked) {
      ASSERT_LE(r.first_index + r.count, l->Size()) << id << " lost";
    }
    uint64_t size = l->Size();
    l.reset();
    auto report = VerifyLedgerDir(path, {});
    ASSERT_TRUE(report.ok) << report.error;
    EXPECT_EQ(report.size, size);
  }

  ProgrammeFixture f;
  proj::ProgrammeProjector projector;
  std::string path;
};

TEST_F(StorageFault, AFullDiskIsAClearErrorWithoutAcknowledgementAndTheLedgerRecovers) {
  Faulty disk;
  Acked acked;
  {
    auto l = Open(disk.env.get());
    ASSERT_TRUE(l);
    for (int d = 1; d <= 5; ++d) ASSERT_NO_FATAL_FAILURE(AppendAcked(*l, Day(d, 6), "ok-" + std::to_string(d), acked));
    uint64_t size = l->Size();
    disk.fs->FillAfter(3000);  // room for about one more day
    int refused = 0;
    for (int d = 6; d <= 12; ++d) {
      auto r = Append(*l, Day(d, 6), "late-" + std::to_string(d));
      if (r.ok()) {
        acked.emplace_back("late-" + std::to_string(d), *r);
        size = l->Size();
        continue;
      }
      ++refused;
      // The error says what happened, and nothing was acknowledged.
      EXPECT_NE(r.status().message().find("no space left on device"), std::string::npos) << r.status().ToString();
      EXPECT_EQ(l->Size(), size) << "a refused submission changed the size";
    }
    EXPECT_GE(refused, 5);
    EXPECT_GE(disk.fs->failures(), 1u);
  }
  ExpectRecovered(acked);
  // A retry after recovery is accepted (or recognised, if its bytes had
  // reached the disk before the fault): either way once.
  auto l = Open(nullptr);
  auto retry = Append(*l, Day(6, 6), "late-6");
  ASSERT_TRUE(retry.ok()) << retry.status().ToString();
  auto again = Append(*l, Day(6, 6), "late-6");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->first_index, retry->first_index);
}

TEST_F(StorageFault, FailingSyncsAreAClearErrorWithoutAcknowledgementAndTheLedgerRecovers) {
  Faulty disk;
  Acked acked;
  {
    auto l = Open(disk.env.get());
    ASSERT_TRUE(l);
    ASSERT_NO_FATAL_FAILURE(AppendAcked(*l, Day(1, 4), "ok-1", acked));
    uint64_t size = l->Size();
    disk.fs->FailSyncs();
    for (int d = 2; d <= 4; ++d) {
      auto bad = Append(*l, Day(d, 4), "bad-" + std::to_string(d));
      ASSERT_FALSE(bad.ok()) << "acknowledged without a successful sync";
      EXPECT_NE(bad.status().message().find("sync failed"), std::string::npos) << bad.status().ToString();
      EXPECT_EQ(l->Size(), size);
    }
    disk.fs->Heal();
    // A healed device does not make the same process trust its state again.
    // Whether the failed group reached the disk is unknown until a reopen
    // replays the WAL, so the process refuses, and says what to do.
    auto after = Append(*l, Day(5, 4), "after-heal");
    ASSERT_FALSE(after.ok());
    EXPECT_NE(after.status().message().find("stopped accepting writes after a storage error"), std::string::npos)
        << after.status().ToString();
    EXPECT_NE(after.status().message().find("reopened"), std::string::npos) << after.status().ToString();
  }
  ExpectRecovered(acked);
}

// A group is staged (folded, positioned, checked for duplicates) on top of
// the group still being written. Here the write of submission A is held at
// its sync while one AppendMany group arrives that depends on A: a delivery
// to the elder A registers, A again (a duplicate: A's positions) and A's id
// with other content (a conflict). Once the sync completes, all three are
// answered as if A had long been on disk.
TEST_F(StorageFault, AGroupIsStagedOnTopOfTheGroupBeingWritten) {
  Faulty disk;
  auto l = Open(disk.env.get());
  ASSERT_TRUE(l);
  auto keyed = [&](const std::string& writer, const std::string& json) {
    auto b = std::make_unique<SubmissionBuilder>(writer);
    std::istringstream in(json);
    EXPECT_TRUE(b->AddJsonLines(in).ok());
    return b;
  };
  const std::string elder =
      R"({"type":"elder_registered","elder_id":"E9","household_district":"dawukou","community":"com-1","birth_date":"1930-01-01","registered_on":"2024-01-02"})";
  const std::string other =
      R"({"type":"elder_registered","elder_id":"E10","household_district":"dawukou","community":"com-1","birth_date":"1931-01-01","registered_on":"2024-01-02"})";
  auto a = keyed("com-1", elder);
  disk.fs->HoldSyncs();
  Result<AppendResult> first = Status::FailedPrecondition("not run");
  std::thread writer_a([&] { first = l->Append(a->Sign(f.base().keys.at("com-1"), "a")); });
  ASSERT_TRUE(disk.fs->WaitForHeldSync(std::chrono::seconds(20))) << "A's write never reached its sync";
  uint64_t size = l->Size();

  auto again = keyed("com-1", elder);
  auto clash = keyed("com-1", other);
  auto delivery = keyed("ent-a",
                        ProgrammeFixture::Delivery("d-e9", "E9", "w1", "bathing", "2024-03-04T09:00:00+08:00",
                                                   "2024-03-04T09:50:00+08:00", 99));
  std::vector<schema::Submission::Reader> group{again->Sign(f.base().keys.at("com-1"), "a"),
                                                clash->Sign(f.base().keys.at("com-1"), "a"),
                                                delivery->Sign(f.base().keys.at("ent-a"), "d")};
  std::vector<Result<AppendResult>> results;
  std::thread writer_b([&] { results = l->AppendMany(group); });
  // Let the group be staged while A waits for its sync. (Were it staged only
  // after A's write, the test would still pass: it would then not test the
  // overlap, never fail falsely.)
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(l->Size(), size) << "acknowledged before its sync";
  disk.fs->ReleaseSyncs();
  writer_a.join();
  writer_b.join();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(results.size(), 3u);
  ASSERT_TRUE(results[0].ok()) << results[0].status().ToString();
  EXPECT_TRUE(results[0]->duplicate);
  EXPECT_EQ(results[0]->first_index, first->first_index);
  ASSERT_FALSE(results[1].ok());
  EXPECT_EQ(results[1].status().code(), Status::Code::kConflict) << results[1].status().ToString();
  ASSERT_TRUE(results[2].ok()) << "the delivery did not see the elder staged before it: " << results[2].status().ToString();
  EXPECT_EQ(results[2]->first_index, first->first_index + 1);
  EXPECT_EQ(l->Size(), first->first_index + 2);
  proj::ProgrammeProjector fresh;
  Status derived = l->CheckDerivedStores(&fresh);
  EXPECT_TRUE(derived.ok()) << derived.ToString();
  l.reset();
  ExpectRecovered({{"a", *first}, {"d", *results[2]}});
}

// A write that fails takes the group staged on top of it down too: nothing
// of either is acknowledged, and the ledger reopens without them.
TEST_F(StorageFault, AFailedWriteFailsTheGroupStagedOnTopOfIt) {
  Faulty disk;
  Acked acked;
  {
    auto l = Open(disk.env.get());
    ASSERT_TRUE(l);
    ASSERT_NO_FATAL_FAILURE(AppendAcked(*l, Day(1, 3), "ok-1", acked));
    uint64_t size = l->Size();
    disk.fs->HoldSyncs();
    Result<AppendResult> first = Status::FailedPrecondition("not run"), second = Status::FailedPrecondition("not run");
    std::thread a([&] { first = Append(*l, Day(2, 3), "held-2"); });
    ASSERT_TRUE(disk.fs->WaitForHeldSync(std::chrono::seconds(20)));
    std::thread b([&] { second = Append(*l, Day(3, 3), "staged-3"); });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    disk.fs->FailSyncs();
    disk.fs->ReleaseSyncs();
    a.join();
    b.join();
    ASSERT_FALSE(first.ok()) << "acknowledged without a successful sync";
    EXPECT_NE(first.status().message().find("sync failed"), std::string::npos) << first.status().ToString();
    ASSERT_FALSE(second.ok()) << "acknowledged on top of a failed write";
    EXPECT_EQ(l->Size(), size);
    disk.fs->Heal();
  }
  ExpectRecovered(acked);
  // The held group's bytes may have reached the WAL before its sync failed
  // (a reopen replays them: the whole group or nothing); the group staged on
  // top of it never went to the disk.
  auto l = Open(nullptr);
  ASSERT_TRUE(l);
  uint64_t acked_end = acked.back().second.first_index + acked.back().second.count;
  EXPECT_TRUE(l->Size() == acked_end || l->Size() == acked_end + 3) << l->Size();
}

}  // namespace
}  // namespace eldercare
