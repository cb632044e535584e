// Micro-benchmarks of the pieces every event goes through. Each has a
// "limit" counterpart measured in the same run where one exists (the raw
// OpenSSL primitive the piece is built on).
#include <benchmark/benchmark.h>

#include <filesystem>
#include <random>

#include "benchmarks/workload.h"
#include "ledger/entry.h"
#include "ledger/event_json.h"
#include "ledger/event_schema.h"
#include "ledger/merkle.h"
#include "ledger/submission.h"
#include "projections/billing.h"
#include "projections/fold.h"

namespace eldercare::bench {
namespace {

capnp::MallocMessageBuilder& SampleDelivery() {
  static capnp::MallocMessageBuilder msg;
  static bool built = false;
  if (!built) {
    built = true;
    auto d = msg.initRoot<schema::EventBody>().initServiceDelivered();
    d.setDeliveryId("d-20240301-000123");
    d.setElderId("E-004711");
    d.setEnterpriseId("ent-anxin");
    d.setWorkerId("W-017");
    d.setService("bathing");
    d.setProgramme("home_visit");
    d.setCheckIn(1709254800000000);
    d.setCheckOut(1709258400000000);
    uint8_t ev[32] = {1, 2, 3};
    d.setEvidence(capnp::Data::Reader(ev, 32));
    d.setUnits(1);
  }
  return msg;
}

schema::EventBody::Reader Body() { return SampleDelivery().getRoot<schema::EventBody>().asReader(); }

void BM_Sha256Leaf(benchmark::State& state) {
  std::string leaf = BuildEntryBytes(EntryHeader{1, 2, "ent-anxin", "s1", 0, 1, ByteSpan()}, Body());
  for (auto _ : state) benchmark::DoNotOptimize(merkle::HashLeaf(AsBytes(leaf)));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(leaf.size()));
}
BENCHMARK(BM_Sha256Leaf);

void BM_HashChildren(benchmark::State& state) {
  Hash a{}, b{};
  for (auto _ : state) benchmark::DoNotOptimize(a = merkle::HashChildren(a, b));
}
BENCHMARK(BM_HashChildren);

void BM_Ed25519Verify(benchmark::State& state) {
  static auto key = *PrivateKey::Generate();
  Bytes msg = SigningMessage(Hash{});
  Signature sig = key.Sign(msg);
  for (auto _ : state) benchmark::DoNotOptimize(key.public_key().Verify(msg, sig));
}
BENCHMARK(BM_Ed25519Verify)->Threads(1)->Threads(2)->UseRealTime();

void BM_Ed25519Sign(benchmark::State& state) {
  auto key = *PrivateKey::Generate();
  Bytes msg = SigningMessage(Hash{});
  for (auto _ : state) benchmark::DoNotOptimize(key.Sign(msg));
}
BENCHMARK(BM_Ed25519Sign);

void BM_BodyDigest(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(BodyDigest(Body()));
}
BENCHMARK(BM_BodyDigest);

void BM_ValidateBody(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(events::ValidateBody(Body()).ok());
}
BENCHMARK(BM_ValidateBody);

void BM_BuildEntryTemplate(benchmark::State& state) {
  uint8_t sig[64] = {0};
  for (auto _ : state) {
    std::string t = BuildEntryTemplate("ent-anxin", "s1", 0, 200, ByteSpan(sig, 64), Body());
    PlaceEntry(t, 12345, 1709254800000000);
    benchmark::DoNotOptimize(t);
  }
}
BENCHMARK(BM_BuildEntryTemplate);

void BM_ParseEntryCanonical(benchmark::State& state) {
  std::string leaf = BuildEntryBytes(EntryHeader{1, 2, "ent-anxin", "s1", 0, 1, ByteSpan()}, Body());
  for (auto _ : state) benchmark::DoNotOptimize(ParseEntry(leaf).ok());
}
BENCHMARK(BM_ParseEntryCanonical);

void BM_EventFromJson(benchmark::State& state) {
  std::string json = events::EventToJson(Body()).dump();
  for (auto _ : state) {
    capnp::MallocMessageBuilder msg;
    benchmark::DoNotOptimize(events::EventFromJsonText(json, msg.initRoot<schema::EventBody>()).ok());
  }
}
BENCHMARK(BM_EventFromJson);

// The default policy, an enterprise and an elder, folded into `store`.
void FoldSetUp(proj::ProgrammeProjector& p, MemoryStateStore& store) {
  auto text = ReadFile(std::string(ELDERCARE_SOURCE_DIR) + "/projections/policy/default-policy.json");
  auto fold = [&](const std::string& writer, schema::Role role, const std::string& json, uint64_t index) {
    capnp::MallocMessageBuilder m;
    auto b = m.initRoot<schema::EventBody>();
    if (!events::EventFromJsonText(json, b).ok()) std::abort();
    if (!p.Apply({index, 0, writer, role}, b.asReader(), store).ok()) std::abort();
  };
  std::string policy = text->substr(text->find('{'), text->rfind('}') - text->find('{') + 1);
  fold("bureau", schema::Role::BUREAU, policy, 1);
  fold("bureau", schema::Role::BUREAU, R"({"type":"enterprise_registered","enterprise_id":"ent-anxin","name":"a","registered_on":"2024-01-01"})", 2);
  fold("com", schema::Role::COMMUNITY, R"({"type":"elder_registered","elder_id":"E-004711","household_district":"dawukou","community":"com-1","birth_date":"1930-01-01","registered_on":"2024-01-02"})", 3);
}

// The fold of one delivery into a memory store (no RocksDB): the
// projection's own cost per event.
// The sample delivery again and again, an hour later each time, under the
// id "d<index>": what the set-up's enterprise delivers to its elder.
class NextDeliveries {
 public:
  NextDeliveries() { msg_.setRoot(Body()); }
  // With `fresh_evidence`, each with evidence of its own (else the sample's).
  schema::EventBody::Reader Next(uint64_t index, bool fresh_evidence = false) {
    auto d = msg_.getRoot<schema::EventBody>().getServiceDelivered();
    d.setDeliveryId("d" + std::to_string(index));
    d.setCheckIn(d.getCheckIn() + 3600000000);
    d.setCheckOut(d.getCheckOut() + 3600000000);
    if (fresh_evidence) {
      uint8_t ev[32] = {static_cast<uint8_t>(index), static_cast<uint8_t>(index >> 8)};
      d.setEvidence(capnp::Data::Reader(ev, 32));
    }
    return msg_.getRoot<schema::EventBody>().asReader();
  }

 private:
  capnp::MallocMessageBuilder msg_;
};

// The store starts again from the set-up every kFoldedPerStore deliveries
// (untimed), so that a delivery is folded beside at most that many others
// however many iterations the library chooses: the store used to grow with
// the run, and its ordered map's look-ups with it.
constexpr uint64_t kFoldedPerStore = 4096;
void BM_FoldDelivery(benchmark::State& state) {
  proj::ProgrammeProjector p;
  MemoryStateStore set_up;
  FoldSetUp(p, set_up);
  MemoryStateStore store = set_up;
  NextDeliveries deliveries;
  uint64_t index = 10, folded = 0;
  for (auto _ : state) {
    if (folded++ == kFoldedPerStore) {
      state.PauseTiming();
      store = set_up;
      folded = 1;
      state.ResumeTiming();
    }
    OverlayStateStore staged(&store);
    auto body = deliveries.Next(index);
    if (!p.Apply({index++, 0, "ent-anxin", schema::Role::ENTERPRISE}, body, staged).ok()) std::abort();
    staged.MergeInto(store);
  }
}
BENCHMARK(BM_FoldDelivery);

// A rebuild's writer puts each chunk's changes into RocksDB in key order:
// the sort of one chunk, the keys 10,000 deliveries wrote (about 40,000; a
// rebuild's chunk holds 50,000), all of one elder and one enterprise, so
// that the keys share as much as they can (the sort compares a key's first
// bytes first).
void BM_SortChunkChanges(benchmark::State& state) {
  proj::ProgrammeProjector p;
  MemoryStateStore store;
  FoldSetUp(p, store);
  NextDeliveries deliveries;
  HashOverlayStateStore chunk(&store);
  for (uint64_t index = 10; index < 10010; ++index) {
    auto body = deliveries.Next(index, /*fresh_evidence=*/true);
    if (!p.Apply({index, 0, "ent-anxin", schema::Role::ENTERPRISE}, body, chunk).ok()) std::abort();
  }
  for (auto _ : state) benchmark::DoNotOptimize(chunk.SortedChanges());
  state.counters["keys"] = static_cast<double>(chunk.size());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * chunk.size()));
}
BENCHMARK(BM_SortChunkChanges)->Unit(benchmark::kMillisecond);

// Proofs on a 65,536-entry ledger (built once).
struct ProofLedger {
  std::string dir = (std::filesystem::temp_directory_path() / "eldercare-micro-proofs").string();
  std::unique_ptr<Ledger> ledger;
  ProofLedger() {
    std::filesystem::remove_all(dir);
    auto op = *PrivateKey::Generate();
    LedgerOptions o;
    o.sync = false;
    ledger = std::move(Ledger::Create(dir, {"micro.example/l", "operator", ""}, op, o)).value();
    Workload w(3, 10, 1, 64);
    (void)w.Setup(*ledger, op);
    while (ledger->Size() < 65536) {
      auto b = w.Batch(512);
      (void)ledger->Append(w.Signed(*b));
    }
  }
  ~ProofLedger() {
    ledger.reset();
    std::filesystem::remove_all(dir);
  }
};
ProofLedger& Proofs() {
  static ProofLedger p;
  return p;
}

void BM_InclusionProof(benchmark::State& state) {
  auto& l = *Proofs().ledger;
  uint64_t n = l.Size();
  std::mt19937_64 rng(1);
  for (auto _ : state) benchmark::DoNotOptimize(l.InclusionProof(rng() % n, n).ok());
}
BENCHMARK(BM_InclusionProof);

void BM_ConsistencyProof(benchmark::State& state) {
  auto& l = *Proofs().ledger;
  uint64_t n = l.Size();
  std::mt19937_64 rng(2);
  for (auto _ : state) benchmark::DoNotOptimize(l.ConsistencyProof(1 + rng() % (n - 1), n).ok());
}
BENCHMARK(BM_ConsistencyProof);

void BM_RawLeafRead(benchmark::State& state) {
  auto& l = *Proofs().ledger;
  uint64_t n = l.Size();
  std::mt19937_64 rng(3);
  for (auto _ : state) benchmark::DoNotOptimize(l.LeafHash(rng() % n).ok());
}
BENCHMARK(BM_RawLeafRead);

// A statement over a month of 5,000 deliveries by one enterprise (built once).
struct StatementLedger {
  std::string dir = (std::filesystem::temp_directory_path() / "eldercare-micro-statement").string();
  proj::ProgrammeProjector projector;
  std::unique_ptr<Ledger> ledger;
  StatementLedger() {
    std::filesystem::remove_all(dir);
    auto op = *PrivateKey::Generate();
    LedgerOptions o;
    o.sync = false;
    o.projector = &projector;
    ledger = std::move(Ledger::Create(dir, {"micro.example/s", "operator", ""}, op, o)).value();
    Workload w(1, 300, 2, 128);
    (void)w.Setup(*ledger, op);
    while (ledger->Size() < 45000) {
      auto b = w.Batch(500);
      (void)ledger->Append(w.Signed(*b));
    }
  }
  ~StatementLedger() {
    ledger.reset();
    std::filesystem::remove_all(dir);
  }
};

void BM_EnterpriseMonthStatement(benchmark::State& state) {
  static StatementLedger s;
  auto view = std::move(s.ledger->Projections()).value();
  proj::Snapshot snap(*view.state, view.size, view.size);
  uint32_t deliveries = 0;
  for (auto _ : state) {
    auto st = proj::ComputeStatement(snap, "ent-0", "2024-03");
    deliveries = (*st)->get().getDeliveries();
  }
  state.counters["deliveries"] = deliveries;
}
BENCHMARK(BM_EnterpriseMonthStatement)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace eldercare::bench

BENCHMARK_MAIN();
