// The crash campaign. A child process appends programme events from two
// threads (enterprise days of deliveries, voids, follow-up calls, with the
// projection folded in the same atomic write, one group staged while the
// other is written, and now and then a flush to SST files) and is
// SIGKILLed, round after round on the same ledger:
//   - by the parent, at a random moment (during recovery, between writes, or
//     in the middle of one);
//   - by itself, at a random write operation inside RocksDB (a WAL append or
//     sync, an SST or MANIFEST write) through a file system that kills at the
//     Nth operation (tests/fault_fs.h).
// After every kill the ledger is reopened and checked:
//   - every acknowledged submission is present, at the positions it was
//     acknowledged at;
//   - no submission is partial (each one's events are all there, contiguous);
//   - verify is green (signatures, Merkle nodes, checkpoints);
//   - the projection state reflects the whole log and equals a rebuild.
//
// Kills: ELDERCARE_CRASH_KILLS (default 60, CI); scripts/test --long runs 240.
// The child is tests/crash_child.cc, exec'd fresh each round.
#include <gtest/gtest.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "ledger/entry.h"
#include "ledger/verifier.h"
#include "projections/digest.h"
#include "tests/programme_util.h"

namespace eldercare {
namespace {

using testing::ProgrammeFixture;

struct Ack {
  uint64_t first = 0;
  uint32_t count = 0;
  std::string id;
};

int Kills() {
  const char* v = std::getenv("ELDERCARE_CRASH_KILLS");
  return v ? std::max(1, std::atoi(v)) : 60;
}

std::string Digest(Ledger& l) {
  auto v = l.Projections();
  EXPECT_TRUE(v.ok());
  EXPECT_EQ(v->size, l.Size()) << "the projection does not reflect the whole log";
  proj::Snapshot s(*v->state, v->size, v->size);
  return HexEncode(proj::ComputeDigest(s).digest);
}

TEST(Crash, KilledAppendsLoseNothingAcknowledgedAndLeaveNoPartialSubmission) {
  // The world: actors, policy, an enterprise with a contract, three approved elders.
  ProgrammeFixture f;
  f.EnterpriseAndContract("ent-a", "com-1");
  for (const char* e : {"E1", "E2", "E3"}) f.ServedElder(e);
  const std::string path = f.base().path();
  const std::string keys_dir = f.base().dir.Sub("keys");
  std::filesystem::create_directories(keys_dir);
  ASSERT_TRUE(f.base().keys.at("ent-a").SavePemFile(keys_dir + "/ent-a.pem").ok());
  ASSERT_TRUE(f.base().keys.at("insp").SavePemFile(keys_dir + "/insp.pem").ok());
  f.base().ledger.reset();

  static proj::ProgrammeProjector projector;
  LedgerOptions reopen;
  reopen.projector = &projector;
  std::mt19937 rng(20241122);
  std::vector<Ack> acks;
  const int kills = Kills();
  int inside_rocksdb = 0, by_parent = 0, watchdog = 0, productive = 0;
  // The slowest time yet from a child's exec to its first acknowledgement.
  std::chrono::microseconds slowest_first_ack{0};
  for (int round = 0; round < kills; ++round) {
    bool self_kill = round % 2 == 1;
    uint64_t kill_at = self_kill ? 1 + rng() % 600 : 0;
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // A fresh process (not a fork of this multi-threaded one) for the child.
      dup2(fds[1], 1);
      close(fds[0]);
      close(fds[1]);
      std::string r = std::to_string(round), k = std::to_string(kill_at);
      execl(ELDERCARE_CRASH_CHILD, "crash_child", path.c_str(), keys_dir.c_str(), r.c_str(), k.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    // Read acknowledgements while the child runs (the pipe must never fill).
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    std::string text;
    auto drain = [&] {
      char buf[4096];
      for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
    };
    int status = 0;
    auto started = std::chrono::steady_clock::now();
    // The parent kills 5 ms after the exec, plus a random part of 300 ms or
    // of twice the slowest first acknowledgement seen so far, whichever is
    // longer: early enough to land in recovery now and then, late enough
    // that a child mostly gets to append however slowly it opens here (a
    // sanitized one on a slow machine took longer than 300 ms, and most
    // rounds then proved nothing).
    int64_t window = std::max<int64_t>(300000, 2 * slowest_first_ack.count());
    auto deadline = started + (self_kill ? std::chrono::seconds(20)
                                         : std::chrono::microseconds(5000 + static_cast<int64_t>(rng()) % window));
    bool acknowledged = false;
    while (waitpid(pid, &status, WNOHANG) == 0) {
      drain();
      if (!acknowledged && text.find('\n') != std::string::npos) {
        acknowledged = true;
        slowest_first_ack = std::max(slowest_first_ack, std::chrono::duration_cast<std::chrono::microseconds>(
                                                            std::chrono::steady_clock::now() - started));
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        kill(pid, SIGKILL);  // the parent's kill, or the watchdog of a self-kill round
        waitpid(pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    drain();
    close(fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "round " << round << ": the child exited by itself with " << WEXITSTATUS(status);
    if (self_kill && std::chrono::steady_clock::now() >= deadline) ++watchdog;
    (self_kill ? inside_rocksdb : by_parent) += 1;
    size_t before = acks.size();
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      Ack a;
      std::istringstream in(line);
      in >> a.first >> a.count >> a.id;
      acks.push_back(a);
    }
    if (acks.size() > before) ++productive;

    auto l = Ledger::Open(path, reopen);
    ASSERT_TRUE(l.ok()) << "round " << round << ": " << l.status().ToString();
    // Every acknowledged submission, where it was acknowledged.
    for (const Ack& a : acks) {
      ASSERT_LE(a.first + a.count, (*l)->Size()) << "round " << round << ": acknowledged submission " << a.id << " lost";
      for (uint32_t k = 0; k < a.count; ++k) {
        auto e = ParseEntry(*(*l)->EntryBytes(a.first + k));
        ASSERT_TRUE(e.ok());
        ASSERT_EQ(std::string(e->Root<schema::Entry>().getSubmissionId().cStr()), a.id) << "round " << round;
      }
    }
    // No partial submission: each one's events are all there, in order.
    std::string open_id;
    uint32_t expected_position = 0, count = 0;
    ASSERT_TRUE((*l)->ScanEntries(0, UINT64_MAX, [&](uint64_t index, std::string_view bytes) {
                      auto e = ParseEntry(std::string(bytes));
                      EXPECT_TRUE(e.ok());
                      auto r = e->Root<schema::Entry>();
                      if (expected_position == 0) {
                        open_id = r.getSubmissionId().cStr();
                        count = r.getCount();
                      }
                      EXPECT_EQ(std::string(r.getSubmissionId().cStr()), open_id) << "index " << index;
                      EXPECT_EQ(r.getPosition(), expected_position) << "index " << index;
                      expected_position = expected_position + 1 == count ? 0 : expected_position + 1;
                      return true;
                    }).ok());
    ASSERT_EQ(expected_position, 0u) << "round " << round << ": submission " << open_id << " is partial";
    // The projection equals a rebuild from the log.
    std::string incremental = Digest(**l);
    ASSERT_TRUE((*l)->RebuildProjections().ok());
    ASSERT_EQ(Digest(**l), incremental) << "round " << round << ": the projection differs from a rebuild";
    l->reset();
    auto report = VerifyLedgerDir(path, {});
    ASSERT_TRUE(report.ok) << "round " << round << ": " << report.error;
  }
  RecordProperty("kills", kills);
  RecordProperty("kills_inside_rocksdb_writes", inside_rocksdb);
  RecordProperty("acknowledged", static_cast<int>(acks.size()));
  std::printf("%d kills (%d inside RocksDB writes, %d at random moments), %zu acknowledged submissions, all present; "
              "%d rounds acknowledged something before the kill\n",
              kills, inside_rocksdb - watchdog, by_parent + watchdog, acks.size(), productive);
  // A child that never got going proves nothing: most rounds must have
  // written, and the in-write kills must have come from inside RocksDB.
  EXPECT_GT(productive, kills / 2) << "most children were killed before they appended anything";
  EXPECT_LT(watchdog, std::max(1, kills / 10)) << "self-kill rounds that never reached their write";
}

}  // namespace
}  // namespace eldercare
