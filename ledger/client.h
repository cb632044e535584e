// For writers: build and sign submissions (what an enterprise platform, a
// reviewer's tool or the operator's console does before sending).
#ifndef ELDERCARE_LEDGER_CLIENT_H_
#define ELDERCARE_LEDGER_CLIENT_H_

#include <capnp/message.h>

#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/crypto.h"
#include "ledger/status.h"
#include "schema/ledger.capnp.h"

namespace eldercare {

class SubmissionBuilder {
 public:
  explicit SubmissionBuilder(std::string writer);

  // A new event to fill in.
  schema::EventBody::Builder AddEvent();
  // One event from one JSON object (docs/EVENTS.md).
  Status AddJson(std::string_view json_text);
  // JSON lines, one event a line; blank lines are skipped. Errors name the
  // line: "line 3: field 'role': unknown value 'boss'". Input starting with
  // '[' is read as one JSON array of events instead. On error nothing is added.
  Status AddJsonLines(std::istream& in);

  size_t size() const { return events_.size(); }
  const std::string& writer() const { return writer_; }

  // A submission id derived from writer and content, so that sending the same
  // events again is recognised as a retry: "c-" + 32 hex digits.
  std::string ContentId() const;

  // Lays out the events, signs them under `submission_id` (ContentId() when
  // empty) and returns the submission. The reader lives as long as this builder.
  schema::Submission::Reader Sign(const PrivateKey& key, std::string submission_id = {});

 private:
  std::string writer_;
  capnp::MallocMessageBuilder message_;
  std::vector<capnp::Orphan<schema::EventBody>> events_;
};

}  // namespace eldercare

#endif  // ELDERCARE_LEDGER_CLIENT_H_
