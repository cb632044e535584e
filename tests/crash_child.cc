// The crash campaign's child process (tests/crash_test.cc execs it, so that
// it starts clean rather than as a fork of a multi-threaded parent): appends
// programme events from two threads until it is killed, writing each
// acknowledgement to standard output only after Append returned.
//
// usage: crash_child LEDGER_DIR KEYS_DIR ROUND KILL_AT [rebuild]
//   KILL_AT > 0: the file system SIGKILLs this process at that write
//   operation inside RocksDB (tests/fault_fs.h); 0: the parent kills it.
//   rebuild: instead of appending, fold the projections again and again
//   (the open itself folds them first if they are stale), writing
//   "rebuilt" after each, until killed.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <thread>

#include "ledger/client.h"
#include "ledger/ledger.h"
#include "projections/fold.h"
#include "tests/fault_fs.h"
#include "tests/programme_util.h"

using eldercare::testing::ProgrammeFixture;

// A failure the child cannot go on from: says on standard error what failed
// (the parent's test output shows it beside the exit code) and exits with
// `code` at once (_exit: no destructors racing the other thread).
#define CHILD_CHECK(cond, code, what)                                    \
  do {                                                                   \
    if (!(cond)) {                                                       \
      std::fprintf(stderr, "child: %s\n", std::string(what).c_str());    \
      _exit(code);                                                       \
    }                                                                    \
  } while (0)

int main(int argc, char** argv) {
  using namespace eldercare;
  const bool rebuild = argc == 6 && std::string(argv[5]) == "rebuild";
  if (argc != 5 && !rebuild) {
    std::fprintf(stderr, "usage: crash_child LEDGER_DIR KEYS_DIR ROUND KILL_AT [rebuild]\n");
    return 2;
  }
  std::string path = argv[1], keys_dir = argv[2];
  int round = std::atoi(argv[3]);
  uint64_t kill_at = std::strtoull(argv[4], nullptr, 10);
  auto ent = PrivateKey::LoadPemFile(keys_dir + "/ent-a.pem");
  auto insp = PrivateKey::LoadPemFile(keys_dir + "/insp.pem");
  CHILD_CHECK(ent.ok() && insp.ok(), 3, "the keys in " + keys_dir + " do not load");
  static proj::ProgrammeProjector projector;
  std::shared_ptr<eldercare::testing::KillingFileSystem> fs;
  std::unique_ptr<rocksdb::Env> env;
  LedgerOptions o;
  o.projector = &projector;
  if (kill_at > 0) {
    fs = std::make_shared<eldercare::testing::KillingFileSystem>(kill_at);
    env = rocksdb::NewCompositeEnv(fs);
    o.env = env.get();
  }
  // Small chunks: a rebuild of a few thousand entries passes through many.
  o.rebuild_chunk_keys = 64;
  auto l = Ledger::Open(path, o);
  CHILD_CHECK(l.ok(), 4, l.status().ToString());
  if (rebuild) {
    for (;;) {
      Status s = (*l)->RebuildProjections();
      CHILD_CHECK(s.ok(), 9, s.ToString());
      CHILD_CHECK(write(1, "rebuilt\n", 8) == 8, 7, "writing to the parent failed");
      // A pause with the projection whole, for the parent's kill to land in.
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  // Two platforms upload at once, so that the ledger stages one group while
  // the other is written (two groups in flight) when the kill comes. Each
  // thread takes every other submission number.
  auto upload = [&](int thread) {
    for (int i = thread;; i += 2) {
      std::string prefix = "r" + std::to_string(round) + "-" + std::to_string(i);
      std::string writer = "ent-a", lines;
      if (i % 11 == 5) {
        // A void of a delivery this thread had acknowledged (the last day it uploaded).
        int j = i - 2;
        while (j % 11 == 5 || j % 13 == 7) j -= 2;
        lines = R"({"type":"delivery_voided","delivery_id":"r)" + std::to_string(round) + "-" + std::to_string(j) +
                R"(-0","enterprise_id":"ent-a","reason":"entered twice","voided_on":"2024-03-30"})";
      } else if (i % 13 == 7) {
        writer = "insp";
        lines = R"({"type":"follow_up_call","call_id":")" + prefix +
                R"(","elder_id":"E1","enterprise_id":"ent-a","called_at":"2024-04-02T10:00:00+08:00","month":"2024-03","outcome":"confirmed","reported_visits":3})";
      } else {
        for (int e = 0; e <= i % 7; ++e) {
          lines += ProgrammeFixture::MarchDelivery(prefix + "-" + std::to_string(e), round * 7919 + i * 13 + e) + "\n";
        }
      }
      SubmissionBuilder b(writer);
      std::istringstream in(lines);
      Status added = b.AddJsonLines(in);
      CHILD_CHECK(added.ok(), 5, added.ToString());
      std::string id = "s-" + prefix;
      auto r = (*l)->Append(b.Sign(writer == "ent-a" ? *ent : *insp, id));
      CHILD_CHECK(r.ok(), 6, r.status().ToString());
      // One write(2) per line: the two threads' lines never interleave.
      std::string ack = std::to_string(r->first_index) + " " + std::to_string(r->count) + " " + id + "\n";
      bool sent = write(1, ack.data(), ack.size()) == static_cast<ssize_t>(ack.size());
      CHILD_CHECK(sent, 7, "writing to the parent failed");
      if (i % 17 == 16) {  // SST and MANIFEST writes to be killed in, too
        Status flushed = (*l)->Flush();
        CHILD_CHECK(flushed.ok(), 8, flushed.ToString());
      }
    }
  };
  std::thread first(upload, 0), second(upload, 1);
  first.join();
  second.join();
}
