#include "ledger/client.h"

#include <iterator>
#include <nlohmann/json.hpp>

#include "ledger/bytes.h"
#include "ledger/event_json.h"
#include "ledger/submission.h"

namespace eldercare {

SubmissionBuilder::SubmissionBuilder(std::string writer) : writer_(std::move(writer)) {}

schema::EventBody::Builder SubmissionBuilder::AddEvent() {
  events_.push_back(message_.getOrphanage().newOrphan<schema::EventBody>());
  return events_.back().get();
}

Status SubmissionBuilder::AddJson(std::string_view json_text) {
  auto orphan = message_.getOrphanage().newOrphan<schema::EventBody>();
  ELDERCARE_RETURN_IF_ERROR(events::EventFromJsonText(json_text, orphan.get()));
  events_.push_back(kj::mv(orphan));
  return Status::Ok();
}

Status SubmissionBuilder::AddJsonLines(std::istream& in) {
  size_t before = events_.size();
  // A JSON array of events is accepted too (pretty-printed files, such as the
  // default policy); errors then name the element.
  in >> std::ws;
  if (in.peek() == '[') {
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto parsed = events::ParseStrictJson(all);
    if (!parsed.ok()) return parsed.status().WithPrefix("JSON array of events: ");
    nlohmann::json arr = std::move(*parsed);
    if (!arr.is_array()) return Status::InvalidArgument("malformed JSON array of events");
    for (size_t i = 0; i < arr.size(); ++i) {
      auto orphan = message_.getOrphanage().newOrphan<schema::EventBody>();
      Status s = events::EventFromJson(arr[i], orphan.get());
      if (!s.ok()) {
        events_.resize(before);
        return s.WithPrefix("element " + std::to_string(i) + ": ");
      }
      events_.push_back(kj::mv(orphan));
    }
    return Status::Ok();
  }
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    Status s = AddJson(line);
    if (!s.ok()) {
      events_.resize(before);
      return s.WithPrefix("line " + std::to_string(line_no) + ": ");
    }
  }
  if (in.bad()) return Status::IoError("cannot read the events");
  return Status::Ok();
}

std::string SubmissionBuilder::ContentId() const {
  Sha256Hasher h;
  h.Update(writer_);
  h.Update(uint8_t{0});
  for (const auto& e : events_) h.Update(BodyDigest(e.getReader()));
  Hash d = h.Finish();
  return "c-" + HexEncode(ByteSpan(d.data(), 16));
}

schema::Submission::Reader SubmissionBuilder::Sign(const PrivateKey& key, std::string submission_id) {
  if (submission_id.empty()) submission_id = ContentId();
  auto sub = message_.initRoot<schema::Submission>();
  sub.setWriter(writer_);
  sub.setSubmissionId(submission_id);
  auto list = sub.initEvents(static_cast<unsigned>(events_.size()));
  for (size_t i = 0; i < events_.size(); ++i) list.setWithCaveats(static_cast<unsigned>(i), events_[i].getReader());
  SignSubmission(sub, key);
  return sub.asReader();
}

}  // namespace eldercare
