// Status and Result<T>: the one error model of the ledger.
//
// Errors are values at every storage, decoding and input boundary. A Status
// carries a code (what kind of failure, so callers can branch) and a message
// written for the person who will read it: it names the field, line or log
// index that is wrong. Asserts are for bugs, never for input.
#ifndef ELDERCARE_LEDGER_STATUS_H_
#define ELDERCARE_LEDGER_STATUS_H_

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace eldercare {

class [[nodiscard]] Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,   // malformed or out-of-range input
    kNotFound,          // a referenced thing does not exist
    kAlreadyExists,     // creating something that exists
    kPermissionDenied,  // signature, key or role does not allow it
    kConflict,          // a used id with other content
    kCorruption,        // stored or exported bytes are not what was written
    kIoError,           // the file system or RocksDB failed
    kFailedPrecondition,
  };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return Status(Code::kInvalidArgument, std::move(m)); }
  static Status NotFound(std::string m) { return Status(Code::kNotFound, std::move(m)); }
  static Status AlreadyExists(std::string m) { return Status(Code::kAlreadyExists, std::move(m)); }
  static Status PermissionDenied(std::string m) { return Status(Code::kPermissionDenied, std::move(m)); }
  static Status Conflict(std::string m) { return Status(Code::kConflict, std::move(m)); }
  static Status Corruption(std::string m) { return Status(Code::kCorruption, std::move(m)); }
  static Status IoError(std::string m) { return Status(Code::kIoError, std::move(m)); }
  static Status FailedPrecondition(std::string m) { return Status(Code::kFailedPrecondition, std::move(m)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid argument: line 3: field 'role': ..." -- for logs and the CLI.
  std::string ToString() const;
  // Same code, message prefixed with context ("line 3: ").
  Status WithPrefix(const std::string& prefix) const {
    return ok() ? *this : Status(code_, prefix + message_);
  }

 private:
  Status(Code c, std::string m) : code_(c), message_(std::move(m)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

const char* CodeName(Status::Code code);

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}                       // NOLINT: implicit on purpose
  Result(Status status) : v_(std::move(status)) {                 // NOLINT
    assert(!std::get<Status>(v_).ok() && "Result built from an OK status");
  }
  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { assert(ok()); return std::get<T>(v_); }
  const T& value() const& { assert(ok()); return std::get<T>(v_); }
  T&& value() && { assert(ok()); return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace eldercare

// Return early from a function returning Status or Result<T>.
#define ELDERCARE_RETURN_IF_ERROR(expr)          \
  do {                                           \
    ::eldercare::Status _st = (expr);            \
    if (!_st.ok()) return _st;                   \
  } while (0)

#define ELDERCARE_CONCAT_INNER(a, b) a##b
#define ELDERCARE_CONCAT(a, b) ELDERCARE_CONCAT_INNER(a, b)
#define ELDERCARE_ASSIGN_OR_RETURN(lhs, expr) \
  ELDERCARE_ASSIGN_OR_RETURN_IMPL(ELDERCARE_CONCAT(_res_, __LINE__), lhs, expr)
#define ELDERCARE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                    \
  if (!tmp.ok()) return tmp.status();                   \
  lhs = std::move(tmp).value()

#endif  // ELDERCARE_LEDGER_STATUS_H_
