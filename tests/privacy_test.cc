// Elders' personal data: never in clear in any file, erasable by destroying
// its key without breaking a proof, and revealed only to the privileged, on
// the record.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "ledger/export.h"
#include "ledger/personal.h"
#include "ledger/verifier.h"
#include "projections/keys.h"
#include "tests/programme_util.h"

namespace eldercare {
namespace {

namespace fs = std::filesystem;
using testing::ProgrammeFixture;

// Every byte of every file under `dir`.
std::string AllBytes(const std::string& dir) {
  std::string all;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    all += ss.str();
  }
  return all;
}

PersonalData Person(int i) {
  char id[32];
  std::snprintf(id, sizeof id, "64020219%02d0101%04d", 30 + i % 20, 1000 + i % 9000);
  return {"测试老人" + std::to_string(i) + "号", id, "1389501" + std::to_string(1000 + i),
          "大武口区幸福路" + std::to_string(i) + "号", "notes-" + std::to_string(i)};
}

class Privacy : public ::testing::Test {
 protected:
  void SetUp() override {
    f.EnterpriseAndContract("ent-a", "com-1", "2024-01-01", "2026-12-31");
    master = *RandomKey();
    keys = std::move(KeyStore::Open(f.base().path(), master)).value();
  }
  // Registers elders E0..E(n-1) with sealed personal data, in batches.
  void RegisterElders(int n) {
    for (int start = 0; start < n; start += 250) {
      SubmissionBuilder b("com-1");
      for (int i = start; i < std::min(n, start + 250); ++i) {
        auto e = b.AddEvent().initElderRegistered();
        e.setElderId("E" + std::to_string(i));
        e.setHouseholdDistrict("dawukou");
        e.setCommunity("com-1");
        e.setBirthDate(*ParseDate("1930-01-01"));  // 90+: eligible by condition 6 once approved
        e.setRegisteredOn(*ParseDate("2024-01-02"));
        ASSERT_TRUE(SealPersonal(*keys, Person(i), e).ok());
      }
      auto r = f.ledger().Append(b.Sign(f.base().keys.at("com-1")));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
    }
  }
  proj::Record<schema::ElderRecord> Elder(const std::string& id) {
    auto v = f.Snap();
    return *v.snap->Load<schema::ElderRecord>(keys::Join({"el", id}));
  }
  Result<PersonalData> Reveal(const std::string& actor, const std::string& elder, const std::string& on = "2024-06-01") {
    SubmissionBuilder b(actor);
    auto e = b.AddEvent().initPersonalDataRevealed();
    e.setElderId(elder);
    e.setPurpose("visit planning");
    e.setRevealedOn(*ParseDate(on));
    auto rec = Elder(elder);
    return RevealAfterRecording(f.ledger(), *keys, b.Sign(f.base().keys.at(actor)), rec.get().getProfile());
  }

  ProgrammeFixture f;
  SymmetricKey master{};
  std::unique_ptr<KeyStore> keys;
};

TEST_F(Privacy, NoFileHoldsANameIdNumberOrPhone) {
  RegisterElders(200);
  std::string out = f.base().dir.Sub("export");
  auto scan = [&](const std::string& where) {
    std::string bytes = AllBytes(where);
    ASSERT_GT(bytes.size(), 10000u);
    for (int i = 0; i < 200; ++i) {
      PersonalData p = Person(i);
      for (const std::string& secret : {p.name, p.id_number, p.phone, p.address}) {
        ASSERT_EQ(bytes.find(secret), std::string::npos) << where << " holds '" << secret << "'";
      }
    }
  };
  scan(f.base().path());  // WAL, memtable-backed data
  ASSERT_TRUE(f.ledger().Flush(/*compact=*/true).ok());
  scan(f.base().path());  // SSTs
  ASSERT_TRUE(WriteExport(f.ledger(), out).ok());
  scan(out);  // the export carries ciphertext only
  // ...and yet the data is there for whoever may see it.
  auto p = OpenPersonal(*keys, Elder("E7").get().getProfile());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->name, Person(7).name);
  EXPECT_EQ(p->id_number, Person(7).id_number);
}

TEST_F(Privacy, TheSamePersonCannotBeRegisteredTwice) {
  RegisterElders(3);
  SubmissionBuilder b("com-1");
  auto e = b.AddEvent().initElderRegistered();
  e.setElderId("E-dup");
  e.setHouseholdDistrict("dawukou");
  e.setCommunity("com-1");
  e.setBirthDate(*ParseDate("1935-01-01"));
  e.setRegisteredOn(*ParseDate("2024-01-02"));
  PersonalData same = Person(1);
  same.id_number.back() = same.id_number.back() == 'X' ? 'x' : same.id_number.back();
  ASSERT_TRUE(SealPersonal(*keys, same, e).ok());
  auto r = f.ledger().Append(b.Sign(f.base().keys.at("com-1")));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("already registered as elder 'E1'"), std::string::npos) << r.status().message();
}

TEST_F(Privacy, RevealIsForTheBureauAndTheContractedEnterpriseAndIsRecorded) {
  RegisterElders(2);
  uint64_t before = f.ledger().Size();
  auto by_bureau = Reveal("bureau", "E0");
  ASSERT_TRUE(by_bureau.ok()) << by_bureau.status().ToString();
  EXPECT_EQ(by_bureau->name, Person(0).name);
  EXPECT_EQ(f.ledger().Size(), before + 1);
  auto entry = ParseEntry(*f.ledger().EntryBytes(before));
  auto body = entry->Root<schema::Entry>().getBody();
  ASSERT_TRUE(body.isPersonalDataRevealed());
  EXPECT_EQ(std::string(entry->Root<schema::Entry>().getWriter().cStr()), "bureau");
  EXPECT_EQ(std::string(body.getPersonalDataRevealed().getPurpose().cStr()), "visit planning");

  EXPECT_TRUE(Reveal("ent-a", "E1").ok());  // its contract covers com-1
  uint64_t size = f.ledger().Size();
  // Not while the contract has ended, not for another enterprise, not for an inspector.
  auto late = Reveal("ent-a", "E1", "2027-01-05");
  ASSERT_FALSE(late.ok());
  EXPECT_NE(late.status().message().find("may not see this elder's personal data"), std::string::npos);
  f.Expect("bureau", R"({"type":"enterprise_registered","enterprise_id":"ent-b","name":"B","registered_on":"2024-01-01"})");
  size = f.ledger().Size();
  EXPECT_EQ(Reveal("ent-b", "E1").status().code(), Status::Code::kPermissionDenied);
  auto insp = Reveal("insp", "E1");
  ASSERT_FALSE(insp.ok());
  EXPECT_NE(insp.status().message().find("role 'inspector' may not write 'personal_data_revealed'"), std::string::npos);
  EXPECT_EQ(f.ledger().Size(), size) << "a refused reveal left an event";
}

TEST_F(Privacy, ShreddingAThousandEldersKeepsEveryProofAndStatement) {
  RegisterElders(1000);
  // Some billing that involves them.
  for (int i = 0; i < 20; ++i) {
    std::string e = "E" + std::to_string(i);
    f.Assess(e, "a" + std::to_string(i), 50, "moderate");
    f.Approve(e, "home_visit", "app" + std::to_string(i));
  }
  std::string lines;
  for (int i = 0; i < 20; ++i) {
    lines += ProgrammeFixture::Delivery("d" + std::to_string(i), "E" + std::to_string(i), "w" + std::to_string(i % 4),
                                        "bathing", "2024-03-0" + std::to_string(1 + i % 9) + "T09:00:00+08:00",
                                        "2024-03-0" + std::to_string(1 + i % 9) + "T10:00:00+08:00", 100 + i) +
             "\n";
  }
  f.Expect("ent-a", lines);
  uint64_t size_before = f.ledger().Size();
  auto statement_before = f.Bill("ent-a", "2024-03");
  auto elig_before = f.Elig("E3", "home_visit", "2024-03-05");
  ASSERT_TRUE(f.ledger().MakeCheckpoint(f.base().op_key).ok());
  std::string wrapped_bytes;
  {
    // The wrapped keys as they sit in the key store now: afterwards no file may hold them.
    std::string store = AllBytes(f.base().path() + "/keystore");
    ASSERT_FALSE(store.empty());
    wrapped_bytes = store;
  }
  std::vector<std::string> ids;
  SubmissionBuilder receipts(f.ledger().operator_id());
  for (int i = 0; i < 1000; ++i) {
    ids.push_back("E" + std::to_string(i));
    auto e = receipts.AddEvent().initElderDataErased();
    e.setElderId(ids.back());
    e.setErasedOn(*ParseDate("2024-07-01"));
    e.setReason("test");
  }
  ASSERT_TRUE(f.ledger().Append(receipts.Sign(f.base().op_key)).ok());
  ASSERT_TRUE(keys->DestroyMany(ids).ok());
  ASSERT_TRUE(f.ledger().Flush(true).ok());

  // Verify is green; statements and eligibility reproduce, now and as of before.
  auto report = VerifyLedgerDir(f.base().path(), {});
  EXPECT_TRUE(report.ok) << report.error;
  // Today's statement says the same (only its at_size differs)...
  auto now = f.Bill("ent-a", "2024-03");
  capnp::MallocMessageBuilder same;
  same.setRoot(now->get());
  same.getRoot<schema::Statement>().setAtSize(statement_before->get().getAtSize());
  EXPECT_EQ(CanonicalBytes(same.getRoot<schema::Statement>().asReader()), statement_before->canonical());
  EXPECT_GT(now->get().getBilledFen(), 0);
  // ...and as of the earlier size it is the same, byte for byte.
  EXPECT_EQ(f.Bill("ent-a", "2024-03", static_cast<int64_t>(size_before))->digest(), statement_before->digest());
  EXPECT_EQ(f.Elig("E3", "home_visit", "2024-03-05").eligible, elig_before.eligible);
  EXPECT_EQ(f.Elig("E3", "home_visit", "2024-03-05").monthly_entitlement_fen, elig_before.monthly_entitlement_fen);
  // Nothing decrypts any more, and no file holds a data key record of theirs.
  for (const std::string& id : {std::string("E0"), std::string("E500"), std::string("E999")}) {
    EXPECT_EQ(OpenPersonal(*keys, Elder(id).get().getProfile()).status().code(), Status::Code::kNotFound);
    EXPECT_FALSE(keys->Has(id));
  }
  std::string after = AllBytes(f.base().path());
  size_t found = 0;
  // Each wrapped record is 76 bytes after its "dek/<id>" key; look for their tails.
  for (size_t pos = wrapped_bytes.find("dek/E"); pos != std::string::npos; pos = wrapped_bytes.find("dek/E", pos + 1)) {
    std::string tail = wrapped_bytes.substr(pos + 5, 40);
    found += after.find(tail) != std::string::npos && tail.size() == 40;
  }
  EXPECT_EQ(found, 0u) << "wrapped data keys survive in some file";
  // A reveal after erasure is refused and recorded nowhere.
  uint64_t size = f.ledger().Size();
  EXPECT_FALSE(Reveal("bureau", "E5").ok());
  EXPECT_EQ(f.ledger().Size(), size);
}

TEST_F(Privacy, AWrongMasterKeyOrAlteredCiphertextIsRefused) {
  RegisterElders(1);
  keys.reset();
  SymmetricKey other = *RandomKey();
  auto wrong = KeyStore::Open(f.base().path(), other);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), Status::Code::kPermissionDenied);
  keys = std::move(KeyStore::Open(f.base().path(), master)).value();
  auto rec = Elder("E0");
  capnp::MallocMessageBuilder copy;
  copy.setRoot(rec.get().getProfile());
  auto profile = copy.getRoot<schema::ElderRegistered>();
  profile.getPersonal().getCiphertext()[3] ^= 1;
  EXPECT_EQ(OpenPersonal(*keys, profile.asReader()).status().code(), Status::Code::kPermissionDenied);
  // The ciphertext of one elder does not open as another's (AAD binds the id).
  profile.getPersonal().getCiphertext()[3] ^= 1;
  profile.setElderId("E-other");
  EXPECT_FALSE(OpenPersonal(*keys, profile.asReader()).ok());
}

}  // namespace
}  // namespace eldercare
