#include "check/pruned_parse.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>
#include <memory>
#include <sstream>

#include "check/document.h"

namespace expvar::check {
namespace {

boost::json::parse_options Options() {
  boost::json::parse_options options;
  options.max_depth = 128;
  return options;
}

// Compiles `texts` into paths that live as long as the returned holder.
struct Paths {
  explicit Paths(std::initializer_list<const char*> texts) {
    for (const char* text : texts) owned.push_back(std::make_unique<CompiledPath>(text));
    for (const auto& path : owned) pointers.push_back(path.get());
  }
  std::vector<std::unique_ptr<CompiledPath>> owned;
  std::vector<const CompiledPath*> pointers;
};

std::string Pruned(std::string_view text, const Paths& paths,
                   const std::vector<std::string_view>& prefix = {}) {
  Reach reach(paths.pointers, nullptr);
  boost::system::error_code ec;
  auto value = ParsePruned(text, &reach, prefix, Options(), {}, ec);
  if (ec) return "error: " + ec.message();
  return value ? boost::json::serialize(*value) : "(not reached)";
}

constexpr const char* kDoc = R"({
  "cmdline": ["/app", "-v"],
  "memstats": {"Alloc": 1, "HeapAlloc": 2, "PauseNs": [10, 20],
               "BySize": [{"Size": 0, "Mallocs": 5}, {"Size": 8, "Mallocs": 9}]},
  "http": {"GET": {"count": 3, "p99": 0.5}, "POST": {"count": 4}},
  "note": "a long string nobody asked for"
})";

TEST(ParsePruned, KeepsOnlyWhatALiteralPathReaches) {
  EXPECT_EQ(Pruned(kDoc, Paths{"memstats/Alloc"}), R"({"memstats":{"Alloc":1}})");
}

TEST(ParsePruned, AFullMatchKeepsEverythingBelowIt) {
  EXPECT_EQ(Pruned(kDoc, Paths{"memstats/PauseNs", "http/GET"}),
            R"({"memstats":{"PauseNs":[10,20]},"http":{"GET":{"count":3,"p99":5E-1}}})");
}

TEST(ParsePruned, RegexSegmentsAndArrayIndexes) {
  EXPECT_EQ(Pruned(kDoc, Paths{"http/[A-Z]+/count"}),
            R"({"http":{"GET":{"count":3},"POST":{"count":4}}})");
  EXPECT_EQ(Pruned(kDoc, Paths{"memstats/BySize/1/Mallocs"}),
            R"({"memstats":{"BySize":[null,{"Mallocs":9}]}})");
}

TEST(ParsePruned, AContainerThePathEndsBelowIsNotKeptAsAScalar) {
  // "note" is a string, so "note/x" can never match under it: nothing of it is kept.
  EXPECT_EQ(Pruned(kDoc, Paths{"note/x"}), "{}");
}

TEST(ParsePruned, WithoutAReachEverythingIsKept) {
  boost::system::error_code ec;
  auto value = ParsePruned(kDoc, nullptr, {}, Options(), {}, ec);
  ASSERT_FALSE(ec);
  ASSERT_TRUE(value);
  EXPECT_EQ(*value, boost::json::parse(kDoc));
}

TEST(ParsePruned, SyntaxIsCheckedInDroppedPartsToo) {
  EXPECT_EQ(Pruned(R"({"skipped": [1,,2], "memstats": {"Alloc": 1}})", Paths{"memstats/Alloc"}),
            "error: syntax error");
  EXPECT_EQ(Pruned(R"({"memstats": {"Alloc": 1}} trailing)", Paths{"memstats/Alloc"}),
            "error: extra data");
}

TEST(ParsePruned, EscapedKeysAreMatchedDecoded) {
  EXPECT_EQ(Pruned(R"({"a\u0062": 1, "a\"b": 2})", Paths{"ab"}), R"({"ab":1})");
  EXPECT_EQ(Pruned(R"({"a\"b": 2})", Paths{"a\"b"}), R"({"a\"b":2})");
}

TEST(ParsePruned, DuplicateKeysComeOutAsBoostJsonParseMakesThem) {
  constexpr const char* kDuplicates = R"({"x": 1, "y": 0, "x": 2})";
  boost::json::value full = boost::json::parse(kDuplicates);
  EXPECT_EQ(Pruned(kDuplicates, Paths{"x"}),
            boost::json::serialize(full.at("x")).insert(0, "{\"x\":") + "}");
}

TEST(ParsePruned, APrefixPlacesTheValueInTheDocument) {
  EXPECT_EQ(Pruned(R"({"Alloc": 1, "Frees": 2})", Paths{"memstats/Alloc"}, {"memstats"}),
            R"({"Alloc":1})");
  EXPECT_EQ(Pruned(R"({"Alloc": 1})", Paths{"memstats/Alloc"}, {"other"}), "(not reached)");
  EXPECT_EQ(Pruned("7", Paths{"memstats/Alloc"}, {"memstats", "Alloc"}), "7");
}

TEST(ParseDocument, ABadMemberNoPathReachesIsStillReported) {
  Paths paths{"memstats/Alloc"};
  Reach reach(paths.pointers, nullptr);
  ParsedDocument doc =
      ParseDocument(R"({"broken": [1,,2], "memstats": {"Alloc": 1, "Frees": 2}})", {}, &reach);
  ASSERT_TRUE(doc.ok);
  EXPECT_EQ(boost::json::serialize(doc.root), R"({"memstats":{"Alloc":1}})");
  ASSERT_EQ(doc.errors.size(), 1u);
  EXPECT_NE(doc.errors[0].find("\"broken\""), std::string::npos);
}

std::string ReadFixture(const std::string& name) {
  std::ifstream in(std::string(EXPVAR_FIXTURES_DIR) + "/" + name);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Every match of every path is the same in the pruned document as in the whole one.
TEST(ParsePruned, MatchesAreTheSameAsOnTheWholeDocument) {
  Paths paths{"memstats/Alloc",     "memstats/NumGC",         "memstats/PauseNs",
              "memstats/BySize/.*", "memstats/BySize/3/Size", ".*",
              "cmdline/0",          "[a-z]+/[A-Z].*",         "nothing/here"};
  for (const char* fixture : {"goapp_gc300.json", "etcd.json", "goapp_traffic.json"}) {
    std::string text = ReadFixture(fixture);
    boost::json::value whole = boost::json::parse(text);
    for (std::size_t i = 0; i < paths.owned.size(); ++i) {
      Paths one{paths.owned[i]->Text().c_str()};
      Reach reach(one.pointers, nullptr);
      boost::system::error_code ec;
      auto pruned = ParsePruned(text, &reach, {}, Options(), {}, ec);
      ASSERT_FALSE(ec) << fixture;
      ASSERT_TRUE(pruned) << fixture;
      auto collect = [&](const boost::json::value& root) {
        std::vector<std::string> out;
        one.owned[0]->ForEachMatch(root, [&](const auto& keys, const boost::json::value& v) {
          std::string line;
          for (auto key : keys) line += std::string(key) + "/";
          out.push_back(line + "=" + boost::json::serialize(v));
        });
        return out;
      };
      EXPECT_EQ(collect(*pruned), collect(whole)) << fixture << " " << paths.owned[i]->Text();
      if (paths.owned[i]->Text() == "memstats/Alloc") {
        EXPECT_LT(boost::json::serialize(*pruned).size(), 64u) << fixture;
      }
    }
  }
}

}  // namespace
}  // namespace expvar::check
