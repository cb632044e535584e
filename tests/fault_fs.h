// RocksDB file systems that misbehave on purpose, for the crash and
// storage-fault campaigns. Every file RocksDB writes (WAL, SST, MANIFEST,
// CURRENT, OPTIONS) goes through NewWritableFile, so wrapping it reaches
// every write the database makes.
//
//   KillingFileSystem  SIGKILLs the process at the Nth write operation
//                      (append, flush, sync, close): a crash *inside* a
//                      RocksDB write, at a point chosen by the test.
//   FailingFileSystem  reports "no space left on device" once a byte budget
//                      is spent, or fails every sync once armed: a full disk
//                      or a dying device, with the process still alive. It
//                      can also hold syncs until released: a slow device, on
//                      which a write stays in flight while a test acts.
#ifndef ELDERCARE_TESTS_FAULT_FS_H_
#define ELDERCARE_TESTS_FAULT_FS_H_

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

namespace eldercare::testing {

// Counts write operations across every file; at operation `kill_at` (1-based)
// the process receives SIGKILL before the operation reaches the disk.
class KillingFileSystem : public rocksdb::FileSystemWrapper {
 public:
  explicit KillingFileSystem(uint64_t kill_at)
      : rocksdb::FileSystemWrapper(rocksdb::FileSystem::Default()), kill_at_(kill_at) {}
  const char* Name() const override { return "KillingFileSystem"; }

  void Tick() {
    if (++ops_ == kill_at_) raise(SIGKILL);
  }

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r, rocksdb::IODebugContext* dbg) override {
    Tick();
    std::unique_ptr<rocksdb::FSWritableFile> inner;
    auto s = target()->NewWritableFile(f, o, &inner, dbg);
    if (s.ok()) *r = std::make_unique<File>(std::move(inner), this);
    return s;
  }

 private:
  class File : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile>&& f, KillingFileSystem* fs)
        : rocksdb::FSWritableFileOwnerWrapper(std::move(f)), fs_(fs) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& d, const rocksdb::IOOptions& o, rocksdb::IODebugContext* g) override {
      fs_->Tick();
      return target()->Append(d, o, g);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& d, const rocksdb::IOOptions& o, const rocksdb::DataVerificationInfo& v,
                             rocksdb::IODebugContext* g) override {
      fs_->Tick();
      return target()->Append(d, o, v, g);
    }
    rocksdb::IOStatus Flush(const rocksdb::IOOptions& o, rocksdb::IODebugContext* g) override {
      fs_->Tick();
      return target()->Flush(o, g);
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* g) override {
      fs_->Tick();
      return target()->Sync(o, g);
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* g) override {
      fs_->Tick();
      return target()->Fsync(o, g);
    }
    rocksdb::IOStatus Close(const rocksdb::IOOptions& o, rocksdb::IODebugContext* g) override {
      fs_->Tick();
      return target()->Close(o, g);
    }

   private:
    KillingFileSystem* fs_;
  };

  std::atomic<uint64_t> ops_{0};
  const uint64_t kill_at_;
};

// A disk that fills up, or whose syncs start failing.
class FailingFileSystem : public rocksdb::FileSystemWrapper {
 public:
  FailingFileSystem() : rocksdb::FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "FailingFileSystem"; }

  // From now on at most `bytes` more may be appended; then every append is
  // "no space left on device".
  void FillAfter(uint64_t bytes) { budget_ = static_cast<int64_t>(bytes); }
  // From now on every sync fails with an I/O error.
  void FailSyncs() { fail_syncs_ = true; }
  void Heal() {
    budget_ = -1;
    fail_syncs_ = false;
  }
  uint64_t failures() const { return failures_; }
  // From now on every sync waits until ReleaseSyncs.
  void HoldSyncs() {
    std::lock_guard<std::mutex> l(hold_mu_);
    hold_ = true;
  }
  void ReleaseSyncs() {
    {
      std::lock_guard<std::mutex> l(hold_mu_);
      hold_ = false;
    }
    hold_cv_.notify_all();
  }
  // Waits until a sync is being held; false after `timeout`.
  bool WaitForHeldSync(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> l(hold_mu_);
    return hold_cv_.wait_for(l, timeout, [&] { return held_ > 0; });
  }

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r, rocksdb::IODebugContext* dbg) override {
    std::unique_ptr<rocksdb::FSWritableFile> inner;
    auto s = target()->NewWritableFile(f, o, &inner, dbg);
    if (s.ok()) *r = std::make_unique<File>(std::move(inner), this);
    return s;
  }

 private:
  rocksdb::IOStatus Spend(size_t n) {
    int64_t b = budget_.load();
    if (b < 0) return rocksdb::IOStatus::OK();
    if (static_cast<int64_t>(n) > b) {
      ++failures_;
      budget_ = 0;
      return rocksdb::IOStatus::NoSpace("injected: no space left on device");
    }
    budget_ -= static_cast<int64_t>(n);
    return rocksdb::IOStatus::OK();
  }
  rocksdb::IOStatus SyncFault() {
    {
      std::unique_lock<std::mutex> l(hold_mu_);
      if (hold_) {
        ++held_;
        hold_cv_.notify_all();
        hold_cv_.wait(l, [&] { return !hold_; });
        --held_;
      }
    }
    if (!fail_syncs_) return rocksdb::IOStatus::OK();
    ++failures_;
    return rocksdb::IOStatus::IOError("injected: sync failed (device error)");
  }

  class File : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile>&& f, FailingFileSystem* fs)
        : rocksdb::FSWritableFileOwnerWrapper(std::move(f)), fs_(fs) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& d, const rocksdb::IOOptions& o, rocksdb::IODebugContext* g) override {
      auto s = fs_->Spend(d.size());
      return s.ok() ? target()->Append(d, o, g) : s;
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& d, const rocksdb::IOOptions& o, const rocksdb::DataVerificationInfo& v,
                             rocksdb::IODebugContext* g) override {
      auto s = fs_->Spend(d.size());
      return s.ok() ? target()->Append(d, o, v, g) : s;
    }
    rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& d, uint64_t off, const rocksdb::IOOptions& o,
                                       rocksdb::IODebugContext* g) override {
      auto s = fs_->Spend(d.size());
      return s.ok() ? target()->PositionedAppend(d, off, o, g) : s;
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* g) override {
      auto s = fs_->SyncFault();
      return s.ok() ? target()->Sync(o, g) : s;
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* g) override {
      auto s = fs_->SyncFault();
      return s.ok() ? target()->Fsync(o, g) : s;
    }

   private:
    FailingFileSystem* fs_;
  };

  std::atomic<int64_t> budget_{-1};
  std::atomic<bool> fail_syncs_{false};
  std::atomic<uint64_t> failures_{0};
  std::mutex hold_mu_;
  std::condition_variable hold_cv_;
  bool hold_ = false;
  int held_ = 0;
};

}  // namespace eldercare::testing

#endif  // ELDERCARE_TESTS_FAULT_FS_H_
