// audit-cli end to end, in process: every command's happy path and one test
// per kind of bad input, each leaving the ledger exactly as it was.
#include "audit-cli/cli.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ledger/crypto.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "ledger/note.h"
#include "ledger/proof_json.h"
#include "ledger/time_util.h"
#include "projections/attestation.h"
#include "ledger/store_layout.h"
#include "tests/raw_db.h"
#include "tests/test_util.h"

namespace eldercare {
namespace {

struct Outcome {
  int code;
  std::string out, err;
};

class Cli : public ::testing::Test {
 protected:
  Outcome Run(std::vector<std::string> args, const std::string& stdin_text = "") {
    args.insert(args.begin(), "audit-cli");
    std::vector<const char*> argv;
    for (auto& a : args) argv.push_back(a.c_str());
    std::istringstream in(stdin_text);
    std::ostringstream out, err;
    int code = cli::Run(static_cast<int>(argv.size()), argv.data(), in, out, err);
    return {code, out.str(), err.str()};
  }
  std::string P(const std::string& name) { return dir_.Sub(name); }

  void SetUp() override {
    op_pub_ = Keygen("op.pem");
    ent_pub_ = Keygen("ent.pem");
    ops2_pub_ = Keygen("ops2.pem");
    auto init = Run({"init", "--ledger", P("L"), "--origin", "test.example/cli", "--operator-key", P("op.pem")});
    ASSERT_EQ(init.code, 0) << init.err;
    ASSERT_EQ(Run({"keys", "register", "--ledger", P("L"), "--operator-key", P("op.pem"), "--actor", "ent-a", "--role",
                   "enterprise", "--public-key", ent_pub_})
                  .code,
              0);
    ASSERT_EQ(Run({"keys", "register", "--ledger", P("L"), "--operator-key", P("op.pem"), "--actor", "ops-2", "--role",
                   "operator", "--public-key", P("ops2.pub")})
                  .code,
              0);
  }

  std::string Keygen(const std::string& name) {
    auto r = Run({"keygen", "--out", P(name)});
    EXPECT_EQ(r.code, 0) << r.err;
    std::string pub = r.out.substr(0, r.out.find('\n'));
    std::ofstream(P(name.substr(0, name.size() - 4) + ".pub")) << r.out;
    return pub;
  }

  struct State {
    uint64_t size;
    Hash root;
    size_t checkpoints;
    bool operator==(const State&) const = default;
  };
  State Snapshot() {
    LedgerOptions o;
    o.read_only = true;
    auto l = Ledger::Open(P("L"), o);
    EXPECT_TRUE(l.ok());
    return {(*l)->Size(), *(*l)->RootAt((*l)->Size()), (*l)->Checkpoints()->size()};
  }
  std::string Reg(const std::string& actor, const std::string& role = "bureau") {
    return R"({"type":"key_registered","actor_id":")" + actor + R"(","role":")" + role + R"(","public_key":")" +
           ent_pub_ + "\"}";
  }
  // Submits as `actor` with key file `key`; expects failure naming `fragment`
  // and an unchanged ledger.
  void ExpectRejected(const std::string& actor, const std::string& key, const std::string& lines,
                      const std::string& fragment, std::vector<std::string> extra = {}) {
    State before = Snapshot();
    std::vector<std::string> args = {"submit", "--ledger", P("L"), "--actor", actor, "--key", P(key), "-"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = Run(args, lines);
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.err.find(fragment), std::string::npos) << "stderr: " << r.err << "\nwanted: " << fragment;
    EXPECT_EQ(Snapshot(), before);
  }

  testing::TempDir dir_;
  std::string op_pub_, ent_pub_, ops2_pub_;
};

TEST_F(Cli, KeygenPrintsThePublicKeyLast) {
  auto r = Run({"keygen", "--out", P("k.pem")});
  ASSERT_EQ(r.code, 0);
  auto key = PrivateKey::LoadPemFile(P("k.pem"));
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(r.out, key->public_key().ToBase64() + "\n");
  EXPECT_NE(Run({"keygen", "--out", P("k.pem")}).code, 0) << "overwrote a key";
}

TEST_F(Cli, EveryCommandHasHelp) {
  for (std::vector<std::string> cmd : std::vector<std::vector<std::string>>{
           {"keygen"}, {"init"}, {"keys", "register"}, {"keys", "revoke"}, {"keys", "list"}, {"submit"},
           {"checkpoint"}, {"checkpoints"}, {"verifier-key"}, {"prove", "inclusion"}, {"prove", "consistency"},
           {"verify"}, {"verify-proof"}, {"export"}, {"log"}, {"status"}, {"eligibility"}, {"billing"},
           {"supervision"}, {"enterprise"}, {"projection", "digest"}, {"projection", "rebuild"}, {"digest"}, {"rebuild"},
           {"repair"}, {"anomalies"}, {"report"}, {"attest"}, {"reconcile"}, {"spotcheck", "plan"}, {"spotcheck", "sample"}, {"restore"}, {"masterkey"},
           {"elder"}, {"elder", "register"}, {"shred"}}) {
    cmd.push_back("--help");
    auto r = Run(cmd);
    EXPECT_EQ(r.code, 0) << cmd[0];
    EXPECT_NE(r.out.find("--"), std::string::npos) << cmd[0] << ": " << r.out;
  }
}

TEST_F(Cli, SubmitsCheckpointsProvesAndVerifies) {
  auto s = Run({"submit", "--ledger", P("L"), "--actor", "ops-2", "--key", P("ops2.pem"), "--json", "-"},
               Reg("b-1") + "\n" + Reg("b-2") + "\n");
  ASSERT_EQ(s.code, 0) << s.err;
  auto j = nlohmann::json::parse(s.out);
  EXPECT_EQ(j["first_index"], 3);
  EXPECT_EQ(j["count"], 2);
  EXPECT_EQ(j["duplicate"], false);
  auto again = Run({"submit", "--ledger", P("L"), "--actor", "ops-2", "--key", P("ops2.pem"), "--json", "-"},
                   Reg("b-1") + "\n" + Reg("b-2") + "\n");
  ASSERT_EQ(again.code, 0);
  EXPECT_EQ(nlohmann::json::parse(again.out)["duplicate"], true);

  auto cp = Run({"checkpoint", "--ledger", P("L")});  // key remembered by init
  ASSERT_EQ(cp.code, 0) << cp.err;
  EXPECT_EQ(cp.out.substr(0, 19), "test.example/cli\n5\n");
  std::ofstream(P("cp5.note")) << cp.out;

  auto inc = Run({"prove", "inclusion", "--ledger", P("L"), "--index", "3", "--json"});
  ASSERT_EQ(inc.code, 0) << inc.err;
  auto proof = ParseProofJson(inc.out);
  ASSERT_TRUE(proof.ok());
  EXPECT_TRUE(CheckProof(*proof).ok());
  EXPECT_EQ(proof->inclusion.size, 5u);
  std::ofstream(P("inc.json")) << inc.out;
  auto vk = Run({"verifier-key", "--ledger", P("L")});
  ASSERT_EQ(vk.code, 0);
  std::string vkey = vk.out.substr(0, vk.out.size() - 1);
  auto vp = Run({"verify-proof", "--proof", P("inc.json"), "--checkpoint", P("cp5.note"), "--verifier-key", vkey});
  EXPECT_EQ(vp.code, 0) << vp.err;

  auto con = Run({"prove", "consistency", "--ledger", P("L"), "--from", "2", "--to", "5", "--json"});
  ASSERT_EQ(con.code, 0) << con.err;
  auto cproof = ParseProofJson(con.out);
  ASSERT_TRUE(cproof.ok());
  EXPECT_TRUE(CheckProof(*cproof).ok());

  auto v = Run({"verify", "--ledger", P("L"), "--checkpoint", P("cp5.note")});
  EXPECT_EQ(v.code, 0) << v.err;
  EXPECT_NE(v.out.find("OK: 5 entries"), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("extends your checkpoint at size 5"), std::string::npos) << v.out;

  ASSERT_EQ(Run({"export", "--ledger", P("L"), "--out", P("X")}).code, 0);
  auto vx = Run({"verify", "--export", P("X"), "--json"});
  EXPECT_EQ(vx.code, 0) << vx.err;
  EXPECT_EQ(nlohmann::json::parse(vx.out)["size"], 5);
  auto vj = Run({"verify", "--export", P("X"), "--jsonl"});
  EXPECT_EQ(vj.code, 0) << vj.err;
  EXPECT_NE(vj.out.find("entries.jsonl agrees: every line is its verified entry"), std::string::npos) << vj.out;
  auto misuse = Run({"verify", "--ledger", P("L"), "--jsonl"});
  EXPECT_EQ(misuse.code, 1);
  EXPECT_NE(misuse.err.find("--jsonl needs --export DIR"), std::string::npos) << misuse.err;
  std::filesystem::create_directories(P("scratch"));
  auto vd = Run({"verify", "--ledger", P("L"), "--derived", "--scratch", P("scratch")});
  EXPECT_EQ(vd.code, 0) << vd.err;
  EXPECT_NE(vd.out.find("derived stores (submissions, actors, metadata, projections) match the log"), std::string::npos)
      << vd.out;
  EXPECT_TRUE(std::filesystem::is_empty(P("scratch")));
  auto no_derived = Run({"verify", "--ledger", P("L"), "--scratch", P("scratch")});
  EXPECT_EQ(no_derived.code, 1);
  EXPECT_NE(no_derived.err.find("--scratch needs --derived"), std::string::npos) << no_derived.err;

  auto log = Run({"log", "--ledger", P("L"), "--json", "--from", "3", "--limit", "1"});
  ASSERT_EQ(log.code, 0);
  auto entry = nlohmann::json::parse(log.out);
  EXPECT_EQ(entry["index"], 3);
  EXPECT_EQ(entry["event"]["actor_id"], "b-1");
  auto st = Run({"status", "--ledger", P("L"), "--json"});
  EXPECT_EQ(nlohmann::json::parse(st.out)["size"], 5);
}

// `rebuild` of projections another version of the fold left behind says
// so (there is no "before" digest of this fold to compare with), and leaves
// them current for every query.
TEST_F(Cli, RebuildSaysWhenTheProjectionsWereStale) {
  auto fresh = Run({"rebuild", "--ledger", P("L")});
  ASSERT_EQ(fresh.code, 0) << fresh.err;
  EXPECT_NE(fresh.out.find("(unchanged)"), std::string::npos) << fresh.out;
  {
    testing::RawDb raw(P("L"));
    raw.Put("default", layout::kMetaProjectionVersion, "programme/0");
  }
  auto refused = Run({"digest", "--ledger", P("L")});
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.err.find("out of date (folded by 'programme/0'"), std::string::npos) << refused.err;
  auto stale = Run({"rebuild", "--ledger", P("L")});
  ASSERT_EQ(stale.code, 0) << stale.err;
  EXPECT_NE(stale.out.find("(the projections were out of date: folded by 'programme/0', this build folds 'programme/"),
            std::string::npos)
      << stale.out;
  EXPECT_EQ(Run({"digest", "--ledger", P("L")}).code, 0);
}

// A damaged derived store: `verify --derived` names it, `repair` rebuilds
// it from the log (keeping the damaged stores beside it), and the ledger
// then verifies with its derived stores.
TEST_F(Cli, RepairRebuildsADamagedDerivedStore) {
  {
    testing::RawDb raw(P("L"));
    auto subs = raw.All(layout::kSubmissionsCf);
    ASSERT_FALSE(subs.empty());
    raw.Delete(layout::kSubmissionsCf, subs.front().first);
  }
  auto damaged = Run({"verify", "--ledger", P("L"), "--derived"});
  EXPECT_EQ(damaged.code, 1);
  EXPECT_NE(damaged.err.find("derived store 'submissions' lacks key"), std::string::npos) << damaged.err;
  auto repaired = Run({"repair", "--ledger", P("L")});
  ASSERT_EQ(repaired.code, 0) << repaired.err;
  EXPECT_NE(repaired.out.find("repaired: 3 entries verified, every derived store rebuilt from them"), std::string::npos)
      << repaired.out;
  EXPECT_NE(repaired.out.find("the damaged stores are kept in " + P("L") + "/log.damaged-"), std::string::npos)
      << repaired.out;
  auto again = Run({"verify", "--ledger", P("L"), "--derived"});
  EXPECT_EQ(again.code, 0) << again.err;
}

// An attestation is a signed file: never overwritten, never claimed written
// when it was not; and it is checked against the key its signer held at the
// log size it names, not any key the signer ever had.
TEST_F(Cli, AttestationsAreHeldToTheKeyValidAtTheirSize) {
  Keygen("ev1.pem");
  Keygen("ev2.pem");
  auto reg = [&](const std::string& pub) {
    return Run({"keys", "register", "--ledger", P("L"), "--operator-key", P("op.pem"), "--actor", "evaluator-1", "--role",
                "evaluator", "--public-key", P(pub)});
  };
  ASSERT_EQ(reg("ev1.pub").code, 0);
  const std::vector<std::string> attest = {"attest", "--ledger", P("L"), "--month", "2024-03", "--key", P("ev1.pem"),
                                           "--actor", "evaluator-1", "--out"};
  auto with_out = [&](const std::string& out) {
    auto args = attest;
    args.push_back(out);
    return Run(args);
  };
  auto made = with_out(P("att1.txt"));
  ASSERT_EQ(made.code, 0) << made.err;
  const std::string att1 = *ReadFile(P("att1.txt"));
  auto again = with_out(P("att1.txt"));
  EXPECT_NE(again.code, 0);
  EXPECT_NE(again.err.find("cannot create " + P("att1.txt")), std::string::npos) << again.err;
  EXPECT_EQ(*ReadFile(P("att1.txt")), att1);
  auto nowhere = with_out(P("no-such-dir/att.txt"));
  EXPECT_NE(nowhere.code, 0);
  EXPECT_EQ(nowhere.out, "") << "claimed written";

  auto check = [&](const std::string& text) { return Run({"verify-attestation", "--ledger", P("L"), "--attestation", "-"}, text); };
  auto ok = check(att1);
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_NE(ok.out.find("signed by evaluator-1 (evaluator)"), std::string::npos) << ok.out;

  // The same statement signed with a key registered after its size.
  ASSERT_EQ(reg("ev2.pub").code, 0);
  auto body = proj::ParseAttestationBody(note::Parse(att1)->text);
  ASSERT_TRUE(body.ok());
  auto resign = [&](const proj::Attestation& a, const std::string& pem) {
    return *note::Sign(proj::AttestationBody(a), "evaluator-1", *PrivateKey::LoadPemFile(P(pem)));
  };
  auto late = check(resign(*body, "ev2.pem"));
  EXPECT_NE(late.code, 0);
  EXPECT_NE(late.err.find("registered for 'evaluator-1' at index " + std::to_string(body->size) +
                          ", after the attested log size " + std::to_string(body->size)),
            std::string::npos)
      << late.err;

  // ev1 revoked: what it signed before still verifies, with a warning; a
  // statement naming a size past the revocation does not.
  ASSERT_EQ(Run({"keys", "revoke", "--ledger", P("L"), "--operator-key", P("op.pem"), "--actor", "evaluator-1",
                 "--public-key", P("ev1.pub")})
                .code,
            0);
  auto before = check(att1);
  EXPECT_EQ(before.code, 0) << before.err;
  EXPECT_NE(before.err.find("the key that signed was revoked at index"), std::string::npos) << before.err;
  proj::Attestation after = *body;
  LedgerOptions ro;
  ro.read_only = true;
  auto l = Ledger::Open(P("L"), ro);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  after.size = (*l)->Size();
  after.root = *(*l)->RootAt(after.size);
  l->reset();
  auto revoked = check(resign(after, "ev1.pem"));
  EXPECT_NE(revoked.code, 0);
  EXPECT_NE(revoked.err.find("revoked for 'evaluator-1' at index " + std::to_string(after.size - 1) +
                             ", within the attested log size " + std::to_string(after.size)),
            std::string::npos)
      << revoked.err;
}

TEST_F(Cli, RejectsMalformedJson) {
  ExpectRejected("ops-2", "ops2.pem", Reg("x") + "\n{\"type\": \"key_registered\",\n", "line 2: malformed JSON at column");
}

TEST_F(Cli, RejectsUnknownEventType) {
  ExpectRejected("ops-2", "ops2.pem", R"({"type":"free_money","amount":1})", "line 1: unknown event type 'free_money'");
}

TEST_F(Cli, RejectsMissingField) {
  ExpectRejected("ops-2", "ops2.pem", R"({"type":"key_registered","role":"bureau","public_key":")" + ent_pub_ + "\"}",
                 "line 1: missing required field 'actor_id'");
}

TEST_F(Cli, RejectsExtraField) {
  std::string line = Reg("x");
  line.insert(line.size() - 1, R"(,"salary":100)");
  ExpectRejected("ops-2", "ops2.pem", Reg("y") + "\n" + line, "line 2: unknown field 'salary'");
}

TEST_F(Cli, RejectsMistypedField) {
  ExpectRejected("ops-2", "ops2.pem", R"({"type":"key_registered","actor_id":["x"],"role":"bureau","public_key":")" + ent_pub_ + "\"}",
                 "line 1: field 'actor_id': expected a string, got an array");
}

TEST_F(Cli, RejectsForgedSignature) {
  // ent.pem is a real key, but not ops-2's.
  ExpectRejected("ops-2", "ent.pem", Reg("x"), "signature does not verify with any active key of writer 'ops-2'");
}

TEST_F(Cli, RejectsReusedSubmissionIdWithOtherContent) {
  ASSERT_EQ(Run({"submit", "--ledger", P("L"), "--actor", "ops-2", "--key", P("ops2.pem"), "--submission-id", "batch-1", "-"},
                Reg("x"))
                .code,
            0);
  ExpectRejected("ops-2", "ops2.pem", Reg("y"), "submission id 'batch-1' of writer 'ops-2' was already used",
                 {"--submission-id", "batch-1"});
}

TEST_F(Cli, RejectsUnknownKey) {
  ExpectRejected("ghost", "ent.pem", Reg("x"), "writer 'ghost' has no registered key");
}

TEST_F(Cli, RejectsRevokedKey) {
  auto r = Run({"keys", "revoke", "--ledger", P("L"), "--operator-key", P("op.pem"), "--actor", "ops-2", "--public-key",
                P("ops2.pub"), "--reason", "left the bureau"});
  ASSERT_EQ(r.code, 0) << r.err;
  ExpectRejected("ops-2", "ops2.pem", Reg("x"), "has no key that may sign now");
}

TEST_F(Cli, RejectsRoleNotAllowed) {
  ExpectRejected("ent-a", "ent.pem", Reg("x"), "role 'enterprise' may not write 'key_registered' (allowed: operator)");
}

TEST_F(Cli, RejectsOversizeSubmission) {
  std::string lines;
  for (int i = 0; i <= 20000; ++i) lines += Reg("x" + std::to_string(i)) + "\n";
  ExpectRejected("ops-2", "ops2.pem", lines, "holds 20001 events, more than the limit of 20000");
}

TEST_F(Cli, RejectsOversizeField) {
  std::string line = Reg("x");
  line.insert(line.size() - 1, R"(,"display_name":")" + std::string(201, 'n') + "\"");
  ExpectRejected("ops-2", "ops2.pem", line, "line 1: field 'display_name' is 201 bytes, more than its limit of 200");
}

TEST_F(Cli, RejectsEmptyInput) { ExpectRejected("ops-2", "ops2.pem", "\n\n", "no events to submit"); }

TEST_F(Cli, RejectsTruncatedExport) {
  ASSERT_EQ(Run({"export", "--ledger", P("L"), "--out", P("X")}).code, 0);
  std::string bin = *ReadFile(P("X") + "/entries.bin");
  std::ofstream(P("X") + "/entries.bin", std::ios::binary | std::ios::trunc) << bin.substr(0, bin.size() - 3);
  State before = Snapshot();
  auto r = Run({"verify", "--export", P("X")});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("verification FAILED at index 2: export record 2: truncated"), std::string::npos) << r.err;
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(Cli, RejectsNonCanonicalExport) {
  ASSERT_EQ(Run({"export", "--ledger", P("L"), "--out", P("X")}).code, 0);
  std::string bin = *ReadFile(P("X") + "/entries.bin");
  // Declare two segments for record 0: canonical entries have exactly one.
  bin[0] = 1;
  std::ofstream(P("X") + "/entries.bin", std::ios::binary | std::ios::trunc) << bin;
  auto r = Run({"verify", "--export", P("X")});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("has 2 segments; a canonical entry has exactly one"), std::string::npos) << r.err;
}

TEST_F(Cli, RegistersRevealsAndShredsPersonalData) {
  ASSERT_EQ(Run({"masterkey", "--out", P("master.key")}).code, 0);
  for (const char* who : {"bur", "com"}) Keygen(std::string(who) + ".pem");
  ASSERT_EQ(Run({"keys", "register", "--ledger", P("L"), "--operator-key", P("op.pem"), "--actor", "bureau", "--role",
                 "bureau", "--public-key", P("bur.pub")}).code, 0);
  ASSERT_EQ(Run({"keys", "register", "--ledger", P("L"), "--operator-key", P("op.pem"), "--actor", "com-1", "--role",
                 "community", "--public-key", P("com.pub")}).code, 0);
  std::string elder = R"({"elder_id":"E1","household_district":"dawukou","community":"com-1","birth_date":"1938-02-03","registered_on":"2024-02-01","personal":{"name":"王秀英","id_number":"640202193802031234","phone":"13895012345","address":"人民路12号"}})";
  auto reg = Run({"elder", "register", "--ledger", P("L"), "--actor", "com-1", "--key", P("com.pem"), "--master-key",
                  P("master.key"), "-"}, elder);
  ASSERT_EQ(reg.code, 0) << reg.err;
  auto show = Run({"elder", "--ledger", P("L"), "--id", "E1"});
  EXPECT_EQ(show.out.find("王秀英"), std::string::npos);
  EXPECT_NE(show.out.find("sealed"), std::string::npos);
  auto refused = Run({"elder", "--ledger", P("L"), "--id", "E1", "--reveal", "--key", P("ent.pem"), "--actor", "ent-a",
                      "--purpose", "curious", "--master-key", P("master.key")});
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.err.find("may not see this elder's personal data"), std::string::npos) << refused.err;
  auto shown = Run({"elder", "--ledger", P("L"), "--id", "E1", "--reveal", "--key", P("bur.pem"), "--actor", "bureau",
                    "--purpose", "complaint", "--master-key", P("master.key"), "--json"});
  ASSERT_EQ(shown.code, 0) << shown.err;
  EXPECT_EQ(nlohmann::json::parse(shown.out)["personal"]["name"], "王秀英");
  auto log = Run({"log", "--ledger", P("L"), "--json", "--from", "0", "--limit", "100"});
  EXPECT_NE(log.out.find("personal_data_revealed"), std::string::npos);
  EXPECT_EQ(log.out.find("王秀英"), std::string::npos);
  ASSERT_EQ(Run({"shred", "--ledger", P("L"), "--elder", "E1", "--operator-key", P("op.pem")}).code, 0);
  auto gone = Run({"elder", "--ledger", P("L"), "--id", "E1", "--reveal", "--key", P("bur.pem"), "--actor", "bureau",
                   "--purpose", "again", "--master-key", P("master.key")});
  EXPECT_EQ(gone.code, 1);
  EXPECT_NE(gone.err.find("erased"), std::string::npos) << gone.err;
  EXPECT_EQ(Run({"verify", "--ledger", P("L")}).code, 0);
}

// Log sizes, indexes and counts are whole numbers. CLI11 reads "-1" into an
// int64_t, which the commands took for "not given" (--at-size -1 answered
// now), and wraps it to 2^64 - 1 in a uint64_t (--limit -1 printed the whole
// log); each is refused by name before anything is opened.
TEST_F(Cli, RefusesNegativeAndNonNumericCountsByName) {
  State before = Snapshot();
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"billing", "--ledger", P("L"), "--month", "2024-01", "--at-size", "-1"}, "--at-size: '-1'"},
      {{"eligibility", "--ledger", P("L"), "--summary", "--on", "2024-01-01", "--at-size", "-3"}, "--at-size: '-3'"},
      {{"supervision", "--ledger", P("L"), "--month", "2024-01", "--enterprise", "ent-a", "--at-size", "-1"},
       "--at-size: '-1'"},
      {{"digest", "--ledger", P("L"), "--at-size", "-5"}, "--at-size: '-5'"},
      {{"reconcile", "--ledger", P("L"), "--month", "2024-01", "--at-size", "1e3"}, "--at-size: '1e3'"},
      {{"exit-recommendations", "--ledger", P("L"), "--month", "2024-01", "--at-size", "-2"}, "--at-size: '-2'"},
      {{"anomalies", "--ledger", P("L"), "--month", "2024-01", "--at-size", "-1"}, "--at-size: '-1'"},
      {{"prove", "inclusion", "--ledger", P("L"), "--index", "-1"}, "--index: '-1'"},
      {{"prove", "inclusion", "--ledger", P("L"), "--index", "0", "--size", "-1"}, "--size: '-1'"},
      {{"prove", "consistency", "--ledger", P("L"), "--from", "-2"}, "--from: '-2'"},
      {{"prove", "consistency", "--ledger", P("L"), "--from", "1", "--to", "-9"}, "--to: '-9'"},
      {{"log", "--ledger", P("L"), "--limit", "-1"}, "--limit: '-1'"},
      {{"log", "--ledger", P("L"), "--from", "-3"}, "--from: '-3'"},
      {{"checkpoints", "--ledger", P("L"), "--size", "-7"}, "--size: '-7'"},
      {{"spotcheck", "plan", "--ledger", P("L"), "--actor", "ent-a", "--key", P("ent.pem"), "--plan", "p1",
        "--enterprise", "ent-a", "--month", "2024-01", "--size", "-5"},
       "--size: '-5'"},
      {{"demo", "--ledger", P("D"), "--elders", "-5"}, "--elders: '-5'"},
  };
  for (const auto& [args, option] : cases) {
    auto r = Run(args);
    EXPECT_EQ(r.code, 2) << args[0] << " " << option << ": " << r.out;
    EXPECT_NE(r.err.find(option + " is not a whole number (0 or more)"), std::string::npos)
        << args[0] << ": " << r.err;
  }
  EXPECT_EQ(Snapshot(), before);
  EXPECT_FALSE(std::filesystem::exists(P("D"))) << "the demo started";
  // A size beyond the log is named by every as-of query (anomalies used to
  // answer at the current size instead).
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"anomalies", "--ledger", P("L"), "--month", "2024-01"},
           {"billing", "--ledger", P("L"), "--month", "2024-01"},
           {"reconcile", "--ledger", P("L"), "--month", "2024-01"},
           {"digest", "--ledger", P("L")}}) {
    args.insert(args.end(), {"--at-size", "999"});
    auto r = Run(args);
    EXPECT_EQ(r.code, 1) << args[0];
    EXPECT_NE(r.err.find("--at-size 999 is beyond the log's size 3"), std::string::npos) << args[0] << ": " << r.err;
  }
  // The log from its end on is empty (nothing new yet); beyond it, named.
  auto tail = Run({"log", "--ledger", P("L"), "--from", "3"});
  EXPECT_EQ(tail.code, 0) << tail.err;
  EXPECT_EQ(tail.out, "");
  auto past = Run({"log", "--ledger", P("L"), "--from", "4"});
  EXPECT_EQ(past.code, 1);
  EXPECT_NE(past.err.find("--from 4 is beyond the log's size 3"), std::string::npos) << past.err;
}

// `--on` is optional, as the eligibility command's synopsis has it: without
// it the business date is today in China.
TEST_F(Cli, EligibilityIsForTodayWithoutOn) {
  auto day = [] {
    auto now = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch());
    return FormatDate(DateOfTimestamp(now.count(), kChinaOffsetMinutes));
  };
  // This ledger has no policy: the refusal names the date asked about.
  std::string before = day();
  auto r = Run({"eligibility", "--ledger", P("L"), "--summary"});
  std::string after = day();
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(r.err.find("no policy is in force on " + before) != std::string::npos ||
              r.err.find("no policy is in force on " + after) != std::string::npos)
      << r.err << " is not about today (" << before << ")";
  auto fixed = Run({"eligibility", "--ledger", P("L"), "--summary", "--on", "2024-03-01"});
  EXPECT_NE(fixed.err.find("no policy is in force on 2024-03-01"), std::string::npos) << fixed.err;
}

// A mistyped elder or programme id is an error naming it, not a "not
// eligible" with exit status 0.
TEST_F(Cli, EligibilityRefusesIdsNobodyRegistered) {
  for (const char* who : {"bur", "com"}) Keygen(std::string(who) + ".pem");
  ASSERT_EQ(Run({"keys", "register", "--ledger", P("L"), "--operator-key", P("op.pem"), "--actor", "bureau", "--role",
                 "bureau", "--public-key", P("bur.pub")}).code, 0);
  ASSERT_EQ(Run({"keys", "register", "--ledger", P("L"), "--operator-key", P("op.pem"), "--actor", "com-1", "--role",
                 "community", "--public-key", P("com.pub")}).code, 0);
  auto none = Run({"eligibility", "--ledger", P("L"), "--elder", "E-0002", "--on", "2024-03-01", "--program", "meal_aid"});
  EXPECT_EQ(none.code, 1);
  EXPECT_NE(none.err.find("unknown elder 'E-0002' at log size 5"), std::string::npos) << none.err;
  auto policy = Run({"submit", "--ledger", P("L"), "--actor", "bureau", "--key", P("bur.pem"),
                     std::string(ELDERCARE_SOURCE_DIR) + "/projections/policy/default-policy.json"});
  ASSERT_EQ(policy.code, 0) << policy.err;
  auto elder = Run({"submit", "--ledger", P("L"), "--actor", "com-1", "--key", P("com.pem"), "-"},
                   R"({"type":"elder_registered","elder_id":"E-0002","household_district":"dawukou","community":"com-1","birth_date":"1930-02-02","registered_on":"2024-01-03"})");
  ASSERT_EQ(elder.code, 0) << elder.err;
  auto typo = Run({"eligibility", "--ledger", P("L"), "--elder", "E-0002", "--on", "2024-03-01", "--program", "meal_aide"});
  EXPECT_EQ(typo.code, 1);
  EXPECT_NE(typo.err.find("--program 'meal_aide' is in no policy published at log size 7 (programmes: "),
            std::string::npos) << typo.err;
  EXPECT_NE(typo.err.find("meal_aid"), std::string::npos) << "names the programmes there are";
  auto asked = Run({"eligibility", "--ledger", P("L"), "--elder", "E-0002", "--on", "2024-03-01", "--program",
                    "meal_aid", "--json"});
  ASSERT_EQ(asked.code, 0) << asked.err;
  auto answer = nlohmann::json::parse(asked.out);
  EXPECT_FALSE(answer["eligible"]) << "no application was approved";
  EXPECT_EQ(answer["monthly_entitlement_fen"], 0);
  // Before the elder was registered, the id was unknown.
  EXPECT_EQ(Run({"eligibility", "--ledger", P("L"), "--elder", "E-0002", "--on", "2024-03-01", "--at-size", "6"}).code, 1);

  // Exit recommendations judge a month the log has passed; the month its
  // latest entry was recorded in is not over, and they say so; at size 0
  // nothing is recorded, not even a policy.
  auto over = Run({"exit-recommendations", "--ledger", P("L"), "--month", "2024-03"});
  EXPECT_EQ(over.code, 0) << over.err;
  EXPECT_EQ(over.out, "no enterprise crossed a supervision threshold in 2024-03\n");
  EXPECT_EQ(over.err.find("is not over"), std::string::npos) << over.err;
  std::string month;
  {
    LedgerOptions ro;
    ro.read_only = true;
    auto l = Ledger::Open(P("L"), ro);
    ASSERT_TRUE(l.ok());
    month = FormatMonth(MonthOfDate(DateOfTimestamp(*(*l)->RecordedAt((*l)->Size() - 1), kChinaOffsetMinutes)));
  }
  auto current = Run({"exit-recommendations", "--ledger", P("L"), "--month", month});
  EXPECT_EQ(current.code, 0) << current.err;
  EXPECT_NE(current.err.find(month + " is not over at log size 7 (its latest entry was recorded on "), std::string::npos)
      << current.err;
  auto empty = Run({"exit-recommendations", "--ledger", P("L"), "--month", "2024-03", "--at-size", "0"});
  EXPECT_EQ(empty.code, 1);
  EXPECT_NE(empty.err.find("no policy is in force in 2024-03"), std::string::npos) << empty.err;
}

// Revoking the last unrevoked operator key would leave nobody able to
// register or revoke a key: refused, naming why, the ledger unchanged.
TEST_F(Cli, RefusesToRevokeTheLastOperatorKey) {
  ASSERT_EQ(Run({"keys", "revoke", "--ledger", P("L"), "--operator-key", P("op.pem"), "--actor", "ops-2",
                 "--public-key", ops2_pub_})
                .code,
            0);
  State before = Snapshot();
  auto r = Run({"keys", "revoke", "--ledger", P("L"), "--operator-key", P("op.pem"), "--actor", "operator",
                "--public-key", op_pub_});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("this is the last unrevoked operator key"), std::string::npos) << r.err;
  EXPECT_EQ(Snapshot(), before);
  // With another operator key registered first, the old one can go.
  Keygen("op3.pem");
  ASSERT_EQ(Run({"keys", "register", "--ledger", P("L"), "--operator-key", P("op.pem"), "--actor", "ops-3", "--role",
                 "operator", "--public-key", P("op3.pub")})
                .code,
            0);
  auto rotated = Run({"keys", "revoke", "--ledger", P("L"), "--operator-key", P("op.pem"), "--actor", "operator",
                      "--public-key", op_pub_});
  EXPECT_EQ(rotated.code, 0) << rotated.err;
  EXPECT_EQ(Run({"verify", "--ledger", P("L")}).code, 0);
}

TEST_F(Cli, RejectsBadArguments) {
  EXPECT_EQ(Run({"prove", "inclusion", "--ledger", P("L"), "--index", "99"}).code, 1);
  auto r = Run({"keys", "register", "--ledger", P("L"), "--operator-key", P("op.pem"), "--actor", "z", "--role",
                "emperor", "--public-key", ent_pub_});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("unknown role 'emperor'"), std::string::npos);
  EXPECT_EQ(Run({"verify"}).code, 1);
  EXPECT_EQ(Run({"frobnicate"}).code, 2);
  auto missing = Run({"log", "--ledger", P("nope")});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("no ledger at"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace eldercare
