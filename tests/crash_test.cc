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
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
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

// One run of the child: what it wrote to standard output, how it ended,
// whether it was still alive at its deadline, and how long after the exec
// its first line came (zero if none did).
struct ChildRun {
  std::string out;
  int status = 0;
  bool hit_deadline = false;
  std::chrono::microseconds first_line{0};
};

// Execs crash_child with `args` and reads its lines while it runs (the pipe
// must never fill) until it dies; `deadline` after the exec it is SIGKILLed
// (the parent's kill, or the watchdog of a child meant to kill itself).
ChildRun RunChild(const std::vector<std::string>& args, std::chrono::microseconds deadline) {
  ChildRun run;
  // Built before the fork: the child of a multi-threaded process may not allocate.
  std::vector<char*> argv{const_cast<char*>("crash_child")};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int fds[2];
  if (pipe(fds) != 0) {
    ADD_FAILURE() << "pipe failed";
    return run;
  }
  pid_t pid = fork();
  if (pid < 0) {
    ADD_FAILURE() << "fork failed";
    return run;
  }
  if (pid == 0) {
    // A fresh process (not a fork of this multi-threaded one) for the child.
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    execv(ELDERCARE_CRASH_CHILD, argv.data());
    _exit(127);
  }
  close(fds[1]);
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  auto drain = [&] {
    char buf[4096];
    for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;)
      run.out.append(buf, static_cast<size_t>(n));
  };
  auto started = std::chrono::steady_clock::now();
  while (waitpid(pid, &run.status, WNOHANG) == 0) {
    drain();
    auto now = std::chrono::steady_clock::now();
    if (run.first_line.count() == 0 && run.out.find('\n') != std::string::npos) {
      run.first_line = std::chrono::duration_cast<std::chrono::microseconds>(now - started);
    }
    if (now >= started + deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &run.status, 0);
      run.hit_deadline = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  drain();
  close(fds[0]);
  return run;
}

// Saves the keys the child signs with beside the ledger and closes the
// ledger, for the children to open; returns the keys' directory.
std::string HandOverToChildren(ProgrammeFixture& f) {
  const std::string keys_dir = f.base().dir.Sub("keys");
  std::filesystem::create_directories(keys_dir);
  EXPECT_TRUE(f.base().keys.at("ent-a").SavePemFile(keys_dir + "/ent-a.pem").ok());
  EXPECT_TRUE(f.base().keys.at("insp").SavePemFile(keys_dir + "/insp.pem").ok());
  f.base().ledger.reset();
  return keys_dir;
}

TEST(Crash, KilledAppendsLoseNothingAcknowledgedAndLeaveNoPartialSubmission) {
  ProgrammeFixture f;
  f.MarchWorld();
  const std::string path = f.base().path();
  const std::string keys_dir = HandOverToChildren(f);

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
    // The parent kills 5 ms after the exec, plus a random part of 300 ms or
    // of twice the slowest first acknowledgement seen so far, whichever is
    // longer: early enough to land in recovery now and then, late enough
    // that a child mostly gets to append however slowly it opens here (a
    // sanitized one on a slow machine took longer than 300 ms, and most
    // rounds then proved nothing).
    int64_t window = std::max<int64_t>(300000, 2 * slowest_first_ack.count());
    ChildRun run = RunChild(
        {path, keys_dir, std::to_string(round), std::to_string(kill_at)},
        self_kill ? std::chrono::microseconds(std::chrono::seconds(20))
                  : std::chrono::microseconds(5000 + static_cast<int64_t>(rng()) % window));
    slowest_first_ack = std::max(slowest_first_ack, run.first_line);
    ASSERT_TRUE(WIFSIGNALED(run.status) && WTERMSIG(run.status) == SIGKILL)
        << "round " << round << ": the child exited by itself with " << WEXITSTATUS(run.status);
    if (self_kill && run.hit_deadline) ++watchdog;
    const std::string& text = run.out;
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
  std::printf(
      "%d kills (%d inside RocksDB writes, %d at random moments), %zu acknowledged submissions, "
      "all present; %d rounds acknowledged something before the kill\n",
      kills, inside_rocksdb - watchdog, by_parent + watchdog, acks.size(), productive);
  // A child that never got going proves nothing: most rounds must have
  // written, and the in-write kills must have come from inside RocksDB.
  EXPECT_GT(productive, kills / 2) << "most children were killed before they appended anything";
  EXPECT_LT(watchdog, std::max(1, kills / 10)) << "self-kill rounds that never reached their write";
}

// Killed rebuilds. A rebuild writes the projection without the write-ahead
// log (it is derived from the log, which it does not touch) and says it is
// whole only once it is in table files. A child folds a ledger's
// projections again and again and is SIGKILLed -- by the parent at a random
// moment, or by itself at a random write inside RocksDB -- round after round.
// After every kill:
//   - the log is as it was: same size, same root;
//   - a ledger that says its projection is whole holds the whole projection
//     (the digest of the rebuild before the campaign); one that does not
//     says a rebuild was interrupted;
//   - an open that folds stale projections again restores that digest.
TEST(Crash, KilledRebuildsLeaveTheProjectionWholeOrSaidToBeStale) {
  ProgrammeFixture f;
  f.MarchWorld();
  // A history of deliveries, voids and calls: a few thousand projection keys.
  for (int i = 0; i < 150; ++i) {
    std::string lines;
    for (int e = 0; e < 12; ++e) {
      lines += ProgrammeFixture::MarchDelivery("d" + std::to_string(i) + "-" + std::to_string(e),
                                               i * 12 + e) +
               "\n";
    }
    f.Expect("ent-a", lines);
    if (i % 10 == 9) {
      f.Expect(
          "ent-a",
          R"({"type":"delivery_voided","delivery_id":"d)" + std::to_string(i) +
              R"(-0","enterprise_id":"ent-a","reason":"entered twice","voided_on":"2024-03-30"})");
    }
  }
  f.Expect(
      "insp",
      R"({"type":"follow_up_call","call_id":"c1","elder_id":"E1","enterprise_id":"ent-a","called_at":"2024-04-02T10:00:00+08:00","month":"2024-03","outcome":"confirmed","reported_visits":3})");
  const uint64_t size = f.ledger().Size();
  auto root = f.ledger().RootAt(size);
  ASSERT_TRUE(root.ok());
  const std::string whole = Digest(f.ledger());
  const std::string path = f.base().path();
  const std::string keys_dir = HandOverToChildren(f);

  static proj::ProgrammeProjector projector;
  std::mt19937 rng(20261207);
  const int kills = std::max(8, Kills() / 2);
  int said_whole = 0, said_stale = 0, watchdog = 0, rebuilds_completed = 0;
  for (int round = 0; round < kills; ++round) {
    bool self_kill = round % 2 == 1;
    // A rebuild of this ledger makes a few dozen file writes (none for its
    // chunks, which skip the write-ahead log): the child rebuilds until one
    // of these lands.
    uint64_t kill_at = self_kill ? 1 + rng() % 300 : 0;
    ChildRun run =
        RunChild({path, keys_dir, std::to_string(round), std::to_string(kill_at), "rebuild"},
                 self_kill ? std::chrono::microseconds(std::chrono::seconds(20))
                           : std::chrono::microseconds(5000 + rng() % 400000));
    ASSERT_TRUE(WIFSIGNALED(run.status) && WTERMSIG(run.status) == SIGKILL)
        << "round " << round << ": the child exited by itself with " << WEXITSTATUS(run.status);
    if (self_kill && run.hit_deadline) ++watchdog;
    for (size_t at = 0; (at = run.out.find("rebuilt\n", at)) != std::string::npos; at += 8)
      ++rebuilds_completed;

    // As the kill left it, before anything folds again.
    {
      LedgerOptions look;
      look.projector = &projector;
      look.rebuild_stale_projections = false;
      auto l = Ledger::Open(path, look);
      ASSERT_TRUE(l.ok()) << "round " << round << ": " << l.status().ToString();
      ASSERT_EQ((*l)->Size(), size) << "round " << round << ": a rebuild changed the log";
      auto r = (*l)->RootAt(size);
      ASSERT_TRUE(r.ok());
      ASSERT_EQ(*r, *root) << "round " << round << ": a rebuild changed the log";
      if ((*l)->StaleProjections().empty()) {
        ++said_whole;
        ASSERT_EQ(Digest(**l), whole)
            << "round " << round << ": the ledger says its projection is whole, and it is not";
      } else {
        ++said_stale;
        EXPECT_NE((*l)->StaleProjections().find("interrupted"), std::string::npos)
            << "round " << round << ": " << (*l)->StaleProjections();
      }
    }
    LedgerOptions reopen;
    reopen.projector = &projector;
    auto l = Ledger::Open(path, reopen);
    ASSERT_TRUE(l.ok()) << "round " << round << ": " << l.status().ToString();
    ASSERT_EQ(Digest(**l), whole) << "round " << round
                                  << ": folding again after the kill gave another projection";
  }
  std::printf(
      "%d kills of rebuilds: the projection was whole after %d, said to be stale after %d; %d "
      "rebuilds completed\n",
      kills, said_whole, said_stale, rebuilds_completed);
  // Both outcomes were met, and the in-write kills came from inside RocksDB.
  EXPECT_GT(said_stale, 0) << "no kill landed inside a rebuild";
  EXPECT_GT(said_whole, 0) << "no kill landed between rebuilds";
  EXPECT_LT(watchdog, std::max(1, kills / 10)) << "self-kill rounds that never reached their write";
}

}  // namespace
}  // namespace eldercare
