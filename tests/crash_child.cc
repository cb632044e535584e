// The crash campaign's child process (tests/crash_test.cc execs it, so that
// it starts clean rather than as a fork of a multi-threaded parent): appends
// programme events from two threads until it is killed, writing each
// acknowledgement to standard output only after Append returned.
//
// usage: crash_child LEDGER_DIR KEYS_DIR ROUND KILL_AT
//   KILL_AT > 0: the file system SIGKILLs this process at that write
//   operation inside RocksDB (tests/fault_fs.h); 0: the parent kills it.
#include <unistd.h>

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

namespace {

using eldercare::testing::ProgrammeFixture;

// A delivery of one of the world's elders, unique by id and evidence.
std::string Delivery(const std::string& id, int n) {
  int day = 1 + n % 28, hour = 8 + n % 9;
  char in[40], out[40];
  std::snprintf(in, sizeof in, "2024-03-%02dT%02d:%02d:00+08:00", day, hour, (n * 7) % 50);
  std::snprintf(out, sizeof out, "2024-03-%02dT%02d:%02d:00+08:00", day, hour + 1, (n * 7) % 50);
  const char* elders[] = {"E1", "E2", "E3"};
  return ProgrammeFixture::Delivery(id, elders[n % 3], "w" + std::to_string(n % 40), n % 2 ? "bathing" : "cleaning", in,
                                    out, 100000 + n);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace eldercare;
  if (argc != 5) {
    std::fprintf(stderr, "usage: crash_child LEDGER_DIR KEYS_DIR ROUND KILL_AT\n");
    return 2;
  }
  std::string path = argv[1], keys_dir = argv[2];
  int round = std::atoi(argv[3]);
  uint64_t kill_at = std::strtoull(argv[4], nullptr, 10);
  auto ent = PrivateKey::LoadPemFile(keys_dir + "/ent-a.pem");
  auto insp = PrivateKey::LoadPemFile(keys_dir + "/insp.pem");
  if (!ent.ok() || !insp.ok()) return 3;
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
  auto l = Ledger::Open(path, o);
  if (!l.ok()) {
    std::fprintf(stderr, "child: %s\n", l.status().ToString().c_str());
    return 4;
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
        for (int e = 0; e <= i % 7; ++e) lines += Delivery(prefix + "-" + std::to_string(e), round * 7919 + i * 13 + e) + "\n";
      }
      SubmissionBuilder b(writer);
      std::istringstream in(lines);
      if (!b.AddJsonLines(in).ok()) _exit(5);
      std::string id = "s-" + prefix;
      auto r = (*l)->Append(b.Sign(writer == "ent-a" ? *ent : *insp, id));
      if (!r.ok()) {
        std::fprintf(stderr, "child: %s\n", r.status().ToString().c_str());
        _exit(6);
      }
      // One write(2) per line: the two threads' lines never interleave.
      std::string ack = std::to_string(r->first_index) + " " + std::to_string(r->count) + " " + id + "\n";
      if (write(1, ack.data(), ack.size()) != static_cast<ssize_t>(ack.size())) _exit(7);
      if (i % 17 == 16 && !(*l)->Flush().ok()) _exit(8);  // SST and MANIFEST writes to be killed in, too
    }
  };
  std::thread first(upload, 0), second(upload, 1);
  first.join();
  second.join();
}
