#include "ledger/event_json.h"

#include <capnp/message.h>
#include <functional>
#include <gtest/gtest.h>

#include "ledger/event_schema.h"
#include "ledger/submission.h"

namespace eldercare {
namespace {

const std::string kKey = "a8PXqQAFKAlHM9nVJaNHSpo/y9PKCZlL3eLOGXKIt68=";

Status Parse(const std::string& text) {
  capnp::MallocMessageBuilder msg;
  return events::EventFromJsonText(text, msg.initRoot<schema::EventBody>());
}

TEST(EventJson, RoundTripsThroughCanonicalBytes) {
  std::string text = R"({"type":"key_registered","actor_id":"ent-1","role":"enterprise","public_key":")" + kKey +
                     R"(","valid_from":"2024-01-01T00:00:00+08:00","display_name":"安心养老"})";
  capnp::MallocMessageBuilder a;
  ASSERT_TRUE(events::EventFromJsonText(text, a.initRoot<schema::EventBody>()).ok());
  auto json = events::EventToJson(a.getRoot<schema::EventBody>().asReader());
  EXPECT_EQ(json["type"], "key_registered");
  EXPECT_EQ(json["valid_from"], "2023-12-31T16:00:00Z");
  EXPECT_EQ(json["display_name"], "安心养老");
  capnp::MallocMessageBuilder b;
  ASSERT_TRUE(events::EventFromJson(json, b.initRoot<schema::EventBody>()).ok());
  EXPECT_EQ(CanonicalBytes(a.getRoot<schema::EventBody>().asReader()),
            CanonicalBytes(b.getRoot<schema::EventBody>().asReader()));
}

TEST(EventJson, NamesTheFieldAtFault) {
  auto expect_error = [](const std::string& text, const std::string& fragment) {
    Status s = Parse(text);
    EXPECT_FALSE(s.ok()) << text;
    EXPECT_NE(s.message().find(fragment), std::string::npos) << "'" << s.message() << "' lacks '" << fragment << "'";
  };
  std::string base = R"("type":"key_registered","actor_id":"a","role":"bureau","public_key":")" + kKey + "\"";
  expect_error("{" + base + ",\"colour\":1}", "unknown field 'colour'");
  expect_error(R"({"type":"key_registered","role":"bureau","public_key":")" + kKey + "\"}", "missing required field 'actor_id'");
  expect_error(R"({"type":"key_registered","actor_id":"a","public_key":")" + kKey + "\"}", "missing required field 'role'");
  expect_error(R"({"type":"key_registered","actor_id":7,"role":"bureau","public_key":")" + kKey + "\"}",
               "field 'actor_id': expected a string, got an integer");
  expect_error(R"({"type":"key_registered","actor_id":"a","role":"boss","public_key":")" + kKey + "\"}",
               "field 'role': unknown value 'boss'");
  expect_error(R"({"type":"key_registered","actor_id":"a","role":"bureau","public_key":"AAAA"})",
               "field 'public_key' must be 32 bytes");
  expect_error(R"({"type":"key_registered","actor_id":"a","role":"bureau","public_key":"@@@@"})", "field 'public_key'");
  expect_error("{" + base + R"(,"valid_from":"yesterday"})", "field 'valid_from'");
  expect_error(R"({"type":"teleport"})", "unknown event type 'teleport'");
  expect_error(R"({"actor_id":"a"})", "missing field 'type'");
  expect_error(R"([1,2])", "must be a JSON object");
  expect_error(R"({"type":"key_registered",)", "malformed JSON at column");
  expect_error("{" + base + R"(,"display_name":")" + std::string(201, 'x') + "\"}", "limit of 200");
}

// What is shown as JSON must read back to the bytes that were signed: an
// empty string, an empty list, an empty byte string and a nested object of
// defaults show exactly as an absent field does, so they encode as one too.
// (Found by the submission_json fuzz target.)
TEST(EventJson, OneShownValueHasOneEncoding) {
  auto bytes = [](const std::string& text) {
    capnp::MallocMessageBuilder m;
    Status s = events::EventFromJsonText(text, m.initRoot<schema::EventBody>());
    EXPECT_TRUE(s.ok()) << text << ": " << s.ToString();
    return CanonicalBytes(m.getRoot<schema::EventBody>().asReader());
  };
  std::string elder = R"("type":"elder_registered","elder_id":"E1","household_district":"d","community":"c","birth_date":"1930-01-01","registered_on":"2024-01-02")";
  std::string bare = bytes("{" + elder + "}");
  EXPECT_EQ(bytes("{" + elder + R"(,"subdistrict":""})"), bare);
  EXPECT_EQ(bytes("{" + elder + R"(,"id_number_hmac":""})"), bare);
  EXPECT_EQ(bytes("{" + elder + R"(,"personal":{"ciphertext":"","key_id":"","nonce":""}})"), bare);
  EXPECT_EQ(bytes("{" + elder + R"(,"personal":{}})"), bare);
  EXPECT_NE(bytes("{" + elder + R"(,"subdistrict":"s"})"), bare);
  std::string exit = R"("type":"enterprise_exited","enterprise_id":"ent-c","reason":"r","effective_from":"2024-09-01")";
  EXPECT_EQ(bytes("{" + exit + R"(,"evidence":[]})"), bytes("{" + exit + "}"));
  // And the full round trip of an event with every such field.
  capnp::MallocMessageBuilder a, b;
  ASSERT_TRUE(events::EventFromJsonText("{" + elder + R"(,"subdistrict":"","personal":{}})",
                                        a.initRoot<schema::EventBody>()).ok());
  auto shown = events::EventToJson(a.getRoot<schema::EventBody>().asReader());
  ASSERT_TRUE(events::EventFromJson(shown, b.initRoot<schema::EventBody>()).ok()) << shown.dump();
  EXPECT_EQ(CanonicalBytes(a.getRoot<schema::EventBody>().asReader()),
            CanonicalBytes(b.getRoot<schema::EventBody>().asReader()));
}

// A date or time is stored as days or microseconds since the epoch, and 0
// means "not given": 1970-01-01 would be shown back as null, and a required
// field read back from it refused. So the epoch itself is refused, naming the
// field. (Found by the submission_json fuzz target.)
TEST(EventJson, RefusesTheEpochWhichMeansNotGiven) {
  capnp::MallocMessageBuilder m;
  Status s = events::EventFromJsonText(
      R"({"type":"elder_registered","elder_id":"E1","household_district":"d","community":"c","birth_date":"1970-01-01","registered_on":"2024-01-02"})",
      m.initRoot<schema::EventBody>());
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("field 'birth_date': 1970-01-01 is the epoch"), std::string::npos) << s.ToString();
  capnp::MallocMessageBuilder t;
  s = events::EventFromJsonText(
      R"({"type":"service_delivered","delivery_id":"d1","elder_id":"E1","enterprise_id":"ent","worker_id":"w1","service":"bathing","programme":"home_visit","check_in":"1970-01-01T08:00:00+08:00","check_out":"2024-03-04T09:50:00+08:00"})",
      t.initRoot<schema::EventBody>());
  EXPECT_NE(s.message().find("field 'check_in': 1970-01-01T08:00:00+08:00 is the epoch"), std::string::npos) << s.ToString();
  // The day after is a date like any other.
  capnp::MallocMessageBuilder ok;
  EXPECT_TRUE(events::EventFromJsonText(
                  R"({"type":"elder_registered","elder_id":"E1","household_district":"d","community":"c","birth_date":"1970-01-02","registered_on":"2024-01-02"})",
                  ok.initRoot<schema::EventBody>())
                  .ok());
}

TEST(EventJson, RefusesRepeatedKeysAndNumbersJsonCannotShow) {
  Status s = Parse(R"({"type":"key_revoked","actor_id":"a","actor_id":"b","public_key":")" + kKey + "\"}");
  EXPECT_NE(s.message().find("field 'actor_id' appears more than once"), std::string::npos) << s.ToString();
  // Repeated keys in different objects are fine; only one object's keys clash.
  EXPECT_TRUE(events::ParseStrictJson(R"([{"a":1},{"a":2}])").ok());
  EXPECT_FALSE(events::ParseStrictJson(R"([{"a":1,"b":{"a":2,"a":3}}])").ok());
}

// A binary submission is not limited by what JSON can spell: times and
// dates outside the years 0001-9999 are refused by the write-side rules.
TEST(EventSchema, TimesAndDatesOutsideTheYears1To9999AreRefused) {
  capnp::MallocMessageBuilder m;
  auto body = m.initRoot<schema::EventBody>();
  ASSERT_TRUE(events::EventFromJsonText(R"({"type":"key_registered","actor_id":"a","role":"bureau","public_key":")" +
                                            kKey + R"(","valid_from":"2024-01-01T00:00:00Z"})",
                                        body).ok());
  EXPECT_TRUE(events::ValidateBody(body.asReader()).ok());
  body.getKeyRegistered().setValidFrom(INT64_MIN);
  Status s = events::ValidateBody(body.asReader());
  EXPECT_NE(s.message().find("field 'valid_from': -9223372036854775808 is not a time in the years 0001 to 9999"),
            std::string::npos)
      << s.ToString();

  capnp::MallocMessageBuilder n;
  auto app = n.initRoot<schema::EventBody>();
  ASSERT_TRUE(events::EventFromJsonText(
                  R"({"type":"application_submitted","application_id":"a1","elder_id":"E1","programme":"meal_aid","filed_by":"family","filed_on":"2024-01-06"})",
                  app).ok());
  EXPECT_TRUE(events::ValidateBody(app.asReader()).ok());
  app.getApplicationSubmitted().setFiledOn(INT32_MAX);
  s = events::ValidateBody(app.asReader());
  EXPECT_NE(s.message().find("field 'filed_on': 2147483647 is not a date"), std::string::npos) << s.ToString();
}

// Each way a binary body can break the write-side rules is refused by the
// fast check too (it may only ever accept what the dynamic validator
// accepts), and ValidateBody names the fault.
TEST(EventSchema, TheFastCheckRefusesWhatTheDynamicValidatorRefuses) {
  struct Case {
    std::string json;
    std::function<void(schema::EventBody::Builder)> spoil;
    std::string fragment;
  };
  std::string key = R"({"type":"key_registered","actor_id":"a","role":"bureau","public_key":")" + kKey + "\"}";
  std::string app =
      R"({"type":"application_submitted","application_id":"a1","elder_id":"E1","programme":"meal_aid","filed_by":"family","filed_on":"2024-01-06","claimed":["lives_alone"]})";
  std::vector<Case> cases = {
      {key, [](auto b) { b.getKeyRegistered().setActorId(std::string(300, 'x')); }, "more than its limit"},
      {key, [](auto b) { b.getKeyRegistered().setActorId("\xff\xfe"); }, "not valid UTF-8"},
      {key, [](auto b) { b.getKeyRegistered().disownActorId(); }, "missing required field 'actor_id'"},
      {key, [](auto b) { b.getKeyRegistered().setRole(static_cast<schema::Role>(999)); }, "unknown enum value 999"},
      {key, [](auto b) { b.getKeyRegistered().setPublicKey(capnp::Data::Reader(reinterpret_cast<const uint8_t*>("abc"), 3)); },
       "must be 32 bytes"},
      {key, [](auto b) { b.getKeyRegistered().setValidFrom(INT64_MAX); }, "is not a time"},
      {app, [](auto b) { b.getApplicationSubmitted().setFiledOn(-1000000000); }, "is not a date"},
      {app, [](auto b) { b.getApplicationSubmitted().getClaimed().set(0, static_cast<schema::Circumstance>(4000)); },
       "unknown enum value 4000"},
  };
  for (const auto& c : cases) {
    capnp::MallocMessageBuilder m;
    auto body = m.initRoot<schema::EventBody>();
    ASSERT_TRUE(events::EventFromJsonText(c.json, body).ok()) << c.json;
    EXPECT_TRUE(events::FastBodyIsValid(body.asReader())) << c.json;  // the unspoilt body takes the fast path
    c.spoil(body);
    EXPECT_FALSE(events::FastBodyIsValid(body.asReader())) << c.fragment;
    Status s = events::ValidateBody(body.asReader());
    EXPECT_NE(s.message().find(c.fragment), std::string::npos) << "'" << s.message() << "' lacks '" << c.fragment << "'";
  }
}

TEST(EventSchema, WritersComeFromTheSchemaAnnotations) {
  const auto* reg = events::FindEventType("key_registered");
  ASSERT_NE(reg, nullptr);
  ASSERT_EQ(reg->writers.size(), 1u);
  EXPECT_EQ(reg->writers[0], schema::Role::OPERATOR);
  EXPECT_TRUE(events::RoleMayWrite(schema::Role::OPERATOR, *reg));
  EXPECT_FALSE(events::RoleMayWrite(schema::Role::ENTERPRISE, *reg));
  // Every event type names at least one writer: an unannotated type would be unwritable.
  for (const auto& t : events::EventTypes()) EXPECT_FALSE(t.writers.empty()) << t.name;
}

// An event's JSON is its struct's fields plus "type": a field of that name
// would overwrite the event type (EventToJson), and submit could not read
// the line back. One event of each type, rendered, names its type.
TEST(EventSchema, NoEventHasAFieldNamedType) {
  for (const auto& t : events::EventTypes()) {
    auto fields = t.field.getType().asStruct().getFields();
    for (auto f : fields) EXPECT_NE(events::SnakeCase(f.getProto().getName().cStr()), "type") << t.name;
    capnp::MallocMessageBuilder m;
    auto body = m.initRoot<schema::EventBody>();
    capnp::toDynamic(body).init(t.field);
    EXPECT_EQ(events::EventToJson(body.asReader())["type"], t.name);
  }
}

TEST(EventSchema, AnnotationIdsMatchTheSchema) {
  auto field = capnp::Schema::from<schema::Genesis>().getFieldByName("operatorKey");
  EXPECT_TRUE(events::HasAnnotation(field, events::kAnnRequired));
  EXPECT_EQ(events::UInt32Annotation(field, events::kAnnSize), 32u);
  auto origin = capnp::Schema::from<schema::Genesis>().getFieldByName("origin");
  EXPECT_EQ(events::UInt32Annotation(origin, events::kAnnMaxLength), 200u);
  auto vf = capnp::Schema::from<schema::KeyRegistered>().getFieldByName("validFrom");
  EXPECT_TRUE(events::HasAnnotation(vf, events::kAnnTimestamp));
  auto digests = capnp::Schema::from<schema::SignedHeader>().getFieldByName("bodyDigests");
  (void)digests;
}

TEST(EventSchema, IdsAreRestricted) {
  EXPECT_TRUE(events::ValidateId("id", "ent-anxin_01:2024/03@x.y").ok());
  EXPECT_FALSE(events::ValidateId("id", "").ok());
  EXPECT_FALSE(events::ValidateId("id", "-lead").ok());
  EXPECT_FALSE(events::ValidateId("id", "has space").ok());
  EXPECT_FALSE(events::ValidateId("id", "安心").ok());
  EXPECT_FALSE(events::ValidateId("id", std::string(129, 'a')).ok());
}

}  // namespace
}  // namespace eldercare
