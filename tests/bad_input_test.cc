// The bad-input catalogue: tests/bad_inputs/ holds one data file per case and
// CASES, one line per case:
//
//   FILE <TAB> COMMAND <TAB> a fragment the error message must contain
//
// COMMAND is how the file reaches the ledger, as a user would send it:
//   submit ACTOR [KEY_ACTOR [SUBMISSION_ID]]   audit-cli submit, signed with KEY_ACTOR's key
//   register                                   audit-cli keys register --public-key FILE
//   verify-proof                               audit-cli verify-proof --proof FILE
//   verify-checkpoint                          audit-cli verify --checkpoint FILE
// Every case must fail with exit status 1, say what is wrong, and leave every
// column family of the ledger exactly as it was.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "audit-cli/cli.h"
#include "tests/programme_util.h"

namespace eldercare {
namespace {

namespace fs = std::filesystem;
using testing::ProgrammeFixture;

const std::string kCases = std::string(ELDERCARE_SOURCE_DIR) + "/tests/bad_inputs";

struct Case {
  std::string file;
  std::vector<std::string> command;
  std::string fragment;
};

std::vector<Case> LoadCases() {
  std::vector<Case> out;
  std::ifstream in(kCases + "/CASES");
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    size_t a = line.find('\t'), b = line.find('\t', a + 1);
    Case c{line.substr(0, a), {}, line.substr(b + 1)};
    std::istringstream words(line.substr(a + 1, b - a - 1));
    for (std::string w; words >> w;) c.command.push_back(w);
    out.push_back(std::move(c));
  }
  return out;
}

// Every key and value of every column family.
std::map<std::string, std::string> Everything(const std::string& path) {
  LedgerOptions o;
  o.read_only = true;
  o.stores_only = true;
  auto l = Ledger::Open(path, o);
  EXPECT_TRUE(l.ok()) << l.status().ToString();
  std::map<std::string, std::string> all;
  for (Family f : {Family::kMeta, Family::kEntries, Family::kMerkle, Family::kSubmissions, Family::kActors,
                   Family::kCheckpoints, Family::kProjections}) {
    for (auto c = (*l)->NewCursor(f); c->Valid(); c->Next()) {
      all[std::to_string(static_cast<int>(f)) + "/" + std::string(c->key())] = std::string(c->value());
    }
  }
  return all;
}

// The first key whose value differs (or that only one side has), for people.
std::string Difference(const std::map<std::string, std::string>& a, const std::map<std::string, std::string>& b) {
  auto show = [](const std::string& k) {
    std::string out;
    for (unsigned char c : k) out += c >= 0x20 && c < 0x7f ? std::string(1, static_cast<char>(c)) : "\\x" + HexEncode(ByteSpan(&c, 1));
    return out;
  };
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    if (it == b.end()) return "removed " + show(k);
    if (it->second != v) return "changed " + show(k);
  }
  for (const auto& [k, v] : b) {
    if (!a.count(k)) return "added " + show(k);
  }
  return "";
}

class BadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    f.EnterpriseAndContract("ent-a", "com-1");
    f.EnterpriseAndContract("ent-b", "com-1");
    for (const char* e : {"E1", "E2"}) f.ServedElder(e);
    f.Expect("com-1", R"({"type":"application_submitted","application_id":"app-pending","elder_id":"E2","programme":"meal_aid","filed_by":"family","filed_on":"2024-01-06"})");
    f.Expect("ent-a", ProgrammeFixture::Delivery("d1", "E1", "w1", "bathing", "2024-02-05T09:00:00+08:00",
                                                 "2024-02-05T10:00:00+08:00", 1));
    f.Expect("ent-a", ProgrammeFixture::Delivery("d2", "E1", "w1", "bathing", "2024-03-04T09:00:00+08:00",
                                                 "2024-03-04T10:00:00+08:00", 2));
    f.Expect("bureau", R"({"type":"billing_period_closed","enterprise_id":"ent-a","month":"2024-02","at_size":)" +
                           std::to_string(f.ledger().Size()) + R"(,"statement_digest":")" + std::string(64, 'c') +
                           R"(","closed_on":"2024-03-05"})");
    // A submission under a fixed id, for the conflicting resend.
    {
      SubmissionBuilder b("ent-a");
      std::istringstream in(ProgrammeFixture::Delivery("d3", "E2", "w2", "bathing", "2024-03-06T09:00:00+08:00",
                                                       "2024-03-06T10:00:00+08:00", 3));
      ASSERT_TRUE(b.AddJsonLines(in).ok());
      ASSERT_TRUE(f.ledger().Append(b.Sign(f.base().keys.at("ent-a"), "fixed-1")).ok());
    }
    // A revoked enterprise key.
    f.base().Register("old-ent", schema::Role::ENTERPRISE);
    f.Expect("bureau", R"({"type":"enterprise_registered","enterprise_id":"old-ent","name":"old","registered_on":"2024-01-01"})");
    {
      SubmissionBuilder b("operator");
      auto e = b.AddEvent().initKeyRevoked();
      e.setActorId("old-ent");
      auto pub = f.base().keys.at("old-ent").public_key().raw();
      e.setPublicKey(capnp::Data::Reader(pub.data(), pub.size()));
      e.setReason("device lost");
      ASSERT_TRUE(f.ledger().Append(b.Sign(f.base().op_key)).ok());
    }
    keys = f.base().dir.Sub("keys");
    fs::create_directories(keys);
    for (const auto& [actor, key] : f.base().keys) ASSERT_TRUE(key.SavePemFile(keys + "/" + actor + ".pem").ok());
    ASSERT_TRUE(f.base().op_key.SavePemFile(keys + "/operator.pem").ok());
    ASSERT_TRUE(testing::NewKey().SavePemFile(keys + "/stranger.pem").ok());
    ASSERT_TRUE(f.ledger().MakeCheckpoint(f.base().op_key).ok());
    path = f.base().path();
    f.base().ledger.reset();
  }

  std::vector<std::string> Args(const Case& c) {
    std::string file = kCases + "/" + c.file;
    const auto& w = c.command;
    if (w[0] == "submit") {
      std::vector<std::string> a = {"submit", "--ledger", path, "--actor", w.at(1), "--key",
                                    keys + "/" + (w.size() > 2 ? w[2] : w[1]) + ".pem"};
      if (w.size() > 3) a.insert(a.end(), {"--submission-id", w[3]});
      a.push_back(file);
      return a;
    }
    if (w[0] == "register") {
      return {"keys", "register", "--ledger", path, "--operator-key", keys + "/operator.pem", "--actor", "x9",
              "--role", "bureau", "--public-key", file};
    }
    if (w[0] == "verify-proof") return {"verify-proof", "--proof", file};
    if (w[0] == "verify-checkpoint") return {"verify", "--ledger", path, "--checkpoint", file};
    ADD_FAILURE() << "unknown command " << w[0] << " in CASES";
    return {};
  }

  ProgrammeFixture f;
  std::string path, keys;
};

TEST_F(BadInput, EveryCaseIsRefusedWithItsReasonAndChangesNothing) {
  auto cases = LoadCases();
  ASSERT_GE(cases.size(), 40u);
  const auto before = Everything(path);
  std::set<std::string> files;
  for (const auto& e : fs::directory_iterator(kCases)) files.insert(e.path().filename().string());
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file);
    EXPECT_TRUE(files.count(c.file)) << "no such data file";
    files.erase(c.file);
    auto args = Args(c);
    std::vector<const char*> argv = {"audit-cli"};
    for (const auto& a : args) argv.push_back(a.c_str());
    std::istringstream in;
    std::ostringstream out, err;
    int code = cli::Run(static_cast<int>(argv.size()), argv.data(), in, out, err);
    EXPECT_EQ(code, 1) << "stdout: " << out.str() << "\nstderr: " << err.str();
    EXPECT_NE(err.str().find(c.fragment), std::string::npos)
        << "the error does not say '" << c.fragment << "':\n" << err.str();
    if (std::getenv("ELDERCARE_SHOW_ERRORS")) std::printf("%s\t%s", c.file.c_str(), err.str().c_str());
    EXPECT_EQ(Difference(before, Everything(path)), "") << "the ledger changed";
  }
  files.erase("CASES");
  EXPECT_TRUE(files.empty()) << "data files without a case: " << *files.begin();
}

}  // namespace
}  // namespace eldercare
