// Reading and writing projection records (canonical Cap'n Proto), and the
// as-of rule that answers any past log size from today's records.
#ifndef ELDERCARE_PROJECTIONS_RECORDS_H_
#define ELDERCARE_PROJECTIONS_RECORDS_H_

#include <capnp/dynamic.h>
#include <capnp/message.h>

#include <optional>
#include <string>
#include <string_view>

#include "ledger/entry.h"
#include "ledger/state_store.h"
#include "ledger/submission.h"
#include "schema/projection.capnp.h"

namespace eldercare::proj {

// A stored record, parsed; cheap to copy.
template <typename T>
class Record {
 public:
  static std::optional<Record> Parse(std::string_view bytes) {
    // Projection records are the ledger's own and are read many times (a
    // policy once per delivery of a statement): no practical traversal limit.
    auto m = CanonicalMessage::Parse(bytes, /*require_canonical=*/false, /*traversal_factor=*/uint64_t{1} << 40);
    if (!m.ok()) return std::nullopt;
    return Record(std::move(*m));
  }
  static std::optional<Record> Load(const StateReader& s, std::string_view key) {
    auto v = s.Get(key);
    if (!v) return std::nullopt;
    return Parse(*v);
  }
  typename T::Reader get() const { return msg_.Root<T>(); }

 private:
  explicit Record(CanonicalMessage m) : msg_(std::move(m)) {}
  CanonicalMessage msg_;
};

// A record being written: new, or a copy of a stored one to change.
template <typename T>
class Draft {
 public:
  // The first segment holds the record (and, for a copy, room to grow it):
  // capnp's default is 8 KiB, zeroed, for records of a few hundred bytes
  // folded once per event.
  Draft() : msg_(kNewRecordWords), root_(msg_.initRoot<T>()) {}
  explicit Draft(typename T::Reader from)
      : msg_(static_cast<unsigned>(from.totalSize().wordCount) + kGrowWords), root_(CopyInto(msg_, from)) {}
  typename T::Builder root() { return root_; }
  std::string Encode() const { return CanonicalBytes(root_.asReader()); }
  void Save(StateStore& s, std::string_view key) const { s.Put(key, Encode()); }

 private:
  static typename T::Builder CopyInto(capnp::MallocMessageBuilder& m, typename T::Reader from) {
    m.setRoot(from);
    return m.getRoot<T>();
  }
  static constexpr unsigned kNewRecordWords = 128, kGrowWords = 64;
  capnp::MallocMessageBuilder msg_;
  typename T::Builder root_;
};

// Appends one element to a list field of a builder, growing it in place.
#define ELDERCARE_GROW(root, Name)                  \
  ([&]() {                                          \
    if (!(root).has##Name()) return (root).init##Name(1)[0]; \
    auto orphan_ = (root).disown##Name();           \
    uint32_t n_ = orphan_.get().size();             \
    orphan_.truncate(n_ + 1);                       \
    (root).adopt##Name(kj::mv(orphan_));            \
    return (root).get##Name()[n_];                  \
  }())

// The record as it was when the log had `size` entries: facts with
// index >= size removed; nullopt when the record itself did not exist yet.
// Returns the bytes unchanged when nothing is newer than `size`.
std::optional<std::string> AsOf(std::string_view record_bytes, capnp::StructSchema schema, uint64_t size);

template <typename T>
std::optional<Record<T>> LoadAsOf(const StateReader& s, std::string_view key, uint64_t size) {
  auto v = s.Get(key);
  if (!v) return std::nullopt;
  auto filtered = AsOf(*v, capnp::Schema::from<T>(), size);
  if (!filtered) return std::nullopt;
  return Record<T>::Parse(*filtered);
}

// "2024-03" of a text field, validated.
std::string Str(capnp::Text::Reader t);
// The same text without a copy (valid while the message is).
inline std::string_view View(capnp::Text::Reader t) { return std::string_view(t.cStr(), t.size()); }

}  // namespace eldercare::proj

#endif  // ELDERCARE_PROJECTIONS_RECORDS_H_
