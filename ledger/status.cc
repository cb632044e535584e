#include "ledger/status.h"

namespace eldercare {

const char* CodeName(Status::Code code) {
  switch (code) {
    case Status::Code::kOk: return "ok";
    case Status::Code::kInvalidArgument: return "invalid input";
    case Status::Code::kNotFound: return "not found";
    case Status::Code::kAlreadyExists: return "already exists";
    case Status::Code::kPermissionDenied: return "permission denied";
    case Status::Code::kConflict: return "conflict";
    case Status::Code::kCorruption: return "corruption";
    case Status::Code::kIoError: return "I/O error";
    case Status::Code::kFailedPrecondition: return "failed precondition";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(CodeName(code_)) + ": " + message_;
}

}  // namespace eldercare
