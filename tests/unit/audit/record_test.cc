// The audit line format: canonical field order, escaping, parsing back, the
// checkpoint MAC split, and the absence of any identifier field.
#include "service/audit/record.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "tests/testing/status_matchers.h"

namespace idsign::audit {
namespace {

using ::idsign::testing::IsOk;
using ::idsign::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kPrev(64, 'a');

Record FullRecord() {
  Record record;
  record.time =
      absl::FromUnixMillis(1767323045678);  // 2026-01-02T03:04:05.678Z
  record.request_id = "req-1";
  record.caller = "ipv4:10.0.0.7:51234";
  record.operation = "BatchSign";
  record.key = "intercom/web/prod";
  record.versions = {1, 2};
  record.outcome = absl::StatusCode::kNotFound;
  record.items = 10;
  record.failed_items = 3;
  record.latency_us = 412;
  record.details = {{"b", "2"}, {"a", "1"}};
  return record;
}

std::string Escaped(absl::string_view text) {
  std::string out;
  AppendJsonString(&out, text);
  return out;
}

TEST(RecordFormatTest, RecordLineHasFixedFieldOrder) {
  EXPECT_EQ(
      FormatRecordLine(3, kPrev, FullRecord()),
      "{\"type\":\"record\",\"seq\":3,\"prev\":\"" + kPrev +
          "\",\"time\":\"2026-01-02T03:04:05.678Z\",\"request_id\":\"req-1\","
          "\"caller\":\"ipv4:10.0.0.7:51234\",\"operation\":\"BatchSign\","
          "\"key\":\"intercom/web/prod\",\"versions\":[1,2],"
          "\"outcome\":\"NOT_FOUND\",\"items\":10,\"failed_items\":3,"
          "\"latency_us\":412,\"details\":{\"a\":\"1\",\"b\":\"2\"}}");
}

TEST(RecordFormatTest, CheckpointBodyAndMac) {
  const std::string body =
      FormatCheckpointBody(4, kPrev, 3, absl::FromUnixMillis(1767323046000));
  EXPECT_EQ(body,
            "{\"type\":\"checkpoint\",\"seq\":4,\"prev\":\"" + kPrev +
                "\",\"records\":3,\"time\":\"2026-01-02T03:04:06.000Z\"}");
  const std::string mac(64, 'b');
  const std::string line = AddCheckpointMac(body, mac);
  EXPECT_EQ(line,
            body.substr(0, body.size() - 1) + ",\"mac\":\"" + mac + "\"}");

  std::string split_body, split_mac;
  ASSERT_TRUE(SplitCheckpointMac(line, &split_body, &split_mac));
  EXPECT_EQ(split_body, body);
  EXPECT_EQ(split_mac, mac);
  EXPECT_FALSE(SplitCheckpointMac(body, &split_body, &split_mac));
  EXPECT_FALSE(SplitCheckpointMac(AddCheckpointMac(body, std::string(64, 'G')),
                                  &split_body, &split_mac));

  auto parsed = ParseLine(line);
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->type, LineType::kCheckpoint);
  EXPECT_EQ(parsed->seq, 4u);
  EXPECT_EQ(parsed->prev, kPrev);
  EXPECT_EQ(parsed->records, 3u);
  EXPECT_EQ(parsed->mac, mac);
}

TEST(RecordFormatTest, RoundTrip) {
  const Record record = FullRecord();
  auto parsed = ParseLine(FormatRecordLine(7, kPrev, record));
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->type, LineType::kRecord);
  EXPECT_EQ(parsed->seq, 7u);
  EXPECT_EQ(parsed->prev, kPrev);
  EXPECT_EQ(parsed->record, record);
}

TEST(RecordFormatTest, HostileStringsStayOneValidLine) {
  Record record = FullRecord();
  record.request_id = "a\"b\\c\nd\re\tf\x01g\x7f";
  record.caller = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91";  // valid UTF-8
  record.key = "bad\xff\xc3(";                                  // invalid UTF-8
  record.details = {{"note\n", "}\"],{"}};
  const std::string line = FormatRecordLine(1, kZeroHash, record);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto parsed = ParseLine(line);
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->record.request_id, record.request_id);
  EXPECT_EQ(parsed->record.caller, record.caller);
  EXPECT_EQ(parsed->record.key, "bad\xef\xbf\xbd\xef\xbf\xbd(");
  EXPECT_EQ(parsed->record.details, record.details);
}

TEST(RecordFormatTest, Escaping) {
  EXPECT_EQ(Escaped("plain"), "\"plain\"");
  EXPECT_EQ(Escaped("q\"b\\"), "\"q\\\"b\\\\\"");
  EXPECT_EQ(Escaped("\n\r\t"), "\"\\n\\r\\t\"");
  EXPECT_EQ(Escaped(std::string("\0\x1f", 2)), "\"\\u0000\\u001f\"");
  EXPECT_EQ(Escaped("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");  // surrogate
  EXPECT_EQ(Escaped("\xc0\xaf"), "\"\\ufffd\\ufffd\"");             // overlong
  EXPECT_EQ(Escaped("\xe2\x82"), "\"\\ufffd\\ufffd\"");             // cut short
}

TEST(RecordFormatTest, TimeIsRfc3339UtcMillis) {
  EXPECT_EQ(FormatAuditTime(absl::FromUnixMillis(0)),
            "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatAuditTime(absl::FromUnixMicros(1767323045678999)),
            "2026-01-02T03:04:05.678Z");
}

TEST(RecordFormatTest, StatusCodeNames) {
  absl::StatusCode code;
  ASSERT_TRUE(ParseStatusCodeName("UNAVAILABLE", &code));
  EXPECT_EQ(code, absl::StatusCode::kUnavailable);
  ASSERT_TRUE(ParseStatusCodeName("OK", &code));
  EXPECT_EQ(code, absl::StatusCode::kOk);
  EXPECT_FALSE(ParseStatusCodeName("unavailable", &code));
  EXPECT_FALSE(ParseStatusCodeName("", &code));
}

TEST(RecordFormatTest, ParseRejectsMalformedLines) {
  const std::string good = FormatRecordLine(1, kZeroHash, FullRecord());
  const auto with = [&](const std::string& from, const std::string& to) {
    std::string line = good;
    line.replace(line.find(from), from.size(), to);
    return line;
  };
  EXPECT_THAT(ParseLine(""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseLine("{not json"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseLine(good + "x"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseLine(with("\"type\":\"record\"", "\"type\":\"other\"")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("type")));
  EXPECT_THAT(ParseLine(with("\"seq\":1", "\"seq\":0")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("seq")));
  EXPECT_THAT(ParseLine(with(std::string(kZeroHash), "00")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("prev")));
  EXPECT_THAT(ParseLine(with(".678Z", "Z")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("time")));
  EXPECT_THAT(
      ParseLine(with("NOT_FOUND", "NOPE")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("outcome")));
  EXPECT_THAT(ParseLine(with("\"items\":10", "\"records\":10")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("checkpoint fields")));
}

// A record has no place for a user id, e-mail or secret: the line's fields
// are exactly these, and a line that carries any other field does not parse.
TEST(RecordFormatTest, NoIdentifierFieldExists) {
  const std::string line = FormatRecordLine(1, kZeroHash, FullRecord());
  std::set<std::string> top_level;
  const std::string without_details = line.substr(0, line.find("\"details\""));
  std::regex field("\"([a-z_]+)\":");
  for (auto it = std::sregex_iterator(without_details.begin(),
                                      without_details.end(), field);
       it != std::sregex_iterator(); ++it) {
    top_level.insert((*it)[1]);
  }
  top_level.insert("details");
  EXPECT_THAT(top_level,
              ::testing::UnorderedElementsAre(
                  "type", "seq", "prev", "time", "request_id", "caller",
                  "operation", "key", "versions", "outcome", "items",
                  "failed_items", "latency_us", "details"));
  std::regex identifier("user|mail|identity|subject|secret|pin|token");
  for (const std::string& name : top_level) {
    EXPECT_FALSE(std::regex_search(name, identifier)) << name;
  }
  for (const char* injected : {"user_id", "email", "identity", "secret"}) {
    std::string tampered = line;
    tampered.insert(tampered.size() - 1,
                    absl::StrCat(",\"", injected, "\":\"alice@example.com\""));
    EXPECT_THAT(ParseLine(tampered),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << injected;
  }
}

TEST(RecordFormatTest, VersionsKeepOrder) {
  Record record = FullRecord();
  record.versions = {3, 1, 2};
  auto parsed = ParseLine(FormatRecordLine(1, kZeroHash, record));
  ASSERT_THAT(parsed, IsOk());
  EXPECT_THAT(parsed->record.versions, ElementsAre(3u, 1u, 2u));
}

}  // namespace
}  // namespace idsign::audit
