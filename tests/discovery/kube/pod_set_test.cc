#include "discovery/kube/pod_set.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

namespace expvar::discovery::kube {
namespace {

namespace json = boost::json;

json::object PodJson(const std::string& uid, const std::string& version = "") {
  json::object metadata{{"name", "pod-" + uid}, {"namespace", "ns"}, {"uid", uid}};
  if (!version.empty()) metadata["resourceVersion"] = version;
  return {{"metadata", metadata}};
}

json::object Page(json::array items, const std::string& version, const std::string& next = "") {
  json::object metadata{{"resourceVersion", version}};
  if (!next.empty()) metadata["continue"] = next;
  return {{"metadata", metadata}, {"items", std::move(items)}};
}

WatchEvent Event(EventType type, json::object object) { return {type, std::move(object)}; }

PodListing Listing(std::initializer_list<std::string> uids, const std::string& version) {
  json::array items;
  for (const auto& uid : uids) items.push_back(PodJson(uid));
  PodListing listing;
  listing.AddPage(Page(std::move(items), version));
  return listing;
}

TEST(PodListingTest, CollectsPagesWithTheFirstPageVersionAndTheLastToken) {
  PodListing listing;
  EXPECT_EQ(listing.AddPage(Page({PodJson("a"), PodJson("b")}, "10", "next")), 0u);
  EXPECT_EQ(listing.continue_token(), "next");
  EXPECT_EQ(listing.AddPage(Page({PodJson("c")}, "11")), 0u);
  EXPECT_EQ(listing.continue_token(), "");
  PodSet set;
  set.Replace(std::move(listing));
  EXPECT_EQ(set.resource_version(), "10");
  ASSERT_EQ(set.pods().size(), 3u);
  EXPECT_EQ(set.pods().at("c").name, "pod-c");
}

TEST(PodListingTest, CountsAndSkipsBadPods) {
  json::object no_uid = PodJson("");
  json::object bad_type = PodJson("x");
  bad_type["metadata"].as_object()["name"] = 42;
  PodListing listing;
  EXPECT_EQ(listing.AddPage(Page({PodJson("a"), no_uid, bad_type, "not a pod"}, "1")), 3u);
  PodSet set;
  set.Replace(std::move(listing));
  ASSERT_EQ(set.pods().size(), 1u);
  EXPECT_TRUE(set.pods().count("a"));
}

TEST(PodListingTest, APageWithoutItemsOrMetadataIsEmpty) {
  PodListing listing;
  EXPECT_EQ(listing.AddPage(json::object{}), 0u);
  EXPECT_EQ(listing.continue_token(), "");
  PodSet set;
  EXPECT_EQ(set.Replace(std::move(listing)), 0u);
  EXPECT_TRUE(set.pods().empty());
  EXPECT_EQ(set.resource_version(), "");
}

TEST(PodSetTest, ReplaceCountsThePodsThatVanished) {
  PodSet set;
  EXPECT_FALSE(set.listed());
  EXPECT_EQ(set.Replace(Listing({"a", "b", "c"}, "1")), 0u);
  EXPECT_TRUE(set.listed());
  EXPECT_EQ(set.Replace(Listing({"b", "d"}, "7")), 2u);  // a and c
  EXPECT_EQ(set.resource_version(), "7");
  ASSERT_EQ(set.pods().size(), 2u);
  EXPECT_TRUE(set.pods().count("d"));
}

TEST(PodSetTest, AppliesAddedModifiedAndDeleted) {
  PodSet set;
  set.Replace(Listing({"a"}, "1"));
  auto effect = set.Apply(Event(EventType::kAdded, PodJson("b", "2")));
  EXPECT_TRUE(effect.changed);
  EXPECT_FALSE(effect.bad_pod);
  auto modified = PodJson("b", "3");
  modified["metadata"].as_object()["labels"] = json::object{{"k", "v"}};
  EXPECT_TRUE(set.Apply(Event(EventType::kModified, modified)).changed);
  EXPECT_EQ(set.pods().at("b").labels.at("k"), "v");
  EXPECT_TRUE(set.Apply(Event(EventType::kDeleted, PodJson("a", "4"))).changed);
  EXPECT_EQ(set.resource_version(), "4");
  ASSERT_EQ(set.pods().size(), 1u);
  EXPECT_TRUE(set.pods().count("b"));
}

TEST(PodSetTest, DeletingAnUnknownPodChangesOnlyTheVersion) {
  PodSet set;
  set.Replace(Listing({"a"}, "1"));
  EXPECT_FALSE(set.Apply(Event(EventType::kDeleted, PodJson("zz", "5"))).changed);
  EXPECT_EQ(set.resource_version(), "5");
  EXPECT_EQ(set.pods().size(), 1u);
}

TEST(PodSetTest, BookmarkMovesOnlyTheVersion) {
  PodSet set;
  set.Replace(Listing({"a"}, "1"));
  const json::object bookmark{{"metadata", json::object{{"resourceVersion", "9"}}}};
  const auto effect = set.Apply(Event(EventType::kBookmark, bookmark));
  EXPECT_FALSE(effect.changed);
  EXPECT_FALSE(effect.bad_pod);
  EXPECT_EQ(set.resource_version(), "9");
  EXPECT_EQ(set.pods().size(), 1u);
}

TEST(PodSetTest, AnEventWithoutVersionKeepsTheLastOne) {
  PodSet set;
  set.Replace(Listing({}, "3"));
  EXPECT_TRUE(set.Apply(Event(EventType::kAdded, PodJson("a"))).changed);
  EXPECT_EQ(set.resource_version(), "3");
}

TEST(PodSetTest, ABadPodIsReportedButMovesTheVersion) {
  PodSet set;
  set.Replace(Listing({"a"}, "1"));
  const auto effect = set.Apply(Event(EventType::kAdded, PodJson("", "2")));
  EXPECT_FALSE(effect.changed);
  EXPECT_TRUE(effect.bad_pod);
  EXPECT_EQ(set.resource_version(), "2");
  EXPECT_EQ(set.pods().size(), 1u);
}

TEST(PodSetTest, AnErrorEventChangesNothing) {
  PodSet set;
  set.Replace(Listing({"a"}, "1"));
  const json::object status{
      {"kind", "Status"}, {"code", 410}, {"metadata", json::object{{"resourceVersion", "99"}}}};
  const auto effect = set.Apply(Event(EventType::kError, status));
  EXPECT_FALSE(effect.changed);
  EXPECT_FALSE(effect.bad_pod);
  EXPECT_EQ(set.resource_version(), "1");
  EXPECT_EQ(set.pods().size(), 1u);
}

TEST(StatusTest, TextJoinsReasonAndMessage) {
  EXPECT_EQ(StatusText(json::object{{"reason", "Expired"}, {"message", "too old"}}),
            "Expired: too old");
  EXPECT_EQ(StatusText(json::object{{"reason", "Expired"}}), "Expired");
  EXPECT_EQ(StatusText(json::object{{"message", "too old"}}), "too old");
  EXPECT_EQ(StatusText(json::object{{"reason", 1}}), "");
  EXPECT_EQ(StatusText(json::array{}), "");
}

TEST(StatusTest, CodeIsZeroWhenMissingOrNotAnInteger) {
  EXPECT_EQ(StatusCode(json::object{{"code", 410}}), 410);
  EXPECT_EQ(StatusCode(json::object{{"code", "410"}}), 0);
  EXPECT_EQ(StatusCode(json::object{}), 0);
  EXPECT_EQ(StatusCode(json::value("text")), 0);
}

}  // namespace
}  // namespace expvar::discovery::kube
