#include "discovery/kube/watch_decoder.h"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <random>
#include <string>
#include <vector>

namespace expvar::discovery::kube {
namespace {

namespace json = boost::json;

std::string Line(const char* type, const json::value& object) {
  return json::serialize(json::object{{"type", type}, {"object", object}}) + "\n";
}

json::object PodWithVersion(int i, std::size_t padding = 0) {
  return {{"metadata",
           json::object{{"name", "p" + std::to_string(i)}, {"resourceVersion", std::to_string(i)}}},
          {"data", std::string(padding, 'x')}};
}

std::string Version(const WatchEvent& event) {
  return std::string(event.object.at("metadata").at("resourceVersion").as_string());
}

TEST(WatchDecoderTest, DecodesEveryEventType) {
  const char* kTypes[] = {"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"};
  std::string stream;
  for (int i = 0; i < 5; ++i) stream += Line(kTypes[i], PodWithVersion(i));
  WatchDecoder decoder;
  std::vector<WatchEvent> events;
  ASSERT_TRUE(decoder.Feed(stream, &events));
  ASSERT_EQ(events.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(EventTypeName(events[i].type), kTypes[i]);
    EXPECT_EQ(Version(events[i]), std::to_string(i));
  }
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
}

TEST(WatchDecoderTest, RandomChunkBoundariesYieldTheSameEvents) {
  std::string stream;
  constexpr int kEvents = 200;
  std::mt19937 random(42);
  for (int i = 0; i < kEvents; ++i) {
    // Sizes from a few bytes to well above a typical read buffer.
    stream += Line("MODIFIED", PodWithVersion(i, random() % 3 == 0 ? random() % 100'000 : 0));
  }
  for (int round = 0; round < 50; ++round) {
    WatchDecoder decoder;
    std::vector<WatchEvent> events;
    for (std::size_t at = 0; at < stream.size();) {
      // Mostly tiny pieces (splitting inside tokens), sometimes large ones (many lines).
      const std::size_t size = random() % 4 == 0 ? random() % 300'000 : 1 + random() % 64;
      ASSERT_TRUE(decoder.Feed(std::string_view(stream).substr(at, size), &events));
      at += size;
    }
    ASSERT_TRUE(decoder.Finish(&events));
    ASSERT_EQ(events.size(), static_cast<std::size_t>(kEvents)) << "round " << round;
    for (int i = 0; i < kEvents; ++i) ASSERT_EQ(Version(events[i]), std::to_string(i));
  }
}

TEST(WatchDecoderTest, KeepsAPartialLineUntilItCompletes) {
  const std::string line = Line("ADDED", PodWithVersion(7));
  WatchDecoder decoder;
  std::vector<WatchEvent> events;
  ASSERT_TRUE(decoder.Feed(line.substr(0, 10), &events));
  EXPECT_TRUE(events.empty());
  EXPECT_EQ(decoder.buffered_bytes(), 10u);
  ASSERT_TRUE(decoder.Feed(line.substr(10) + line.substr(0, 3), &events));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(decoder.buffered_bytes(), 3u);
}

TEST(WatchDecoderTest, FinishDecodesAnUnterminatedLastEvent) {
  std::string line = Line("DELETED", PodWithVersion(3));
  line.pop_back();
  WatchDecoder decoder;
  std::vector<WatchEvent> events;
  ASSERT_TRUE(decoder.Feed(line, &events));
  EXPECT_TRUE(events.empty());
  ASSERT_TRUE(decoder.Finish(&events));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, EventType::kDeleted);
}

TEST(WatchDecoderTest, IgnoresBlankLinesAndCarriageReturns) {
  WatchDecoder decoder;
  std::vector<WatchEvent> events;
  std::string line = Line("ADDED", PodWithVersion(1));
  line.insert(line.size() - 1, "\r");
  ASSERT_TRUE(decoder.Feed("\n  \n" + line + "\r\n", &events));
  ASSERT_TRUE(decoder.Finish(&events));
  EXPECT_EQ(events.size(), 1u);
}

TEST(WatchDecoderTest, RejectsALineOverTheLimitEvenWithoutNewline) {
  WatchDecoder decoder(1024);
  std::vector<WatchEvent> events;
  const std::string big = Line("ADDED", PodWithVersion(1, 2000));
  EXPECT_FALSE(decoder.Feed(big.substr(0, 600), &events) &&
               decoder.Feed(big.substr(600, 600), &events));
  EXPECT_TRUE(decoder.failed());
  EXPECT_NE(decoder.error().find("longer than 1024"), std::string::npos);
  EXPECT_LE(decoder.buffered_bytes(), 1024u);  // the limit bounds memory, too
  // Once failed, the stream position is lost: everything after is refused.
  EXPECT_FALSE(decoder.Feed(Line("ADDED", PodWithVersion(2)), &events));
  EXPECT_TRUE(events.empty());
}

TEST(WatchDecoderTest, RejectsALongCompleteLineInOneChunk) {
  WatchDecoder decoder(1024);
  std::vector<WatchEvent> events;
  EXPECT_FALSE(decoder.Feed(Line("ADDED", PodWithVersion(1, 2000)), &events));
  EXPECT_TRUE(decoder.failed());
}

TEST(WatchDecoderTest, ReportsMalformedEvents) {
  const std::string kBad[] = {
      "{not json\n",
      "[1,2]\n",
      R"({"type":"ADDED"})"
      "\n",
      R"({"type":"ADDED","object":"str"})"
      "\n",
      R"({"type":"RENAMED","object":{}})"
      "\n",
      R"({"type":1,"object":{}})"
      "\n",
  };
  for (const auto& line : kBad) {
    WatchDecoder decoder;
    std::vector<WatchEvent> events;
    EXPECT_FALSE(decoder.Feed(line, &events)) << line;
    EXPECT_FALSE(decoder.error().empty()) << line;
  }
}

TEST(WatchDecoderTest, EventsBeforeABadLineAreStillDelivered) {
  WatchDecoder decoder;
  std::vector<WatchEvent> events;
  EXPECT_FALSE(decoder.Feed(Line("ADDED", PodWithVersion(1)) + "garbage\n", &events));
  EXPECT_EQ(events.size(), 1u);
}

}  // namespace
}  // namespace expvar::discovery::kube
