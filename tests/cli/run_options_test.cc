#include "cli/run_options.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace expvar::cli {
namespace {

std::string WriteConfig(const std::string& text) {
  static int counter = 0;
  auto path =
      std::filesystem::temp_directory_path() / ("run_options_test." + std::to_string(::getpid()) +
                                                "." + std::to_string(++counter) + ".yaml");
  std::ofstream(path) << text;
  return path.string();
}

TEST(ParseRunOptions, DefaultsFollowTheDesign) {
  RunOptions o = ParseRunOptions({}).options;
  EXPECT_EQ(o.listen, "0.0.0.0:9145");
  EXPECT_EQ(o.interval_seconds, 15);
  EXPECT_EQ(o.kube_mode, "auto");
  EXPECT_EQ(o.log_format, "text");
  EXPECT_TRUE(o.dogstatsd_url.empty());
}

TEST(ParseRunOptions, FlagsBeatTheFileAndTheFileFillsTheRest) {
  std::string file = WriteConfig(
      "listen: 127.0.0.1:1\nconfd: /etc/conf.d\ninterval: 30\nlog_format: json\n"
      "tags: [\"a:1\", \"b:2\"]\nallow_any_host: true\n");
  RunOptions o =
      ParseRunOptions({"--config", file, "--listen", "127.0.0.1:2", "--tag", "c:3"}).options;
  EXPECT_EQ(o.listen, "127.0.0.1:2");
  EXPECT_EQ(o.confd, "/etc/conf.d");
  EXPECT_EQ(o.interval_seconds, 30);
  EXPECT_EQ(o.log_format, "json");
  EXPECT_EQ(o.tags, std::vector<std::string>{"c:3"});
  EXPECT_TRUE(o.allow_any_host);
  std::filesystem::remove(file);
}

TEST(ParseRunOptions, TargetLimitsAndWebConfigFromFlagsOrFile) {
  RunOptions defaults = ParseRunOptions({}).options;
  EXPECT_EQ(defaults.max_targets_per_pod, 10u);
  EXPECT_EQ(defaults.max_targets_per_node, 2000u);
  EXPECT_TRUE(defaults.web_config_file.empty());
  std::string file = WriteConfig("max_targets_per_pod: 3\nweb_config_file: /etc/web.yml\n");
  RunOptions o = ParseRunOptions({"--config", file, "--max-targets-per-node", "0"}).options;
  EXPECT_EQ(o.max_targets_per_pod, 3u);
  EXPECT_EQ(o.max_targets_per_node, 0u);
  EXPECT_EQ(o.web_config_file, "/etc/web.yml");
}

TEST(ParseRunOptions, TemplateEnvAllowIsAListFromFlagsOrFile) {
  EXPECT_TRUE(ParseRunOptions({}).options.template_env_allow.empty());
  std::string file = WriteConfig("template_env_allow: [\"A\", \"B_*\"]\n");
  EXPECT_EQ(ParseRunOptions({"--config", file}).options.template_env_allow,
            (std::vector<std::string>{"A", "B_*"}));
  EXPECT_EQ(ParseRunOptions({"--template-env-allow", "C", "--template-env-allow", "D"})
                .options.template_env_allow,
            (std::vector<std::string>{"C", "D"}));
}

TEST(ParseRunOptions, RepeatedTagFlags) {
  RunOptions o = ParseRunOptions({"--tag", "a:1", "--tag", "b"}).options;
  EXPECT_EQ(o.tags, (std::vector<std::string>{"a:1", "b"}));
}

TEST(ParseRunOptions, NodeNameComesFromTheEnvironmentUnlessGiven) {
  ::setenv("NODE_NAME", "node-7", 1);
  EXPECT_EQ(ParseRunOptions({}).options.node_name, "node-7");
  EXPECT_EQ(ParseRunOptions({"--node-name", "other"}).options.node_name, "other");
  ::unsetenv("NODE_NAME");
}

TEST(ParseRunOptions, ErrorsNameTheFlagOrKey) {
  auto message = [](std::vector<std::string> args) {
    try {
      ParseRunOptions(args);
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({"--kube-mode", "cluster"}).find("--kube-mode"), std::string::npos);
  EXPECT_NE(message({"--log-format", "xml"}).find("--log-format"), std::string::npos);
  EXPECT_NE(message({"--interval", "0"}).find("--interval"), std::string::npos);
  EXPECT_NE(message({"--no-such-flag"}).find("no-such-flag"), std::string::npos);
  std::string file = WriteConfig("lisen: 1\n");
  std::string error = message({"--config", file});
  EXPECT_NE(error.find(file), std::string::npos);
  EXPECT_NE(error.find("lisen"), std::string::npos);
  std::filesystem::remove(file);
  std::string typed = WriteConfig("interval: [1]\n");
  EXPECT_NE(message({"--config", typed}).find("interval"), std::string::npos);
  std::filesystem::remove(typed);
}

TEST(ParseRunOptions, AnnotationLimitsComeFromFlagsAndTheConfigFile) {
  RunOptions defaults = ParseRunOptions({}).options;
  EXPECT_EQ(defaults.annotation_max_body_bytes, 8u * 1024 * 1024);
  EXPECT_EQ(defaults.annotation_min_interval_seconds, 1);
  std::string file = WriteConfig("annotation_max_tags: 7\nannotation_min_interval: 2.5\n");
  RunOptions o = ParseRunOptions({"--config", file, "--annotation-max-tags", "9",
                                  "--annotation-max-body-bytes", "65536"})
                     .options;
  EXPECT_EQ(o.annotation_max_tags, 9u);  // the flag wins
  EXPECT_EQ(o.annotation_min_interval_seconds, 2.5);
  EXPECT_EQ(o.annotation_max_body_bytes, 65536u);
  std::filesystem::remove(file);
  EXPECT_THROW(ParseRunOptions({"--annotation-min-interval", "0"}), UsageError);
}

TEST(ParseRunOptions, HelpListsEveryOption) {
  ParsedRunOptions parsed = ParseRunOptions({"--help"});
  ASSERT_TRUE(parsed.help);
  for (const char* flag : {"--listen",
                           "--confd",
                           "--dogstatsd-url",
                           "--kube-mode",
                           "--kube-api",
                           "--kube-token-file",
                           "--kube-ca-file",
                           "--kube-insecure-skip-tls-verify",
                           "--node-name",
                           "--pod-name",
                           "--pod-namespace",
                           "--podinfo-annotations",
                           "--allow-any-host",
                           "--interval",
                           "--log-level",
                           "--log-format",
                           "--tag",
                           "--config",
                           "--template-env-allow",
                           "--annotation-max-body-bytes",
                           "--annotation-max-timeout",
                           "--annotation-max-returned-metrics",
                           "--annotation-min-interval",
                           "--annotation-max-metric-items",
                           "--annotation-max-tags",
                           "--annotation-max-tag-length"}) {
    EXPECT_NE(parsed.help_text.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace expvar::cli
