#include "check/path.h"

#include <gtest/gtest.h>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <optional>

namespace expvar::check {
namespace {

// Returns "a.b.c=value" for every match, in visiting order.
std::vector<std::string> Matches(const char* path, const char* document) {
  std::vector<std::string> out;
  boost::json::value root = boost::json::parse(document);
  CompiledPath(path).ForEachMatch(root, [&](const auto& keys, const boost::json::value& v) {
    std::string joined;
    for (std::size_t i = 0; i < keys.size(); ++i) joined += (i ? "." : "") + std::string(keys[i]);
    out.push_back(joined + "=" + boost::json::serialize(v));
  });
  return out;
}

using V = std::vector<std::string>;
constexpr const char* kDoc = R"({
  "memstats": {"Alloc": 1, "HeapAlloc": 2, "BySize": [{"Size": 0, "Mallocs": 5}, {"Size": 8, "Mallocs": 9}]},
  "http": {"GET": {"count": 3}, "POST": {"count": 4}, "get": {"count": 5}},
  "cache/hits": 7,
  "a.b": 8,
  "": 9
})";

TEST(CompiledPath, ExactKey) { EXPECT_EQ(Matches("memstats/Alloc", kDoc), V{"memstats.Alloc=1"}); }

TEST(CompiledPath, ExactKeyIsCaseSensitiveAndMissingIsEmpty) {
  EXPECT_EQ(Matches("memstats/alloc", kDoc), V{});
  EXPECT_EQ(Matches("nope/x", kDoc), V{});
}

TEST(CompiledPath, ArraysAreIndexedByDecimalText) {
  EXPECT_EQ(Matches("memstats/BySize/1/Mallocs", kDoc), V{"memstats.BySize.1.Mallocs=9"});
  EXPECT_EQ(Matches("memstats/BySize/[0-9]+/Size", kDoc),
            (V{"memstats.BySize.0.Size=0", "memstats.BySize.1.Size=8"}));
}

TEST(CompiledPath, RegexIsAnchoredAndReportsEveryMatchInDocumentOrder) {
  EXPECT_EQ(Matches("http/[A-Z]+/count", kDoc), (V{"http.GET.count=3", "http.POST.count=4"}));
  EXPECT_EQ(Matches("http/G/count", kDoc), V{});  // literal, no partial match
  EXPECT_EQ(Matches("http/G.*/count", kDoc), V{"http.GET.count=3"});
  EXPECT_EQ(Matches("memstats/Heap.*", kDoc), V{"memstats.HeapAlloc=2"});
}

TEST(CompiledPath, WildcardOverAWholeLevel) {
  EXPECT_EQ(Matches("http/.*/count", kDoc),
            (V{"http.GET.count=3", "http.POST.count=4", "http.get.count=5"}));
  EXPECT_EQ(Matches("memstats/.*", kDoc).size(), 3u);
}

TEST(CompiledPath, EscapedSlashAddressesAKeyContainingSlash) {
  EXPECT_EQ(Matches("cache\\/hits", kDoc), V{"cache/hits=7"});
  EXPECT_EQ(Matches("cache/hits", kDoc), V{});  // unescaped: two segments
}

TEST(CompiledPath, DotIsARegexNotALiteral) {
  EXPECT_EQ(Matches("a.b", kDoc), V{"a.b=8"});
  EXPECT_EQ(Matches("a\\.b", kDoc), V{"a.b=8"});
}

TEST(CompiledPath, EmptySegmentMatchesOnlyTheEmptyKey) { EXPECT_EQ(Matches("", kDoc), V{"=9"}); }

TEST(CompiledPath, BadRegexIsRejectedWithTheSegment) {
  try {
    CompiledPath bad("http/[unclosed");
    FAIL() << "expected invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("[unclosed"), std::string::npos);
  }
}

// What a pod annotation may put in a path must not crash or hang the collector (a backtracking
// matcher takes exponential time and a stack frame per character; RE2 neither).
TEST(CompiledPath, RegexesRunInLinearTimeWithoutRecursingPerCharacter) {
  const std::string long_key(200'000, 'a');
  boost::json::object doc;
  doc[long_key] = 1;
  doc[std::string(40, 'a')] = 2;
  std::size_t matched = 0;
  CompiledPath(".*").ForEachMatch(doc, [&](const auto&, const auto&) { ++matched; });
  EXPECT_EQ(matched, 2u);
  // Backtracking takes 2^40 steps here; RE2 a few thousand.
  matched = 0;
  CompiledPath("(a+)+b").ForEachMatch(doc, [&](const auto&, const auto&) { ++matched; });
  EXPECT_EQ(matched, 0u);
}

TEST(CompiledPath, GoSyntaxSuchAsCaseInsensitiveFlagIsAccepted) {
  EXPECT_EQ(Matches("http/(?i)get/count", kDoc), (V{"http.GET.count=3", "http.get.count=5"}));
  EXPECT_EQ(Matches("http/(?i:p)OST/count", kDoc), V{"http.POST.count=4"});
  EXPECT_EQ(Matches("memstats/\\pL+oc", kDoc), (V{"memstats.Alloc=1", "memstats.HeapAlloc=2"}));
}

TEST(CompiledPath, DotStopsAtNewlineAsInPython) {
  boost::json::object doc;
  doc["a\nb"] = 1;
  doc["a-b"] = 2;
  std::size_t matched = 0;
  CompiledPath("a.b").ForEachMatch(doc, [&](const auto&, const auto&) { ++matched; });
  EXPECT_EQ(matched, 1u);
}

// Patterns that blow up into huge automata are refused when compiled, or, within the memory
// bound, still answer on a long key (no timing assert: the machine may be slow or sanitized).
TEST(CompiledPath, PathologicalRepetitionsAreRefusedOrStillAnswer) {
  boost::json::object doc;
  doc[std::string(10'000, 'a')] = 1;
  for (const char* path :
       {"(.*){1,1000}", "((a?){100}){150}", "(.*){1,1000}b", "(((a{30}){30}){30})"}) {
    std::string pattern(path);
    std::optional<CompiledPath> compiled;
    try {
      compiled.emplace(path);
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("cannot compile regex"), std::string::npos) << path;
      continue;
    }
    std::size_t matched = 0;
    compiled->ForEachMatch(doc, [&](const auto&, const auto&) { ++matched; });
    EXPECT_EQ(matched, pattern.back() == 'b' ? 0u : 1u) << path;
  }
  // Nested counts multiply past the limit: refused before anything is built.
  std::string error;
  try {
    CompiledPath("((a?){100}){150}");
  } catch (const std::invalid_argument& e) {
    error = e.what();
  }
  EXPECT_NE(error.find("nested ones multiplied"), std::string::npos) << error;
  // Over the memory a pattern may take: the 1,024-byte limit alone would allow it.
  std::string huge;
  while (huge.size() + 12 <= 1024) huge += "(.*){1,1000}";
  try {
    CompiledPath compiled(huge);
    ADD_FAILURE() << "expected the memory bound to refuse it";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("MiB a pattern may take"), std::string::npos) << e.what();
    EXPECT_LT(std::string(e.what()).size(), 250u);
  }
}

std::vector<std::string> MatchedKeys(const CompiledPath& path, const boost::json::value& doc,
                                     MatchMemo* memo) {
  std::vector<std::string> keys;
  path.ForEachMatch(
      doc, [&](const auto& k, const auto&) { keys.emplace_back(k.back()); }, memo);
  return keys;
}

TEST(MatchMemo, AnswersLikeTheRegexPerPatternAndStaysBounded) {
  boost::json::object doc;
  for (int i = 0; i < 20000; ++i) doc["k" + std::to_string(i)] = i;
  doc["a1"] = 1;
  doc["b1"] = 2;
  MatchMemo memo;
  const CompiledPath a("a.*"), b("b.*"), digits("k[0-9]*7");
  for (int round = 0; round < 2; ++round) {  // the second round is answered from the memo
    EXPECT_EQ(MatchedKeys(a, doc, &memo), V{"a1"});
    EXPECT_EQ(MatchedKeys(b, doc, &memo), V{"b1"});  // same keys, another pattern
    // 20,000 keys overflow the memo's bound: it starts over and still answers right.
    EXPECT_EQ(MatchedKeys(digits, doc, &memo), MatchedKeys(digits, doc, nullptr));
    EXPECT_EQ(MatchedKeys(digits, doc, &memo).size(), 2000u);
  }
}

TEST(MatchMemo, BoundsTheRegexWorkOfARunAndTriesRefusedKeysAgainInTheNext) {
  boost::json::object doc;
  for (int i = 0; i < 10; ++i) doc[std::string(100, 'a') + std::to_string(i)] = i;
  const CompiledPath path("a+[0-9]");
  const std::uint64_t per_key = 102 * path.Segment(0).cost_per_byte;
  ASSERT_GT(path.Segment(0).cost_per_byte, 1u);
  MatchMemo memo;
  memo.StartRun(4 * per_key);  // four keys' worth
  EXPECT_EQ(MatchedKeys(path, doc, &memo).size(), 4u);
  EXPECT_TRUE(memo.Exhausted());
  memo.StartRun(4 * per_key);  // the first four are remembered and cost nothing now
  EXPECT_EQ(MatchedKeys(path, doc, &memo).size(), 8u);
  memo.StartRun(4 * per_key);
  EXPECT_EQ(MatchedKeys(path, doc, &memo).size(), 10u);
  EXPECT_FALSE(memo.Exhausted());
}

// A pattern near the size limit against long keys: a run stops at its budget instead of
// matching for seconds.
TEST(MatchMemo, AHugePatternAgainstLongKeysStopsAtTheBudget) {
  boost::json::object doc;
  for (int i = 0; i < 200; ++i) doc[std::to_string(i) + std::string(10000, 'x')] = i;
  const CompiledPath path("(.*){1,1000}y");
  MatchMemo memo;
  memo.StartRun(50'000'000);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(MatchedKeys(path, doc, &memo), V{});
  EXPECT_TRUE(memo.Exhausted());
  // Unbounded, this is about 200 x 0.2 s; the budget is about 0.1 s. The bound here is loose
  // for sanitized builds on a busy machine.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

// Keys are matched as UTF-8, as Python and Go match text: '.' is one character. Bytes that are
// not valid UTF-8 (Boost.JSON lets them through) are matched by no '.', as documented.
TEST(CompiledPath, KeysAreMatchedAsUtf8) {
  boost::json::object doc;
  doc["caf\xc3\xa9"] = 1;
  doc["bad\xff"] = 2;
  EXPECT_EQ(MatchedKeys(CompiledPath("caf."), doc, nullptr), V{"caf\xc3\xa9"});
  EXPECT_EQ(MatchedKeys(CompiledPath("(?i)CAF\xc3\x89"), doc, nullptr), V{"caf\xc3\xa9"});
  EXPECT_EQ(MatchedKeys(CompiledPath("bad.*"), doc, nullptr), V{});
}

std::string RegexError(const std::string& path) {
  try {
    CompiledPath compiled(path);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(CompiledPath, RegexesBeyondTheLimitsAreRefusedWithAShortQuote) {
  const std::string huge = "(" + std::string(2000, 'a') + ")";
  std::string error = RegexError(huge);
  EXPECT_NE(error.find("longer than 1024 bytes"), std::string::npos) << error;
  EXPECT_NE(error.find("(2002 bytes)"), std::string::npos) << error;
  EXPECT_LT(error.size(), 200u);
  // RE2 would read the first two as literal text (its parser stops at 10^8); Python and Go
  // refuse them, and so do we.
  for (const char* path :
       {"a{6666666666666666666666}", "a{2,99999999999999999999}", "a{1001}", "x/a{1001,}"}) {
    EXPECT_NE(RegexError(path).find("a count above 1000"), std::string::npos) << path;
  }
  EXPECT_EQ(RegexError("a{2,1000}"), "");
  EXPECT_EQ(RegexError("\\d{3}"), "");
  EXPECT_EQ(RegexError("\\{99999}"), "");   // an escaped brace is a literal, not a count
  EXPECT_EQ(RegexError("[{99999}]+"), "");  // so is one in a character class
  EXPECT_EQ(RegexError("[[:alpha:]{99999}]"), "");
  EXPECT_EQ(RegexError("a{99999"), "");  // not a count: no closing brace
  EXPECT_NE(RegexError("a{2,1}").find("{n,m} needs n <= m"), std::string::npos);
  // The error quotes at most 64 bytes of the pattern, even where RE2 would quote all of it.
  const std::string unclosed = "(" + std::string(900, 'b');
  error = RegexError(unclosed);
  EXPECT_NE(error.find("missing )"), std::string::npos) << error;
  EXPECT_LT(error.size(), 200u) << error;
}

TEST(CompiledPath, BackReferencesAreRefusedSayingWhy) {
  for (const char* path : {"(a)\\1", "x/(a)\\99999999999999999999", "(?P<n>a)(?P=n)"}) {
    const std::string error = RegexError(path);
    EXPECT_NE(error.find("cannot compile regex"), std::string::npos) << path;
    EXPECT_NE(error.find("back-reference"), std::string::npos) << error;
    EXPECT_NE(error.find("Python allows them"), std::string::npos) << error;
    EXPECT_NE(error.find("linear"), std::string::npos) << error;
  }
  EXPECT_NE(RegexError("(a)\\1").find("back-reference \\1 is not supported"), std::string::npos);
}

TEST(SplitPath, SplitsOnUnescapedSlashOnly) {
  EXPECT_EQ(SplitPath("a/b\\/c/d"), (V{"a", "b\\/c", "d"}));
  EXPECT_EQ(SplitPath("a"), V{"a"});
}

}  // namespace
}  // namespace expvar::check
