#pragma once
// Files the ledger writes outside RocksDB (exports, keys), written durably.
//
// An export of a large ledger is many gigabytes written once and carried
// away. Written through the page cache like any file, it would push the
// ledger's own hot blocks (the Merkle tiles proofs read, the projection
// records queries read) out of memory on the machine that serves them.
// FileWriter therefore writes behind itself: each window of
// kDropWindowBytes is sent to disk as soon as it fills
// (sync_file_range) and, once the next window has filled, waited for and
// dropped from the page cache (posix_fadvise DONTNEED), as `dd
// oflag=nocache` does. Finish() makes the whole file durable (fdatasync).

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "ledger/status.h"

namespace eldercare {

class FileWriter {
 public:
  static constexpr size_t kBufferBytes = 1u << 20;
  static constexpr uint64_t kDropWindowBytes = 32u << 20;

  // Creates `path`, which must not exist yet (O_EXCL): an export never
  // overwrites what an earlier one left.
  // `drop_window` is the write-behind window (smaller in tests).
  static Result<FileWriter> Create(const std::string& path, mode_t mode = 0644,
                                   uint64_t drop_window = kDropWindowBytes);

  FileWriter(FileWriter&& other) noexcept;
  FileWriter& operator=(FileWriter&& other) = delete;
  FileWriter(const FileWriter&) = delete;
  ~FileWriter();  // closes without syncing if Finish() was not called

  Status Append(std::string_view data);
  // Writes what is buffered, syncs the file's data to disk, drops it from
  // the page cache and closes it. The first error of any earlier Append is
  // returned here too.
  Status Finish();

  uint64_t bytes() const { return offset_ + buffer_.size(); }
  const std::string& path() const { return path_; }

 private:
  FileWriter(std::string path, int fd, uint64_t window) : path_(std::move(path)), fd_(fd), window_(window) {}
  Status WriteBuffer();
  Status Failed(const char* what, int err);

  std::string path_;
  int fd_ = -1;
  uint64_t window_;
  std::string buffer_;
  uint64_t offset_ = 0;       // bytes handed to the kernel
  uint64_t window_start_ = 0; // start of the window being filled
  uint64_t dropped_ = 0;      // everything before this is on disk and out of the cache
  Status error_;
};

// Creates `path` (which must not exist) holding `content`, synced to disk.
Status WriteNewFile(const std::string& path, std::string_view content, mode_t mode = 0644);

// Syncs a directory, so that the files just created in it survive a crash.
Status SyncDirectory(const std::string& path);

}  // namespace eldercare
