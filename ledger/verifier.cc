#include "ledger/verifier.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cassert>
#include <climits>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <ctime>
#include <filesystem>
#include <map>
#include <mutex>

#include "ledger/entry.h"
#include "ledger/event_schema.h"
#include "ledger/key_registry.h"
#include "ledger/merkle.h"
#include "ledger/note.h"
#include "ledger/store_layout.h"
#include "ledger/submission.h"
#include "ledger/thread_pool.h"
#include "ledger/time_util.h"

namespace eldercare {
namespace {

constexpr uint64_t kNoIndex = UINT64_MAX;
// A job is handed to a worker once it holds this many entries (or groups);
// at most two jobs per thread are in flight, which bounds memory.
constexpr size_t kEntriesPerJob = 4096;
constexpr size_t kGroupsPerJob = 512;
// Batches of leaves being prepared while the oldest is checked in order.
constexpr size_t kBatchesInFlight = 3;

std::string Str(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }
std::string_view View(capnp::Text::Reader t) { return std::string_view(t.cStr(), t.size()); }

// A leaf's bytes, where they lie in what `owner` keeps alive.
struct Leaf {
  std::shared_ptr<const void> owner;
  std::string_view bytes;
};

// A leaf's entry parsed again, for the few checks that need more of it than
// was taken on the first read (Prepare): genesis, key events, spot-check
// plans, and the search for the entry that broke a signature.
CanonicalMessage Reparse(const Leaf& leaf) {
  auto m = ParseEntry(leaf.owner, leaf.bytes);
  assert(m.ok());  // it parsed once already, from the same bytes
  return std::move(*m);
}

struct Group {
  uint64_t first = 0;
  std::string writer;
  std::string id;
  Bytes signature;
  uint32_t count = 0;
  int64_t recorded_at = 0;
  std::vector<Leaf> leaves;
  std::vector<Hash> digests;  // each body's digest, what the signature covers
  std::vector<const events::EventType*> types;
  std::vector<PublicKey> keys;  // keys the writer could sign with at `first`
};

struct KnownCheckpoint {
  std::string note;
  checkpoint::Checkpoint body;
  bool external = false;
};

// Leaves the verifier is given to copy (RocksDB's iterator reuses its
// blocks) go into blocks of their own, each leaf on an 8-byte word, as
// ExportReader hands an export's out: one allocation a megabyte, not a
// string and its shared owner a leaf. A block is freed once the last leaf
// in it is verified.
class LeafBlocks {
 public:
  std::pair<std::shared_ptr<const void>, std::string_view> Copy(std::string_view leaf) {
    const size_t words = (leaf.size() + 7) / 8;
    if (block_ == nullptr || used_ + words > capacity_) {
      capacity_ = std::max(kBlockWords, words);
      block_ = std::shared_ptr<uint64_t[]>(new uint64_t[capacity_]);  // not zero-filled
      used_ = 0;
    }
    char* at = reinterpret_cast<char*>(block_.get() + used_);
    std::memcpy(at, leaf.data(), leaf.size());
    used_ += words;
    return {block_, std::string_view(at, leaf.size())};
  }

 private:
  static constexpr size_t kBlockWords = (1u << 20) / 8;
  std::shared_ptr<uint64_t[]> block_;
  size_t capacity_ = 0, used_ = 0;
};

}  // namespace

struct LogVerifier::Impl {
  VerifyOptions options;
  uint64_t expected_entries = 0;  // what the source says it holds (progress only)
  LogVerifier::NodeCursors open_nodes;
  // One cursor per band of Merkle levels, opened when first needed, on the
  // tile the next node of that band belongs to; `used` hashes of its value
  // have been checked.
  struct BandCursor {
    std::unique_ptr<KvCursor> cursor;
    size_t used = 0;
  };
  std::array<BandCursor, layout::kMerkleBands> bands;
  bool one_key_per_node = false;  // format 2
  std::multimap<uint64_t, KnownCheckpoint> checkpoints;
  std::map<uint64_t, int64_t> recorded_at_size;  // checkpoint size -> recording time of its last entry
  std::optional<note::Verifier> operator_verifier;

  KeyRegistry registry;
  merkle::CompactRange frontier;
  uint64_t next_index = 0;
  int64_t last_recorded_at = INT64_MIN;
  Group group;
  bool in_group = false;

  VerifyReport report;
  std::unique_ptr<ThreadPool> pool;
  std::vector<Group> pending;  // complete groups waiting to be handed to a worker
  size_t pending_entries = 0;

  // Leaves are checked on their own (canonical form, schema rules, leaf
  // hash, body digest) on all cores, a batch at a time; the in-order checks
  // then run on this thread while the workers prepare the next batch. What
  // they need of a leaf is taken from it in that one read: no parsed
  // message is kept or handed between threads.
  struct Prepared {
    Status parsed;  // why the leaf is not a well-formed canonical Entry
    Status valid;   // why its body breaks the schema's rules
    Hash leaf_hash{};
    Hash body_digest{};
    uint64_t index = 0;
    int64_t recorded_at = 0;
    uint32_t position = 0;
    uint32_t count = 0;
    std::string_view writer, id;  // in the leaf
    ByteSpan signature;            // in the leaf
    const events::EventType* type = nullptr;  // set when `valid` is Ok
  };
  struct Batch {
    std::vector<Leaf> leaves;
    std::vector<Prepared> prepared;
    size_t parts_left = 0;  // guarded by mu
  };
  std::unique_ptr<Batch> filling = std::make_unique<Batch>();
  LeafBlocks copies;  // of the leaves Add(string_view) is given
  // Handed to the workers, not yet checked in order, oldest first. Several
  // are in flight so that the workers still have leaves to prepare while
  // this thread reads the next batch and checks the oldest in order (with
  // one, they sat idle for about half of a verify).
  std::deque<std::unique_ptr<Batch>> preparing;

  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;
  uint64_t bad_index = kNoIndex;
  // Set under mu with bad_index and bad_what; read without it on every
  // entry (a mutex there cost a few per cent of a verify).
  std::atomic<bool> failed{false};
  std::string bad_what;
  std::atomic<uint64_t> signatures{0};

  void Fail(uint64_t index, std::string what) {
    std::lock_guard<std::mutex> l(mu);
    if (!failed || index < bad_index) {
      bad_index = index;
      bad_what = std::move(what);
    }
    failed.store(true, std::memory_order_release);
  }
  bool Failed() const { return failed.load(std::memory_order_acquire); }

  void CheckSignatures(std::vector<Group>& groups) {
    for (Group& g : groups) {
      Bytes message = SigningMessage(HeaderDigest(g.writer, g.id, g.digests));
      bool ok = std::any_of(g.keys.begin(), g.keys.end(),
                            [&](const PublicKey& k) { return k.Verify(message, g.signature); });
      signatures.fetch_add(1, std::memory_order_relaxed);
      if (!ok) {
        // capnp's canonical check lets through a few encodings canonicalize
        // itself never writes (an empty list pointing elsewhere). The digests
        // hash bodies as stored, so such an entry fails here: name it rather
        // than blame the signature.
        size_t odd = 0;
        while (odd < g.leaves.size() &&
               BodyDigest(Reparse(g.leaves[odd]).Root<schema::Entry>().getBody()) == g.digests[odd]) {
          ++odd;
        }
        if (odd < g.leaves.size()) {
          Fail(g.first + odd, "entry is not in canonical form: capnp::canonicalize writes its event body differently");
          continue;
        }
        Fail(g.first, "the signature of submission '" + g.id + "' by '" + g.writer + "' (entries " +
                          std::to_string(g.first) + ".." + std::to_string(g.first + g.count - 1) +
                          ") does not verify with the writer's key");
      }
    }
  }

  void Dispatch(bool force) {
    if (pending.empty() || (!force && pending.size() < kGroupsPerJob && pending_entries < kEntriesPerJob)) return;
    auto job = std::make_shared<std::vector<Group>>(std::move(pending));
    pending.clear();
    pending_entries = 0;
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return in_flight < static_cast<int>(2 * pool->parallelism()); });
    ++in_flight;
    l.unlock();
    pool->Submit([this, job] {
      CheckSignatures(*job);
      std::lock_guard<std::mutex> lk(mu);
      --in_flight;
      cv.notify_all();
    });
  }

  void WaitForWorkers() {
    Dispatch(true);
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] {
      return in_flight == 0 && std::all_of(preparing.begin(), preparing.end(), [](const auto& b) { return b->parts_left == 0; });
    });
  }

  void OnGenesis(schema::Genesis::Reader g) {
    auto key = PublicKey::FromRaw(ByteSpan(g.getOperatorKey().begin(), g.getOperatorKey().size()));
    if (!key.ok()) return Fail(0, "genesis operator key: " + key.status().message());
    std::string origin = Str(g.getOrigin());
    report.origin = origin;
    report.operator_key = key->ToBase64();
    operator_verifier = note::Verifier{origin, note::KeyId(origin, *key), *key};
    report.facts.push_back("operator key (from genesis): " + note::VerifierKey(origin, *key));
    for (auto& [size, cp] : checkpoints) {
      std::string who = cp.external ? "your checkpoint" : "stored checkpoint";
      if (cp.body.origin != origin) {
        Fail(std::min(size, next_index), who + " at size " + std::to_string(size) + " is for origin '" +
                                             cp.body.origin + "', not '" + origin + "'");
        continue;
      }
      auto opened = note::Open(cp.note, *operator_verifier);
      if (!opened.ok()) {
        Fail(size == 0 ? 0 : size - 1, who + " at size " + std::to_string(size) + ": " + opened.status().message());
      }
    }
  }

  void CompleteGroup() {
    in_group = false;
    Group& g = group;
    const Actor* actor = registry.Find(g.writer);
    if (g.first == 0) {
      // Genesis signs itself with the key it introduces.
      auto entry = Reparse(g.leaves[0]);
      auto genesis = entry.Root<schema::Entry>().getBody().getGenesis();
      auto key = PublicKey::FromRaw(ByteSpan(genesis.getOperatorKey().begin(), genesis.getOperatorKey().size()));
      if (key.ok()) g.keys.push_back(*key);
    } else if (actor == nullptr) {
      return Fail(g.first, "writer '" + g.writer + "' had no registered key at this position");
    } else {
      for (const ActorKey* k : registry.SigningKeys(*actor, g.first, g.recorded_at)) g.keys.push_back(k->key);
      if (g.keys.empty()) {
        return Fail(g.first, "writer '" + g.writer + "' had no valid key at this position (revoked or not yet valid)");
      }
    }
    for (uint32_t i = 0; i < g.count; ++i) {
      uint64_t index = g.first + i;
      const events::EventType* type = g.types[i];
      if (g.first != 0 && actor != nullptr && !events::RoleMayWrite(actor->role, *type)) {
        return Fail(index, "role '" + std::string(events::RoleName(actor->role)) + "' of '" + g.writer +
                               "' may not write '" + type->name + "'");
      }
      if (KeyRegistry::IsKeyEvent(static_cast<schema::EventBody::Which>(type->which))) {
        auto entry = Reparse(g.leaves[i]);
        if (auto s = registry.Apply(index, entry.Root<schema::Entry>().getBody()); !s.ok()) {
          return Fail(index, "key event rejected: " + s.message());
        }
      }
    }
    ++report.submissions;
    pending_entries += g.leaves.size();
    pending.push_back(std::move(g));
    g = Group{};
    Dispatch(false);
  }

  BandCursor& Band(size_t band) {
    if (!bands[band].cursor) bands[band].cursor = open_nodes(std::string(1, static_cast<char>(band)));
    return bands[band];
  }
  // True when the band's cursor holds anything not yet checked: the rest of
  // its tile, or another key of its band.
  bool MoreInBand(size_t band) {
    BandCursor& b = Band(band);
    KvCursor* c = b.cursor.get();
    auto in_band = [&] {
      return c->Valid() && !c->key().empty() && static_cast<size_t>(static_cast<uint8_t>(c->key()[0])) == band;
    };
    if (!in_band()) return false;
    if (b.used * kHashSize < c->value().size() || b.used == 0) return true;
    c->Next();
    b.used = 0;
    return in_band();
  }

  // Stored nodes are checked in the order they complete, which is the order
  // of each band's tiles and of the hashes within a tile (in format 2, of the
  // band's keys).
  void CheckNode(uint64_t index, merkle::NodeId id, const Hash& h) {
    if (!open_nodes) return;
    BandCursor& b = Band(layout::MerkleBand(id.level));
    KvCursor* c = b.cursor.get();
    // Named only when something is wrong: this runs for every node.
    auto fail = [&](const std::string& what) {
      Fail(index, "stored Merkle node (level " + std::to_string(id.level) + ", index " + std::to_string(id.index) +
                      ")" + what);
    };
    std::string want = one_key_per_node ? layout::MerkleKeyFormat2(id) : layout::MerkleTileKey(id);
    // A tile checked to its end gives way to the next key. (A key whose
    // value is empty is never passed over: it is reported below.)
    if (c->Valid() && b.used > 0 && b.used * kHashSize == c->value().size() && c->key() != want) {
      c->Next();
      b.used = 0;
    }
    if (!c->Valid()) return fail(c->status().ok() ? " is missing" : ": " + c->status().message());
    if (c->key() != want) return fail(" is missing or out of place (found another key where it should be)");
    uint64_t position = one_key_per_node ? 0 : layout::TilePosition(id);
    if (c->value().size() % kHashSize != 0 || (one_key_per_node && c->value().size() != kHashSize)) {
      return fail(": its stored value is " + std::to_string(c->value().size()) + " bytes, not whole 32-byte hashes" +
                  (one_key_per_node ? " (format 2: one)" : ""));
    }
    if (b.used != position) return fail(" is not where it belongs in its tile");
    if (c->value().size() < (position + 1) * kHashSize) return fail(" is missing from its tile");
    if (std::memcmp(c->value().data() + position * kHashSize, h.data(), kHashSize) != 0) {
      return fail(" differs from the hash recomputed from the entries");
    }
    ++report.merkle_nodes_checked;
    ++b.used;
  }

  // A spot-check plan must be drawn from a signed checkpoint that exists and
  // was made after its month ended, so that nobody could predict the sample.
  bool CheckPlan(uint64_t index, schema::SpotCheckPlanned::Reader p) {
    std::string id(p.getPlanId().cStr());
    uint64_t size = p.getCheckpointSize();
    auto cp = checkpoints.find(size);
    if (cp == checkpoints.end() || cp->second.external) {
      Fail(index, "spot-check plan '" + id + "' names a checkpoint at size " + std::to_string(size) + " that does not exist");
      return false;
    }
    auto root = p.getCheckpointRoot();
    if (root.size() != kHashSize || !std::equal(root.begin(), root.end(), cp->second.body.root.begin())) {
      Fail(index, "spot-check plan '" + id + "' names a root that is not the checkpoint's at size " + std::to_string(size));
      return false;
    }
    auto month = ParseMonth(std::string(p.getMonth().cStr()));
    auto at = recorded_at_size.find(size);
    int64_t month_end = month.ok() ? (int64_t{FirstDayOfMonth(*month + 1)} * 1440 - kChinaOffsetMinutes) * 60 * kMicrosPerSecond : 0;
    if (!month.ok() || at == recorded_at_size.end() || at->second < month_end) {
      Fail(index, "spot-check plan '" + id + "' is drawn from the checkpoint at size " + std::to_string(size) +
                      ", made before " + std::string(p.getMonth().cStr()) + " ended: its sample was predictable");
      return false;
    }
    return true;
  }

  void CheckCheckpointsAt(uint64_t size) {
    auto [lo, hi] = checkpoints.equal_range(size);
    if (lo == hi) return;
    Hash root = frontier.Root();
    for (auto it = lo; it != hi; ++it) {
      ++report.checkpoints_checked;
      if (it->second.body.root != root) {
        std::string who = it->second.external ? "your checkpoint" : "stored checkpoint";
        Fail(size - 1, who + " at size " + std::to_string(size) +
                           " does not match the root recomputed from the entries: history before it was rewritten");
      } else if (it->second.external) {
        report.facts.push_back("the log extends your checkpoint at size " + std::to_string(size) + " (root " +
                               HexEncode(root) + ")");
      }
    }
  }

  // The leaf is read where it lies (moved first to 8-byte words if it is
  // not on them, so that the views taken from it stay valid with it).
  static void Prepare(Leaf& leaf, Prepared& p) {
    if (reinterpret_cast<uintptr_t>(leaf.bytes.data()) % alignof(uint64_t) != 0) {
      std::shared_ptr<uint64_t[]> words(new uint64_t[(leaf.bytes.size() + 7) / 8]);
      std::memcpy(words.get(), leaf.bytes.data(), leaf.bytes.size());
      leaf.bytes = std::string_view(reinterpret_cast<const char*>(words.get()), leaf.bytes.size());
      leaf.owner = std::move(words);
    }
    p.leaf_hash = merkle::HashLeaf(AsBytes(leaf.bytes));
    p.parsed = ReadEntryInPlace(leaf.bytes, [&](schema::Entry::Reader e, ByteSpan words) {
      auto body = e.getBody();
      p.valid = events::ValidateBody(body);
      p.index = e.getIndex();
      p.recorded_at = e.getRecordedAt();
      p.position = e.getPosition();
      p.count = e.getCount();
      p.writer = View(e.getWriter());
      p.id = View(e.getSubmissionId());
      auto sig = e.getSignature();
      p.signature = ByteSpan(sig.begin(), sig.size());
      p.type = events::EventTypeOf(body);
      if (p.valid.ok()) p.body_digest = BodyDigestInCanonicalEntry(e, words);
    });
  }

  // Hands the filled batch to the workers and checks the oldest in flight in
  // order meanwhile. An empty batch means the leaves have ended: every batch
  // in flight is checked.
  void Rotate() {
    std::unique_ptr<Batch> next = std::move(filling);
    filling = std::make_unique<Batch>();
    filling->leaves.reserve(kEntriesPerJob);
    const bool ended = next->leaves.empty();
    if (!ended) {
      next->prepared.resize(next->leaves.size());
      size_t parts = std::min<size_t>(pool->parallelism(), next->leaves.size());
      next->parts_left = parts;
      Batch* b = next.get();
      for (size_t part = 0; part < parts; ++part) {
        pool->Submit([this, b, part, parts] {
          size_t n = b->leaves.size();
          for (size_t i = n * part / parts; i < n * (part + 1) / parts; ++i) Prepare(b->leaves[i], b->prepared[i]);
          std::lock_guard<std::mutex> lk(mu);
          if (--b->parts_left == 0) cv.notify_all();
        });
      }
      preparing.push_back(std::move(next));
    }
    while (!preparing.empty() && (ended || preparing.size() > kBatchesInFlight)) {
      std::unique_ptr<Batch> ready = std::move(preparing.front());
      preparing.pop_front();
      CheckInOrder(*ready);
      if (options.progress) options.progress("verifying", next_index, expected_entries);
    }
  }

  void CheckInOrder(Batch& b) {
    {
      std::unique_lock<std::mutex> l(mu);
      cv.wait(l, [&] { return b.parts_left == 0; });
    }
    for (size_t i = 0; i < b.leaves.size(); ++i) {
      if (Failed() || !AddEntry(std::move(b.leaves[i]), b.prepared[i])) return;
    }
  }

  // Every leaf fed so far checked in order.
  void Drain() {
    Rotate();
    Rotate();  // `filling` is empty now: the batches still in flight are checked
  }

  bool AddEntry(Leaf&& leaf, const Prepared& p) {
    uint64_t index = next_index;
    if (!p.parsed.ok()) {
      Fail(index, "entry is not a canonical Cap'n Proto Entry: " + p.parsed.message());
      return false;
    }
    if (p.index != index) {
      Fail(index, "entry says it is at index " + std::to_string(p.index) +
                      ": entries are missing, duplicated or out of order");
      return false;
    }
    if (!p.valid.ok()) {
      Fail(index, p.valid.message());
      return false;
    }
    const auto which = static_cast<schema::EventBody::Which>(p.type->which);
    const bool genesis = which == schema::EventBody::GENESIS;
    if ((index == 0) != genesis) {
      Fail(index, index == 0 ? "entry 0 is not the genesis entry" : "a genesis entry after index 0");
      return false;
    }
    const ByteSpan sig = p.signature;
    if (p.position == 0) {
      if (in_group) {
        // Reported at the submission's start: its entries no longer form the
        // signed whole, whichever of them was altered.
        Fail(group.first, "submission '" + group.id + "' starting here ends at index " + std::to_string(index) +
                              " after " + std::to_string(group.leaves.size()) + " of " + std::to_string(group.count) +
                              " entries");
        return false;
      }
      if (p.count == 0 || sig.size() != kSignatureSize) {
        Fail(index, "entry has a zero event count or a signature that is not 64 bytes");
        return false;
      }
      if (p.recorded_at < last_recorded_at) {
        Fail(index, "recorded time goes backwards");
        return false;
      }
      last_recorded_at = p.recorded_at;
      group = Group{index, std::string(p.writer), std::string(p.id), Bytes(sig.begin(), sig.end()), p.count,
                    p.recorded_at, {}, {}, {}, {}};
      const size_t expect = std::min<uint32_t>(p.count, 4096);  // the count is the file's word until checked
      group.leaves.reserve(expect);
      group.digests.reserve(expect);
      group.types.reserve(expect);
      in_group = true;
    } else if (!in_group || p.position != group.leaves.size() || p.count != group.count || p.writer != group.writer ||
               p.id != group.id || p.recorded_at != group.recorded_at ||
               !std::equal(sig.begin(), sig.end(), group.signature.begin(), group.signature.end())) {
      Fail(in_group ? group.first : index,
           "entry " + std::to_string(index) + " does not continue the submission starting at index " +
               std::to_string(in_group ? group.first : index) + " (position " + std::to_string(p.position) +
               " of '" + std::string(p.id) + "')");
      return false;
    }
    if (genesis) OnGenesis(Reparse(leaf).Root<schema::Entry>().getBody().getGenesis());
    if (which == schema::EventBody::SPOT_CHECK_PLANNED &&
        !CheckPlan(index, Reparse(leaf).Root<schema::Entry>().getBody().getSpotCheckPlanned())) {
      return false;
    }
    if (checkpoints.count(index + 1)) recorded_at_size[index + 1] = p.recorded_at;
    group.leaves.push_back(std::move(leaf));
    group.digests.push_back(p.body_digest);
    group.types.push_back(p.type);
    frontier.Append(p.leaf_hash, [&](merkle::NodeId nid, const Hash& h) { CheckNode(index, nid, h); });
    ++next_index;
    if (group.leaves.size() == group.count) CompleteGroup();
    CheckCheckpointsAt(next_index);
    return !Failed();
  }

  void FinishChecks() {
    if (in_group) {
      Fail(next_index, "the last submission '" + group.id + "' is incomplete: " + std::to_string(group.leaves.size()) +
                           " of " + std::to_string(group.count) + " entries");
    }
    if (next_index == 0) Fail(0, "the log is empty: no genesis entry");
    if (open_nodes) {
      for (size_t band = 0; band < layout::kMerkleBands; ++band) {
        if (MoreInBand(band)) {
          Fail(next_index, "stored Merkle nodes extend beyond the log's last entry");
          break;
        }
      }
      // Keys past the last band are not Merkle nodes at all.
      if (open_nodes(std::string(1, static_cast<char>(layout::kMerkleBands)))->Valid()) {
        Fail(next_index, "the merkle store holds a key that is not a Merkle node");
      }
    }
    for (auto it = checkpoints.upper_bound(next_index); it != checkpoints.end(); ++it) {
      std::string who = it->second.external ? "your checkpoint" : "stored checkpoint";
      Fail(next_index, who + " at size " + std::to_string(it->first) + " is beyond the log's " +
                           std::to_string(next_index) + " entries: entries were removed or the log was rolled back");
    }
  }
};

LogVerifier::LogVerifier(std::vector<std::string> notes, NodeCursors stored_nodes, VerifyOptions options,
                         NodeLayout layout)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->open_nodes = std::move(stored_nodes);
  impl_->one_key_per_node = layout == NodeLayout::kOneKeyPerNode;
  impl_->pool = std::make_unique<ThreadPool>(impl_->options.threads == 0 ? HardwareThreads()
                                                                         : impl_->options.threads);
  auto add = [&](const std::string& text, bool external, size_t n) {
    std::string who = external ? "your checkpoint" : "stored checkpoint #" + std::to_string(n + 1);
    auto parsed = note::Parse(text);
    if (!parsed.ok()) return impl_->Fail(kNoIndex, who + " is not a signed note: " + parsed.status().message());
    auto body = checkpoint::ParseBody(parsed->text);
    if (!body.ok()) return impl_->Fail(kNoIndex, who + " is not a checkpoint: " + body.status().message());
    impl_->checkpoints.emplace(body->size, KnownCheckpoint{text, *body, external});
  };
  for (size_t i = 0; i < notes.size(); ++i) add(notes[i], false, i);
  for (size_t i = 0; i < impl_->options.external_checkpoints.size(); ++i) {
    add(impl_->options.external_checkpoints[i], true, i);
  }
  if (impl_->open_nodes) {
    if (auto c = impl_->open_nodes({}); !c->status().ok()) impl_->Fail(0, c->status().message());
  }
}

LogVerifier::~LogVerifier() {
  if (impl_) impl_->WaitForWorkers();
}

bool LogVerifier::Add(std::string_view leaf) {
  auto [owner, copy] = impl_->copies.Copy(leaf);
  return Add(std::move(owner), copy);
}

bool LogVerifier::Add(std::shared_ptr<const void> owner, std::string_view leaf) {
  Impl& m = *impl_;
  if (m.Failed()) return false;
  m.filling->leaves.push_back({std::move(owner), leaf});
  if (m.filling->leaves.size() >= kEntriesPerJob) m.Rotate();
  return !m.Failed();
}

void LogVerifier::ExpectEntries(uint64_t n) { impl_->expected_entries = n; }

void LogVerifier::FailSource(const Status& status) {
  impl_->Drain();  // the source failed after every leaf it gave
  impl_->Fail(impl_->next_index, status.message());
}

VerifyReport LogVerifier::Finish() {
  Impl& m = *impl_;
  m.Drain();
  m.WaitForWorkers();
  if (!m.Failed()) m.FinishChecks();
  VerifyReport r = std::move(m.report);
  r.size = m.next_index;
  r.root = m.frontier.Root();
  r.signatures_checked = m.signatures.load();
  std::lock_guard<std::mutex> l(m.mu);
  r.ok = !m.Failed();
  if (m.Failed()) {
    if (m.bad_index != kNoIndex) r.first_bad_index = m.bad_index;
    r.error = m.bad_what;
  }
  return r;
}

namespace {

Result<std::string> ReadMeta(const Ledger& l, std::string_view key) {
  auto c = l.NewCursor(Family::kMeta, key);
  if (!c->Valid() || c->key() != key) return Status::NotFound("ledger metadata '" + std::string(key) + "' is missing");
  return std::string(c->value());
}

// The log of a ledger directory through a LogVerifier: entries in key order,
// each where it belongs; stored Merkle nodes when `nodes`.
VerifyReport VerifyStores(const Ledger& ledger, const VerifyOptions& options, bool nodes) {
  auto notes = ledger.Checkpoints();
  if (!notes.ok()) {
    VerifyReport r;
    r.error = notes.status().ToString();
    return r;
  }
  LogVerifier::NodeCursors cursors;
  auto node_layout = LogVerifier::NodeLayout::kTiles;
  std::optional<std::string> layout_fact;
  if (nodes) {
    cursors = [&ledger](std::string_view from) { return ledger.NewCursor(Family::kMerkle, from); };
    // Verifying changes nothing, so an older ledger is read as it is.
    auto format = ReadMeta(ledger, layout::kMetaFormat);
    if (format.ok() && *format == layout::kFormatVersion2) {
      node_layout = LogVerifier::NodeLayout::kOneKeyPerNode;
      layout_fact = "ledger format '" + *format + "' (one key per Merkle node; opening it for writing upgrades it to '" +
                    std::string(layout::kFormatVersion) + "', Merkle tiles)";
    } else if (!format.ok() || *format != layout::kFormatVersion) {
      VerifyReport r;
      r.error = format.ok() ? "ledger format '" + *format + "' is not one this verifier reads ('" +
                                  std::string(layout::kFormatVersion) + "' or '" +
                                  std::string(layout::kFormatVersion2) +
                                  "'); an older ledger is upgraded when opened for writing (`audit-cli rebuild`), "
                                  "or verify its export"
                            : format.status().message();
      return r;
    }
  }
  LogVerifier v(std::move(*notes), std::move(cursors), options, node_layout);
  if (auto size = ReadMeta(ledger, layout::kMetaSize); size.ok() && size->size() == 8) {
    v.ExpectEntries(GetBigEndian64(reinterpret_cast<const uint8_t*>(size->data())));
  }
  uint64_t expected = 0;
  Status s = ledger.ScanEntries(0, UINT64_MAX, [&](uint64_t index, std::string_view leaf) {
    if (index != expected) {
      v.FailSource(Status::Corruption("entry " + std::to_string(expected) + " is missing (next stored key is " +
                                      std::to_string(index) + ")"));
      return false;
    }
    ++expected;
    return v.Add(leaf);
  });
  if (!s.ok()) v.FailSource(s);
  VerifyReport r = v.Finish();
  if (layout_fact) r.facts.push_back(*layout_fact);
  return r;
}

}  // namespace

VerifyReport VerifyLedgerDir(const std::string& dir, const VerifyOptions& options) {
  LedgerOptions lo;
  lo.read_only = true;
  lo.stores_only = true;
  lo.progress = options.progress;  // (for --derived's recomputation)
  auto ledger = Ledger::Open(dir, lo);
  if (!ledger.ok()) {
    VerifyReport r;
    r.error = ledger.status().ToString();
    return r;
  }
  VerifyReport r = VerifyStores(**ledger, options, true);
  if (!r.ok) return r;
  // The metadata a writer trusts on open: the size, and whose log it is.
  auto fail = [&](uint64_t index, const std::string& what) {
    r.ok = false;
    r.first_bad_index = index;
    r.error = what;
  };
  auto size = ReadMeta(**ledger, layout::kMetaSize);
  if (!size.ok() || size->size() != 8) {
    fail(r.size, "the ledger's size metadata is missing or malformed");
    return r;
  }
  uint64_t recorded = GetBigEndian64(reinterpret_cast<const uint8_t*>(size->data()));
  if (recorded != r.size) {
    fail(std::min(r.size, recorded), "the ledger's recorded size is " + std::to_string(recorded) + " but it holds " +
                                         std::to_string(r.size) + " entries");
    return r;
  }
  auto origin = ReadMeta(**ledger, layout::kMetaOrigin);
  if (!origin.ok() || *origin != r.origin) {
    fail(0, "the ledger's origin metadata is not the genesis entry's origin '" + r.origin + "'");
    return r;
  }
  if (options.derived) {
    Status d = (*ledger)->CheckDerivedStores(options.projector, options.scratch);
    if (!d.ok()) {
      r.ok = false;
      r.error = d.message();
      return r;
    }
    r.facts.push_back(std::string("derived stores (submissions, actors, metadata") +
                      (options.projector ? ", projections" : "") + ") match the log");
  }
  return r;
}

Result<std::string> RepairLedger(const std::string& dir, const VerifyOptions& options) {
  namespace fs = std::filesystem;
  {
    LedgerOptions lo;
    lo.read_only = true;
    lo.stores_only = true;
    lo.progress = options.progress;
    ELDERCARE_ASSIGN_OR_RETURN(auto ledger, Ledger::Open(dir, lo));
    // The log must be intact: entries against every signed checkpoint. The
    // stored Merkle nodes are derived and not trusted here.
    VerifyReport r = VerifyStores(*ledger, options, false);
    if (!r.ok) {
      return Status::Corruption("the log itself is damaged" +
                                (r.first_bad_index ? " at index " + std::to_string(*r.first_bad_index) : std::string()) +
                                ": " + r.error + ". Repair rebuilds only derived stores; restore the log from an export");
    }
    std::string fresh = dir + ".repair-tmp";
    fs::remove_all(fresh);
    auto rebuilt = ledger->Rederive(fresh, options.projector, /*sync=*/true);
    if (!rebuilt.ok()) {
      fs::remove_all(fresh);
      return rebuilt.status().WithPrefix("rebuilding the derived stores: ");
    }
  }
  // Swap: the damaged stores stay beside the ledger for inspection.
  std::string kept = (fs::path(dir) / ("log.damaged-" + std::to_string(std::time(nullptr)))).string();
  std::error_code ec;
  fs::rename(fs::path(dir) / "log", kept, ec);
  if (ec) return Status::IoError("moving the damaged stores aside: " + ec.message());
  fs::rename(fs::path(dir + ".repair-tmp") / "log", fs::path(dir) / "log", ec);
  if (ec) return Status::IoError("moving the rebuilt stores in place: " + ec.message() + " (the damaged ones are in " + kept + ")");
  fs::remove_all(dir + ".repair-tmp", ec);
  return kept;
}

}  // namespace eldercare
