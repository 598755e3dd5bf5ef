#include "discovery/confd.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace expvar::discovery {
namespace {

namespace fs = std::filesystem;

class ConfdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("confd_test." + std::to_string(::getpid()) + "." +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(root_ / "go_expvar.d");
  }
  void TearDown() override { fs::remove_all(root_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(root_ / "go_expvar.d" / name) << text;
  }
  static std::vector<std::string> Urls(const ProviderResult& r) {
    std::vector<std::string> urls;
    for (const auto& t : r.targets) urls.push_back(t.instance.expvar_url);
    return urls;
  }
  fs::path root_;
};

TEST_F(ConfdTest, LoadsEveryYamlFileInFileOrder) {
  Write("b.yaml", "instances:\n  - expvar_url: http://127.0.0.1:2\n");
  Write("a.yml",
        "instances:\n  - expvar_url: http://127.0.0.1:1\n  - expvar_url: http://127.0.0.1:3\n");
  Write("notes.txt", "instances: []\n");
  ConfdProvider provider(root_.string());
  ProviderResult result = provider.Load();
  EXPECT_EQ(Urls(result), (std::vector<std::string>{"http://127.0.0.1:1", "http://127.0.0.1:3",
                                                    "http://127.0.0.1:2"}));
  EXPECT_TRUE(result.errors.empty());
  EXPECT_EQ(result.targets[1].source, (root_ / "go_expvar.d" / "a.yml").string() + "#1");
}

TEST_F(ConfdTest, ABrokenFileKeepsItsLastGoodInstancesAndIsReported) {
  Write("app.yaml", "instances:\n  - expvar_url: http://127.0.0.1:1\n");
  ConfdProvider provider(root_.string());
  ASSERT_EQ(provider.Load().targets.size(), 1u);
  Write("app.yaml", "instances: [unclosed\n");
  ProviderResult result = provider.Load();
  EXPECT_EQ(Urls(result), std::vector<std::string>{"http://127.0.0.1:1"});
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_NE(result.errors[0].source.find("app.yaml"), std::string::npos);
}

TEST_F(ConfdTest, ABrokenNewFileHasNoTargetsButAnError) {
  Write("new.yaml", "not: [valid");
  ConfdProvider provider(root_.string());
  ProviderResult result = provider.Load();
  EXPECT_TRUE(result.targets.empty());
  EXPECT_EQ(result.errors.size(), 1u);
}

TEST_F(ConfdTest, ARemovedFileTakesItsTargetsWithIt) {
  Write("app.yaml", "instances:\n  - expvar_url: http://127.0.0.1:1\n");
  ConfdProvider provider(root_.string());
  ASSERT_EQ(provider.Load().targets.size(), 1u);
  fs::remove(root_ / "go_expvar.d" / "app.yaml");
  EXPECT_TRUE(provider.Load().targets.empty());
}

TEST_F(ConfdTest, AMissingDirectoryIsAnErrorThatKeepsEverything) {
  Write("app.yaml", "instances:\n  - expvar_url: http://127.0.0.1:1\n");
  ConfdProvider provider(root_.string());
  ASSERT_EQ(provider.Load().targets.size(), 1u);
  fs::remove_all(root_ / "go_expvar.d");
  ProviderResult result = provider.Load();
  EXPECT_EQ(result.targets.size(), 1u);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_NE(result.errors[0].message.find("go_expvar.d"), std::string::npos);
}

TEST_F(ConfdTest, WarningsAreReportedWithTheFile) {
  Write("app.yaml", "instances:\n  - expvar_url: http://127.0.0.1:1\n    colour: blue\n");
  ConfdProvider provider(root_.string());
  ProviderResult result = provider.Load();
  EXPECT_EQ(result.targets.size(), 1u);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_NE(result.errors[0].message.find("colour"), std::string::npos);
}

}  // namespace
}  // namespace expvar::discovery
