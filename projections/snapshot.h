// Reading projection records as of a log size.
#ifndef ELDERCARE_PROJECTIONS_SNAPSHOT_H_
#define ELDERCARE_PROJECTIONS_SNAPSHOT_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/state_store.h"
#include "ledger/status.h"
#include "projections/records.h"

namespace eldercare::proj {

// Runs fn(i) for every i in [0, n), in any order, perhaps at once, and
// returns when all have returned: for queries made of independent reads of
// one snapshot (enterprises, months), whose reader may be shared between
// threads. Projections start no threads; the caller may pass a thread
// pool's ParallelFor. Empty: one after another.
using ForEachIndex = std::function<void(size_t n, const std::function<void(size_t)>& fn)>;

// fn(0) .. fn(n - 1) through `each`, in index order; the first error by
// index if any failed.
template <typename T>
Result<std::vector<T>> MapEach(const ForEachIndex& each, size_t n, const std::function<Result<T>(size_t)>& fn) {
  std::vector<Result<T>> results(n, Status::FailedPrecondition("not run"));
  auto one = [&](size_t i) { results[i] = fn(i); };
  if (each) {
    each(n, one);
  } else {
    for (size_t i = 0; i < n; ++i) one(i);
  }
  std::vector<T> out;
  out.reserve(n);
  for (auto& r : results) {
    if (!r.ok()) return r.status();
    out.push_back(std::move(*r));
  }
  return out;
}

// The state, and the log size whose answers are wanted. When `size` is the
// size the state reflects, records are used as stored; below it, every
// record passes through AsOf.
class Snapshot {
 public:
  Snapshot(const StateReader& state, uint64_t state_size, uint64_t size)
      : state_(state), state_size_(state_size), size_(size < state_size ? size : state_size) {}

  uint64_t size() const { return size_; }
  uint64_t state_size() const { return state_size_; }
  // True when the state is used as stored (no as-of filtering needed).
  bool current() const { return size_ >= state_size_; }
  const StateReader& state() const { return state_; }

  template <typename T>
  std::optional<Record<T>> Load(std::string_view key) const {
    if (size_ >= state_size_) return Record<T>::Load(state_, key);
    return LoadAsOf<T>(state_, key, size_);
  }

  // fn(key, record) for each record under `prefix` that existed at size().
  template <typename T>
  void Scan(std::string_view prefix, const std::function<bool(std::string_view, const Record<T>&)>& fn) const {
    state_.Scan(prefix, [&](std::string_view k, std::string_view v) {
      std::optional<Record<T>> r;
      if (size_ >= state_size_) {
        r = Record<T>::Parse(v);
      } else if (auto filtered = AsOf(v, capnp::Schema::from<T>(), size_)) {
        r = Record<T>::Parse(*filtered);
      }
      return r ? fn(k, *r) : true;
    });
  }

  // Keys under `prefix` (lookups, see keys.h). Entries made
  // at or after size() are skipped.
  std::vector<std::string> Keys(std::string_view prefix) const;

 private:
  const StateReader& state_;
  uint64_t state_size_;
  uint64_t size_;
};

}  // namespace eldercare::proj

#endif  // ELDERCARE_PROJECTIONS_SNAPSHOT_H_
