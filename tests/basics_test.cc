// Small building blocks: the heap allocator, text encodings, UTF-8, times, keys, file writing, state overlays.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "ledger/allocator.h"
#include "ledger/bytes.h"
#include "ledger/crypto.h"
#include "ledger/file_io.h"
#include "ledger/state_store.h"
#include "ledger/submission.h"
#include "ledger/thread_pool.h"
#include "ledger/time_util.h"

namespace eldercare {
namespace {

// The allocator the ledger reports on is the one the program's malloc and
// new use: a build that links jemalloc but whose malloc is still glibc's (the
// library dropped at link time, or glibc's symbols found first) would show no
// change in jemalloc's statistics here.
TEST(Allocator, ReportsTheHeapTheProgramAllocatesFrom) {
#ifdef ELDERCARE_JEMALLOC
  EXPECT_EQ(allocator::Name(), "jemalloc");
#else
  EXPECT_NE(allocator::Name(), "jemalloc");
#endif
  constexpr size_t kSize = 16u << 20;
  allocator::HeapStats before = allocator::Stats();
  char* p = static_cast<char*>(std::malloc(kSize));
  ASSERT_NE(p, nullptr);
  std::memset(p, 1, kSize);
  asm volatile("" : : "r"(p) : "memory");  // the allocation is not optimised away
  allocator::HeapStats during = allocator::Stats();
  EXPECT_GE(during.in_use, before.in_use + kSize);
  std::free(p);
  allocator::ReleaseFreeMemory();
  allocator::HeapStats after = allocator::Stats();
  EXPECT_LE(after.in_use + kSize, during.in_use);
  if (allocator::Name() == "jemalloc") {
    EXPECT_GE(during.resident, kSize);
  }
}

TEST(Base64, DecodesOnlyCanonicalStandardBase64) {
  EXPECT_EQ(*Base64Decode("aGk="), Bytes({'h', 'i'}));
  EXPECT_EQ(Base64Encode(AsBytes("hi")), "aGk=");
  EXPECT_TRUE(Base64Decode("").ok());
  EXPECT_FALSE(Base64Decode("aGk").ok());      // length
  EXPECT_FALSE(Base64Decode("aG k").ok());     // space
  EXPECT_FALSE(Base64Decode("aGl=").ok());     // non-zero padding bits
  EXPECT_FALSE(Base64Decode("a-k=").ok());     // URL alphabet
  EXPECT_FALSE(Base64Decode("a=k=").ok());
}

TEST(Hex, RoundTripsAndRejectsJunk) {
  EXPECT_EQ(HexEncode(*HexDecode("00ff10AB")), "00ff10ab");
  EXPECT_FALSE(HexDecode("abc").ok());
  EXPECT_FALSE(HexDecode("zz").ok());
}

TEST(Utf8, AcceptsChineseRejectsMalformed) {
  EXPECT_TRUE(IsValidUtf8("安心养老服务中心"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xe5\xae"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\xf5\x80\x80\x80"));  // beyond U+10FFFF
}

TEST(Time, ParsesAndFormatsRfc3339) {
  auto t = ParseTimestamp("2024-03-01T08:30:00+08:00");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(FormatTimestamp(*t), "2024-03-01T00:30:00Z");
  EXPECT_EQ(FormatTimestampOffset(*t, kChinaOffsetMinutes), "2024-03-01T08:30:00+08:00");
  EXPECT_EQ(*ParseTimestamp("1970-01-01T00:00:00.5Z"), 500000);
  // Fractions show as many digits as they need; before the epoch too.
  EXPECT_EQ(FormatTimestamp(500000), "1970-01-01T00:00:00.5Z");
  EXPECT_EQ(FormatTimestamp(1), "1970-01-01T00:00:00.000001Z");
  EXPECT_EQ(FormatTimestamp(-1), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatTimestampOffset(*ParseTimestamp("2024-03-01T23:59:59.120Z"), kChinaOffsetMinutes),
            "2024-03-02T07:59:59.12+08:00");
  EXPECT_FALSE(ParseTimestamp("2024-03-01 08:30:00").ok());
  EXPECT_FALSE(ParseTimestamp("2024-02-30T08:30:00Z").ok());
  EXPECT_FALSE(ParseTimestamp("2024-03-01T08:30:00").ok());  // no offset
  EXPECT_FALSE(ParseTimestamp("2024-03-01T24:00:00Z").ok());
}

// Found by the envelope fuzz target: an instant near the ends of int64
// overflowed while being shown. Anything outside the years 0001-9999 now
// shows as out of range, and is refused at write time.
TEST(Time, ExtremeValuesShowAsOutOfRange) {
  EXPECT_EQ(FormatDate(kMinDay), "0001-01-01");
  EXPECT_EQ(FormatDate(kMaxDay), "9999-12-31");
  EXPECT_EQ(FormatTimestamp(kMinMicros), "0001-01-01T00:00:00Z");
  EXPECT_EQ(FormatTimestamp(kMaxMicros), "9999-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatTimestamp(INT64_MIN), "out of range (-9223372036854775808 us)");
  EXPECT_EQ(FormatTimestampOffset(kMaxMicros + 1, 480), "out of range (253402300800000000 us)");
  EXPECT_EQ(FormatDate(INT32_MAX), "out of range (day 2147483647)");
  EXPECT_FALSE(ParseDate("0000-12-31").ok());
  EXPECT_TRUE(ParseDate("0001-01-01").ok());
}

TEST(Time, DatesMonthsAndAges) {
  EXPECT_EQ(*ParseDate("1970-01-02"), 1);
  EXPECT_EQ(FormatDate(*ParseDate("2024-02-29")), "2024-02-29");
  EXPECT_FALSE(ParseDate("2023-02-29").ok());
  EXPECT_EQ(YearsBetween(*ParseDate("1944-03-01"), *ParseDate("2024-02-29")), 79);
  EXPECT_EQ(YearsBetween(*ParseDate("1944-03-01"), *ParseDate("2024-03-01")), 80);
  EXPECT_EQ(FormatMonth(*ParseMonth("2024-12")), "2024-12");
  EXPECT_EQ(FormatMonth(*ParseMonth("0001-01")), "0001-01");
  EXPECT_EQ(FormatMonth(*ParseMonth("9999-10")), "9999-10");
  EXPECT_EQ(FormatMonth(0), "1970-01");
  EXPECT_EQ(FormatMonth(-1), "1969-12");
  EXPECT_EQ(MonthOfDate(*ParseDate("2024-12-31")), *ParseMonth("2024-12"));
  EXPECT_EQ(FirstDayOfMonth(*ParseMonth("2024-03")), *ParseDate("2024-03-01"));
  // 23:30 UTC on 29 Feb is 1 March in China.
  EXPECT_EQ(DateOfTimestamp(*ParseTimestamp("2024-02-29T23:30:00Z"), kChinaOffsetMinutes), *ParseDate("2024-03-01"));
}

TEST(Keys, PemRoundTripSignVerify) {
  auto key = PrivateKey::Generate();
  ASSERT_TRUE(key.ok());
  auto again = PrivateKey::FromPem(key->ToPem());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->public_key(), key->public_key());
  Signature sig = key->Sign(AsBytes("message"));
  EXPECT_TRUE(key->public_key().Verify(AsBytes("message"), sig));
  EXPECT_FALSE(key->public_key().Verify(AsBytes("messagf"), sig));
  sig[10] ^= 1;
  EXPECT_FALSE(key->public_key().Verify(AsBytes("message"), sig));
  EXPECT_FALSE(PublicKey::FromBase64("AAAA").ok());
  EXPECT_FALSE(PrivateKey::FromPem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").ok());
}

TEST(Keys, SaveRefusesToOverwrite) {
  auto dir = std::filesystem::temp_directory_path() / ("eldercare-key-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "k.pem").string();
  auto key = *PrivateKey::Generate();
  ASSERT_TRUE(key.SavePemFile(path).ok());
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::group_read,
            std::filesystem::perms::none);
  EXPECT_FALSE(key.SavePemFile(path).ok());
  auto loaded = PrivateKey::LoadPemFile(path);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->public_key(), key.public_key());
  std::filesystem::remove_all(dir);
}

// Pages of `path` resident in the page cache (mincore over a mapping).
size_t ResidentPages(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  size_t size = std::filesystem::file_size(path), page = ::sysconf(_SC_PAGESIZE), resident = 0;
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  std::vector<unsigned char> vec((size + page - 1) / page);
  if (map != MAP_FAILED && ::mincore(map, size, vec.data()) == 0) {
    for (unsigned char v : vec) resident += v & 1;
  }
  if (map != MAP_FAILED) ::munmap(map, size);
  ::close(fd);
  return resident;
}

TEST(FileWriter, WritesEveryByteInOrderAcrossBuffersAndWindows) {
  auto dir = std::filesystem::temp_directory_path() / ("eldercare-fw-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "out.bin").string();
  // A 64 KiB write-behind window: a 3 MiB file passes through ~48 of them,
  // in pieces of random size, some larger than the window.
  auto w = FileWriter::Create(path, 0644, 64 << 10);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  std::mt19937 rng(3);
  std::string expected;
  while (expected.size() < (3u << 20)) {
    std::string piece(rng() % 2 == 0 ? rng() % 300 : rng() % (100 << 10), '\0');
    for (char& c : piece) c = static_cast<char>(rng());
    ASSERT_TRUE(w->Append(piece).ok());
    expected += piece;
    if (expected.size() >= (2u << 20) && expected.size() - piece.size() < (2u << 20)) {
      // While writing: only the last two windows (each at most the window
      // plus one oversized piece) may still be cached, not the 512 pages written.
      EXPECT_LT(ResidentPages(path), 2u * (64 + 100) / 4 + 2);
    }
  }
  EXPECT_EQ(w->bytes(), expected.size());
  ASSERT_TRUE(w->Finish().ok());
  // Written behind itself: what was written is no longer held in the page
  // cache (checked before reading it back, which brings it in again).
  EXPECT_LT(ResidentPages(path), 16u) << "of " << expected.size() / 4096 << " pages";
  EXPECT_EQ(*ReadFile(path), expected);
  EXPECT_GT(ResidentPages(path), expected.size() / 4096 / 2);  // the probe sees cached pages
  // Finished: no more appends; the error names the file.
  Status late = w->Append("x");
  EXPECT_EQ(late.code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(late.message().find(path), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(FileWriter, RefusesToOverwriteAndNamesWhatFailed) {
  auto dir = std::filesystem::temp_directory_path() / ("eldercare-fw2-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "manifest.json").string();
  ASSERT_TRUE(WriteNewFile(path, "first\n").ok());
  Status again = WriteNewFile(path, "second\n");
  EXPECT_EQ(again.code(), Status::Code::kIoError);
  EXPECT_NE(again.message().find("cannot create " + path), std::string::npos) << again.ToString();
  EXPECT_EQ(*ReadFile(path), "first\n");  // untouched
  const std::string missing = (dir / "no-such-dir" / "x").string();
  Status nodir = FileWriter::Create(missing).status();
  EXPECT_NE(nodir.message().find(missing), std::string::npos) << nodir.ToString();
  EXPECT_TRUE(SyncDirectory(dir.string()).ok());
  EXPECT_FALSE(SyncDirectory(missing).ok());
  std::filesystem::remove_all(dir);
}

TEST(Sha256, MatchesKnownAnswer) {
  EXPECT_EQ(HexEncode(Sha256(AsBytes("abc"))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256Hasher h;
  h.Update("a");
  h.Update("bc");
  EXPECT_EQ(HexEncode(h.Finish()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// WithCanonical hands over exactly capnp::canonicalize's bytes: for messages
// around the reused buffer's 1 MiB and past it, a small one after a large
// one (the buffer is zeroed only as far as it is used), an empty list and
// unset fields (canonical form truncates them).
TEST(Canonical, WithCanonicalGivesCanonicalizesBytes) {
  auto check = [](size_t digests, const std::string& writer) {
    capnp::MallocMessageBuilder msg;
    auto h = msg.initRoot<schema::SignedHeader>();
    if (!writer.empty()) h.setWriter(writer);
    auto list = h.initBodyDigests(static_cast<unsigned>(digests));
    for (size_t i = 0; i < digests; ++i) {
      Hash d = Sha256(AsBytes(std::to_string(i)));
      list.set(static_cast<unsigned>(i), capnp::Data::Reader(d.data(), d.size()));
    }
    kj::Array<capnp::word> want = capnp::canonicalize(h.asReader());
    std::string got = CanonicalBytes(h.asReader());
    ASSERT_EQ(got.size(), want.asBytes().size()) << digests << " digests";
    EXPECT_EQ(std::memcmp(got.data(), want.asBytes().begin(), got.size()), 0) << digests << " digests";
    EXPECT_EQ(WithCanonical(h.asReader(), [](ByteSpan b) { return Sha256(b); }),
              Sha256(ByteSpan(want.asBytes().begin(), want.asBytes().size())));
  };
  for (size_t n : {0, 1, 3, 1000, 20000, 30000, 40000, 2, 0}) check(n, n % 2 ? "ent-a" : "");
}

// The hash-table overlay (a rebuild's chunks) answers every read, scan and
// ordered listing as the ordered one (group commits) does, over the same base.
TEST(StateStore, MovingAnOverlayEqualsCopyingIt) {
  std::mt19937 rng(11);
  auto key = [&] { return "k" + std::to_string(rng() % 50); };
  for (int round = 0; round < 20; ++round) {
    MemoryStateStore base;
    for (int i = 0; i < 30; ++i) base.Put(key(), "base");
    // A group over the base, and a submission over the group: keys put or
    // deleted in both, in one, or in neither.
    OverlayStateStore copied(&base), moved(&base);
    for (int i = 0; i < 40; ++i) {
      std::string k = key();
      if (rng() % 3 == 0) {
        copied.Delete(k);
        moved.Delete(k);
      } else {
        copied.Put(k, "group" + std::to_string(i));
        moved.Put(k, "group" + std::to_string(i));
      }
    }
    OverlayStateStore sub_copied(&copied), sub_moved(&moved);
    for (int i = 0; i < 40; ++i) {
      std::string k = key();
      if (rng() % 3 == 0) {
        sub_copied.Delete(k);
        sub_moved.Delete(k);
      } else {
        sub_copied.Put(k, "sub" + std::to_string(i));
        sub_moved.Put(k, "sub" + std::to_string(i));
      }
    }
    sub_copied.MergeInto(copied);
    std::move(sub_moved).MoveInto(moved);
    EXPECT_EQ(sub_moved.size(), 0u);
    ASSERT_EQ(moved.changes(), copied.changes()) << "round " << round;
    for (int i = 0; i < 50; ++i) {
      std::string k = "k" + std::to_string(i);
      EXPECT_EQ(moved.Get(k), copied.Get(k)) << k;
    }
  }
}

TEST(StateStore, HashOverlayAnswersAsTheOrderedOverlay) {
  std::mt19937 rng(7);
  auto key = [&] {
    // Short keys and long ones sharing their first 8, 16 or 24 bytes, zero
    // bytes inside, high bytes: what the sort by a key's first 24 bytes
    // (three words) must order, a word's end falling anywhere in a key.
    static const std::string kMonth = std::string("dl\0", 3) + std::string("2024-03\0", 8);  // 11 bytes
    static const std::string kElder = kMonth + std::string("E0001\0", 6);                     // 17 bytes
    static const std::string kPrefixes[] = {"a",
                                            "ab",
                                            "b",
                                            "ba\xff",
                                            "",
                                            std::string("a\0", 2),
                                            std::string("dl\0E0001\0", 10),
                                            "dl\xff\xff\xff\xff\xff\xff\xff",
                                            kElder,
                                            kElder + "\x01\x02",
                                            kElder + std::string(7, '\xff'),
                                            kElder + std::string(7, '\0'),
                                            kMonth + "E0002"};
    constexpr size_t kCount = sizeof(kPrefixes) / sizeof(kPrefixes[0]);
    return kPrefixes[rng() % kCount] + std::to_string(rng() % 40);
  };
  for (int round = 0; round < 20; ++round) {
    MemoryStateStore base;
    for (int i = 0; i < 60; ++i) base.Put(key(), "base" + std::to_string(i));
    OverlayStateStore ordered(&base);
    HashOverlayStateStore hashed(&base);
    for (int i = 0; i < 200; ++i) {
      std::string k = key();
      if (rng() % 4 == 0) {
        ordered.Delete(k);
        hashed.Delete(k);
      } else {
        ordered.Put(k, "v" + std::to_string(i));
        hashed.Put(k, "v" + std::to_string(i));
      }
      std::string probe = key();
      ASSERT_EQ(ordered.Get(probe), hashed.Get(probe)) << probe;
      ASSERT_EQ(ordered.Contains(probe), hashed.Contains(probe)) << probe;
      std::string prefix = key().substr(0, rng() % 3), start = rng() % 2 ? key() : std::string();
      auto scan = [&](const StateReader& s) {
        std::vector<std::pair<std::string, std::string>> out;
        s.Scan(prefix, [&](std::string_view k2, std::string_view v) {
          out.emplace_back(k2, v);
          return out.size() < 25;  // and stopping early
        }, start);
        return out;
      };
      ASSERT_EQ(scan(ordered), scan(hashed)) << "prefix '" << prefix << "' from '" << start << "'";
    }
    std::vector<std::pair<std::string, std::optional<std::string>>> a(ordered.changes().begin(), ordered.changes().end()),
        b;
    for (const auto* c : hashed.SortedChanges()) b.emplace_back(c->first, c->second);
    EXPECT_EQ(a, b);
    EXPECT_EQ(ordered.size(), hashed.size());
  }
}

// Tasks that wait for one another: each must start without waiting for an
// earlier one to end (a commit waits its turn behind the commits queued
// before it).
TEST(ThreadCache, EveryTaskStartsAtOnce) {
  constexpr int kTasks = 4;
  std::mutex mu;
  std::condition_variable cv;
  int arrived = 0, met = 0;
  {
    ThreadCache cache;
    for (int i = 0; i < kTasks; ++i) {
      cache.Run([&] {
        std::unique_lock<std::mutex> l(mu);
        ++arrived;
        cv.notify_all();
        // Bounded, so that a cache that runs tasks one after another fails
        // here instead of hanging.
        if (cv.wait_for(l, std::chrono::seconds(20), [&] { return arrived == kTasks; })) ++met;
      });
    }
    EXPECT_EQ(cache.threads(), static_cast<size_t>(kTasks));
  }  // waits for the tasks
  EXPECT_EQ(met, kTasks);
}

// One task after another runs on one thread: a task's future is ready only
// once its thread is idle again, so the next task finds it free.
TEST(ThreadCache, KeepsItsThreadForTheNextTask) {
  ThreadCache cache;
  std::set<std::thread::id> ran_on;
  for (int i = 0; i < 50; ++i) {
    cache.Run([&] { ran_on.insert(std::this_thread::get_id()); }).wait();
  }
  EXPECT_EQ(cache.threads(), 1u);
  EXPECT_EQ(ran_on.size(), 1u);
}

}  // namespace
}  // namespace eldercare
