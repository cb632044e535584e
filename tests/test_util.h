// Shared fixtures: temporary directories, ledgers with registered actors, and
// submissions built the way a client builds them.
#ifndef ELDERCARE_TESTS_TEST_UTIL_H_
#define ELDERCARE_TESTS_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "ledger/client.h"
#include "ledger/crypto.h"
#include "ledger/ledger.h"

namespace eldercare::testing {

// A directory removed when the object goes away.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("eldercare-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string path() const { return path_.string(); }
  std::string Sub(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// A clock that moves only when told to.
struct FakeClock {
  std::shared_ptr<std::atomic<int64_t>> now = std::make_shared<std::atomic<int64_t>>(1700000000000000);
  std::function<int64_t()> fn() const {
    auto n = now;
    return [n] { return n->load(); };
  }
};

inline PrivateKey NewKey() { return *PrivateKey::Generate(); }

// A ledger with an operator and any number of registered actors.
class LedgerFixture {
 public:
  explicit LedgerFixture(LedgerOptions options = {}) : options_(std::move(options)) {
    if (!options_.clock) options_.clock = clock.fn();
    auto l = Ledger::Create(dir.Sub("ledger"), {"test.example/ledger", "operator", ""}, op_key, options_);
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    ledger = std::move(*l);
  }

  // Registers `actor` with `role`; returns its key.
  const PrivateKey& Register(const std::string& actor, schema::Role role) {
    keys.emplace(actor, NewKey());
    SubmissionBuilder b("operator");
    auto e = b.AddEvent().initKeyRegistered();
    e.setActorId(actor);
    e.setRole(role);
    e.setPublicKey(capnp::Data::Reader(keys.at(actor).public_key().raw().data(), 32));
    auto r = ledger->Append(b.Sign(op_key));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return keys.at(actor);
  }

  Result<AppendResult> AppendJson(const std::string& writer, const PrivateKey& key, const std::string& jsonl,
                                  const std::string& id = {}) {
    SubmissionBuilder b(writer);
    std::istringstream in(jsonl);
    Status s = b.AddJsonLines(in);
    if (!s.ok()) return s;
    return ledger->Append(b.Sign(key, id));
  }

  void Reopen() {
    ledger.reset();
    auto l = Ledger::Open(dir.Sub("ledger"), options_);
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    ledger = std::move(*l);
  }

  std::string path() const { return dir.Sub("ledger"); }

  TempDir dir;
  FakeClock clock;
  PrivateKey op_key = NewKey();
  std::map<std::string, PrivateKey> keys;
  std::unique_ptr<Ledger> ledger;

 private:
  LedgerOptions options_;
};

// An operator-signed key registration as one JSON line.
inline std::string KeyRegisteredJson(const std::string& actor, const std::string& role, const PublicKey& key) {
  return R"({"type":"key_registered","actor_id":")" + actor + R"(","role":")" + role + R"(","public_key":")" +
         key.ToBase64() + "\"}";
}

}  // namespace eldercare::testing

#endif  // ELDERCARE_TESTS_TEST_UTIL_H_
