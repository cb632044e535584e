// What the ledger's RocksDB code shares: RocksDB's status as the ledger's,
// and the per-thread switch for RocksDB's perf counters. Internal to
// ledger/.
#ifndef ELDERCARE_LEDGER_ROCKS_UTIL_H_
#define ELDERCARE_LEDGER_ROCKS_UTIL_H_

#include <rocksdb/status.h>

#include <string>

#include "ledger/status.h"

namespace eldercare {

// Ok, or `what` and RocksDB's message: Corruption for a corruption, IoError
// for anything else.
Status FromRocks(const rocksdb::Status& s, const std::string& what);

// RocksDB counts every key comparison, block read and look-up in a
// thread-local perf context unless the calling thread turns that off (its
// default level is kEnableCount), and nothing here reads those counts. From
// the shared librocksdb each count costs two thread-local look-ups through
// __tls_get_addr: 5.5% of a 1M rebuild's samples, most of it under memtable
// insertion (a key comparison each). The setting is per thread: every path
// that reads or writes in bulk calls this first (once a thread, then a
// check of one flag). RocksDB's own flush and compaction threads still count.
void NoRocksPerfCounters();

}  // namespace eldercare

#endif  // ELDERCARE_LEDGER_ROCKS_UTIL_H_
