#include "discovery/podinfo.h"

#include <gtest/gtest.h>

#include "discovery/pod_targets.h"

namespace expvar::discovery {

using pipeline::Pod;

namespace {

TEST(ParseDownwardApiAnnotations, ReadsGoQuotedValues) {
  // What the kubelet writes: one key="value" per line, values quoted like strconv.Quote.
  std::string error;
  auto parsed = ParseDownwardApiAnnotations(
      "ad.datadoghq.com/app.checks=\"{\\\"go_expvar\\\": {}}\"\n"
      "note=\"tab\\there\\nnew line \\u00e9 \\x41\"\n"
      "empty=\"\"\n",
      &error);
  ASSERT_TRUE(parsed) << error;
  EXPECT_EQ(parsed->at("ad.datadoghq.com/app.checks"), "{\"go_expvar\": {}}");
  EXPECT_EQ(parsed->at("note"), "tab\there\nnew line \xc3\xa9 A");
  EXPECT_EQ(parsed->at("empty"), "");
}

TEST(ParseDownwardApiAnnotations, MalformedLinesNameTheLine) {
  for (const char* text :
       {"novalue\n", "k=unquoted\n", "k=\"open\n", "k=\"bad \\q escape\"\n", "k=\"\\u12\"\n"}) {
    std::string error;
    EXPECT_FALSE(ParseDownwardApiAnnotations(text, &error)) << text;
    EXPECT_NE(error.find("line 1"), std::string::npos) << text;
  }
}

TEST(PodFromAnnotations, TheOwnPodWithTheContainersTheAnnotationsName) {
  Pod pod = PodFromAnnotations(
      {{"ad.datadoghq.com/app.checks",
        R"({"go_expvar": {"instances": [{"expvar_url": "http://%%host%%:6060"}]}})"}},
      "web-1", "shop", "10.0.0.9");
  ASSERT_EQ(pod.containers.size(), 1u);
  EXPECT_EQ(pod.containers[0].name, "app");
  PodTargetOptions sidecar;
  sidecar.mode = PodMode::kPod;
  sidecar.sidecar_host = "127.0.0.1";
  ProviderResult result = TargetsFromPods({pod}, sidecar);
  ASSERT_EQ(result.targets.size(), 1u);
  EXPECT_EQ(result.targets[0].instance.expvar_url, "http://127.0.0.1:6060");
}

}  // namespace
}  // namespace expvar::discovery
