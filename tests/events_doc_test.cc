// docs/EVENTS.md is a story: every JSON block, submitted in order by the
// writer named above it, must be accepted. The page cannot drift from the code.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "ledger/entry.h"
#include "ledger/event_schema.h"
#include "ledger/submission.h"
#include "tests/programme_util.h"

namespace eldercare {
namespace {

struct Block {
  std::string writer;
  std::string lines;
  int line_no;
};

std::vector<Block> ReadBlocks(const std::string& path) {
  std::ifstream in(path);
  std::vector<Block> out;
  std::string line, writer;
  int n = 0;
  bool in_block = false;
  while (std::getline(in, line)) {
    ++n;
    if (line.rfind("<!-- writer: ", 0) == 0) {
      writer = line.substr(13, line.find(" -->") - 13);
    } else if (line == "```json") {
      EXPECT_FALSE(writer.empty()) << "line " << n << ": a json block without a writer";
      out.push_back({writer, "", n});
      in_block = true;
    } else if (line == "```") {
      in_block = false;
      writer.clear();
    } else if (in_block) {
      out.back().lines += line + "\n";
    }
  }
  return out;
}

TEST(EventsDoc, EveryExampleIsAcceptedInOrder) {
  testing::ProgrammeFixture f(/*publish_policy=*/false);
  auto blocks = ReadBlocks(std::string(ELDERCARE_SOURCE_DIR) + "/docs/EVENTS.md");
  ASSERT_GT(blocks.size(), 20u);
  std::set<std::string> types;
  for (const Block& b : blocks) {
    auto& base = f.base();
    const PrivateKey& key = b.writer == "operator" ? base.op_key : base.keys.at(b.writer);
    auto r = base.AppendJson(b.writer, key, b.lines, "doc-" + std::to_string(b.line_no));
    ASSERT_TRUE(r.ok()) << "docs/EVENTS.md line " << b.line_no << ": " << r.status().ToString();
    std::istringstream in(b.lines);
    for (std::string l; std::getline(in, l);) {
      auto j = nlohmann::json::parse(l);
      types.insert(j["type"].get<std::string>());
    }
  }
  // Every event type but genesis (written by init) has an example.
  for (const auto& t : events::EventTypes()) {
    if (t.name == "genesis") continue;
    EXPECT_TRUE(types.count(t.name)) << "docs/EVENTS.md has no example of '" << t.name << "'";
  }

  // The verifier's shortcuts hold for every stored example (every event
  // type): the fast schema check accepts it without the reflection
  // validator, and the body digest hashed in place within the canonical
  // entry equals the digest of capnp::canonicalize; and the canonical bytes
  // the ledger builds (WithCanonical) are capnp::canonicalize's.
  std::set<std::string> checked;
  ASSERT_TRUE(f.base().ledger->ScanEntries(0, UINT64_MAX, [&](uint64_t index, std::string_view leaf) {
    auto entry = ParseEntry(leaf);
    EXPECT_TRUE(entry.ok()) << index;
    if (!entry.ok()) return false;
    auto body = entry->Root<schema::Entry>().getBody();
    const auto* type = events::EventTypeOf(body);
    EXPECT_TRUE(events::FastBodyIsValid(body)) << "entry " << index << " (" << type->name << ")";
    EXPECT_TRUE(events::ValidateBodyDynamic(body).ok()) << index;
    EXPECT_EQ(BodyDigestInCanonicalEntry(*entry), BodyDigest(body)) << "entry " << index << " (" << type->name << ")";
    kj::Array<capnp::word> canonical = capnp::canonicalize(body);
    EXPECT_EQ(CanonicalBytes(body), AsChars(ByteSpan(canonical.asBytes().begin(), canonical.asBytes().size())))
        << "entry " << index << " (" << type->name << ")";
    EXPECT_EQ(CanonicalBytes(entry->Root<schema::Entry>()), leaf) << "entry " << index;
    checked.insert(type->name);
    return true;
  }).ok());
  EXPECT_EQ(checked.size(), events::EventTypes().size());
}

}  // namespace
}  // namespace eldercare
