#include "ledger/file_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace eldercare {

Result<FileWriter> FileWriter::Create(const std::string& path, mode_t mode, uint64_t drop_window) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::IoError("cannot create " + path + ": " + std::strerror(errno));
  FileWriter w(path, fd, std::max<uint64_t>(drop_window, 1));
  w.buffer_.reserve(std::min<uint64_t>(kBufferBytes, w.window_));
  return w;
}

FileWriter::FileWriter(FileWriter&& o) noexcept
    : path_(std::move(o.path_)),
      fd_(o.fd_),
      window_(o.window_),
      buffer_(std::move(o.buffer_)),
      offset_(o.offset_),
      window_start_(o.window_start_),
      dropped_(o.dropped_),
      error_(std::move(o.error_)) {
  o.fd_ = -1;
}

FileWriter::~FileWriter() {
  if (fd_ >= 0) ::close(fd_);
}

Status FileWriter::Failed(const char* what, int err) {
  if (error_.ok()) error_ = Status::IoError(std::string("cannot ") + what + " " + path_ + ": " + std::strerror(err));
  return error_;
}

Status FileWriter::Append(std::string_view data) {
  if (!error_.ok()) return error_;
  if (fd_ < 0) return Status::FailedPrecondition(path_ + " is already finished");
  if (buffer_.size() + data.size() > std::min<uint64_t>(kBufferBytes, window_)) {
    if (auto s = WriteBuffer(); !s.ok()) return s;
  }
  buffer_.append(data);
  return Status::Ok();
}

Status FileWriter::WriteBuffer() {
  for (size_t done = 0; done < buffer_.size();) {
    ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Failed("write", errno);
    done += static_cast<size_t>(n);
  }
  offset_ += buffer_.size();
  buffer_.clear();
  if (offset_ - window_start_ >= window_) {
    // Start writing back the window just filled; wait for the one before
    // it (long since started, so usually already on disk) and drop it.
    if (::sync_file_range(fd_, static_cast<off_t>(window_start_), static_cast<off_t>(offset_ - window_start_),
                          SYNC_FILE_RANGE_WRITE) != 0) {
      return Failed("write back", errno);
    }
    if (window_start_ > dropped_) {
      if (::sync_file_range(fd_, static_cast<off_t>(dropped_), static_cast<off_t>(window_start_ - dropped_),
                            SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) != 0) {
        return Failed("write back", errno);
      }
      (void)::posix_fadvise(fd_, static_cast<off_t>(dropped_), static_cast<off_t>(window_start_ - dropped_),
                            POSIX_FADV_DONTNEED);  // advice only: nothing to report if ignored
      dropped_ = window_start_;
    }
    window_start_ = offset_;
  }
  return Status::Ok();
}

Status FileWriter::Finish() {
  if (!error_.ok()) return error_;
  if (fd_ < 0) return Status::FailedPrecondition(path_ + " is already finished");
  if (auto s = WriteBuffer(); !s.ok()) return s;
  if (::fdatasync(fd_) != 0) return Failed("sync", errno);
  (void)::posix_fadvise(fd_, 0, 0, POSIX_FADV_DONTNEED);
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) return Failed("close", errno);
  return Status::Ok();
}

Status WriteNewFile(const std::string& path, std::string_view content, mode_t mode) {
  auto w = FileWriter::Create(path, mode);
  if (!w.ok()) return w.status();
  if (auto s = w->Append(content); !s.ok()) return s;
  return w->Finish();
}

Status SyncDirectory(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::IoError("cannot open directory " + path + ": " + std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return Status::IoError("cannot sync directory " + path + ": " + std::strerror(err));
  return Status::Ok();
}

}  // namespace eldercare
