// Crash consistency of appends: a child process appends as fast as it can and
// is SIGKILLed at a random moment; after each kill, every acknowledged
// submission is in the log, no submission is partial, and verify is green.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <sstream>
#include <thread>

#include "ledger/entry.h"
#include "ledger/verifier.h"
#include "tests/test_util.h"

namespace eldercare {
namespace {

using testing::KeyRegisteredJson;

struct Ack {
  uint64_t first;
  uint32_t count;
  std::string id;
};

// Runs in the child: append 1..5-event submissions until killed; report each
// acknowledgement on `fd` only after Append returned.
[[noreturn]] void AppendUntilKilled(const std::string& path, const PrivateKey& op, int fd, int round) {
  auto l = Ledger::Open(path);
  if (!l.ok()) _exit(3);
  for (int i = 0;; ++i) {
    SubmissionBuilder b("operator");
    std::string lines;
    for (int e = 0; e <= i % 5; ++e) {
      lines += KeyRegisteredJson("r" + std::to_string(round) + "-" + std::to_string(i) + "-" + std::to_string(e),
                                 "enterprise", PrivateKey::Generate()->public_key()) +
               "\n";
    }
    std::istringstream in(lines);
    if (!b.AddJsonLines(in).ok()) _exit(4);
    std::string id = "r" + std::to_string(round) + "-s" + std::to_string(i);
    auto r = (*l)->Append(b.Sign(op, id));
    if (!r.ok()) _exit(5);
    std::string ack = std::to_string(r->first_index) + " " + std::to_string(r->count) + " " + id + "\n";
    if (write(fd, ack.data(), ack.size()) != static_cast<ssize_t>(ack.size())) _exit(6);
  }
}

TEST(Crash, KilledAppendsLoseNothingAcknowledgedAndLeaveNoPartialSubmission) {
  testing::TempDir dir;
  PrivateKey op = *PrivateKey::Generate();
  std::string path = dir.Sub("ledger");
  ASSERT_TRUE(Ledger::Create(path, {"crash.example/l", "operator", ""}, op).ok());
  std::mt19937 rng(2024);
  std::vector<Ack> all_acks;
  constexpr int kRounds = 12;
  for (int round = 0; round < kRounds; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      AppendUntilKilled(path, op, fds[1], round);
    }
    close(fds[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 180));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited by itself with " << WEXITSTATUS(status);
    std::string acks;
    char buf[4096];
    for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) acks.append(buf, static_cast<size_t>(n));
    close(fds[0]);
    std::istringstream lines(acks);
    for (std::string line; std::getline(lines, line);) {
      Ack a;
      std::istringstream f(line);
      f >> a.first >> a.count >> a.id;
      all_acks.push_back(a);
    }

    auto l = Ledger::Open(path);
    ASSERT_TRUE(l.ok()) << "round " << round << ": " << l.status().ToString();
    for (const Ack& a : all_acks) {
      ASSERT_LE(a.first + a.count, (*l)->Size()) << "acknowledged submission " << a.id << " lost";
      for (uint32_t k = 0; k < a.count; ++k) {
        auto e = ParseEntry(*(*l)->EntryBytes(a.first + k));
        ASSERT_TRUE(e.ok());
        EXPECT_EQ(std::string(e->Root<schema::Entry>().getSubmissionId().cStr()), a.id);
      }
    }
    l->reset();
    auto report = VerifyLedgerDir(path, {});
    ASSERT_TRUE(report.ok) << "round " << round << ": " << report.error;
  }
  RecordProperty("acknowledged", static_cast<int>(all_acks.size()));
  EXPECT_GT(all_acks.size(), size_t{kRounds}) << "the child barely appended; the test proves little";
}

}  // namespace
}  // namespace eldercare
