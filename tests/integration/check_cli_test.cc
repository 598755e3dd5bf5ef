// `expvar-collector check` against a live goapp and a live etcd, both started by the test.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "process.h"

namespace expvar::testing {
namespace {

using namespace std::chrono_literals;

struct Line {
  std::string name;
  std::string type;
  double value;
  std::vector<std::string> tags;
  int run;
};

std::vector<Line> ParseLines(const std::string& out) {
  std::vector<Line> lines;
  std::istringstream in(out);
  for (std::string text; std::getline(in, text);) {
    boost::json::object o = boost::json::parse(text).as_object();
    Line line{std::string(o.at("name").as_string()),
              std::string(o.at("type").as_string()),
              o.at("value").to_number<double>(),
              {},
              static_cast<int>(o.at("run").as_int64())};
    for (const auto& tag : o.at("tags").as_array()) line.tags.emplace_back(tag.as_string());
    lines.push_back(std::move(line));
  }
  return lines;
}

// name -> line for one run (the last one wins, though names are unique per run and tags here).
std::map<std::string, Line> LinesOfRun(const std::vector<Line>& lines, int run) {
  std::map<std::string, Line> out;
  for (const auto& line : lines) {
    if (line.run == run) out.insert_or_assign(line.name, line);
  }
  return out;
}

void WriteFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

CommandResult Check(const std::filesystem::path& conf, int runs) {
  return RunCommand(
      {EXPVAR_BINARY, "check", conf.string(), "--runs", std::to_string(runs), "--interval", "1"},
      60s);
}

class GoappCheck : public ::testing::Test {
 protected:
  void SetUp() override {
    goapp_ = std::make_unique<Process>(
        std::vector<std::string>{EXPVAR_GOAPP, "-listen", "127.0.0.1:0"}, dir_.path());
    auto line = goapp_->WaitForLine("listening on ", 10s);
    ASSERT_TRUE(line) << goapp_->Stderr();
    address_ = line->substr(line->find("on ") + 3);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(HttpGet("http://" + address_ + "/work"));
    ASSERT_TRUE(HttpGet("http://" + address_ + "/gc?n=2"));
  }

  TempDir dir_;
  std::unique_ptr<Process> goapp_;
  std::string address_;
};

TEST_F(GoappCheck, ReportsDefaultsRatesHistogramAndCustomItems) {
  WriteFile(dir_.path() / "conf.yaml", "init_config:\ninstances:\n  - expvar_url: http://" +
                                           address_ +
                                           "\n    tags: [\"env:it\"]\n"
                                           "    metrics:\n"
                                           "      - path: requests\n"
                                           "      - path: http/.*/count\n"
                                           "        alias: app.http.count\n"
                                           "        tags: [\"team:web\"]\n"
                                           "      - path: cache\\/hits\n"
                                           "      - path: queue_depth_str\n"
                                           "      - path: version\n");
  CommandResult result = Check(dir_.path() / "conf.yaml", 2);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto lines = ParseLines(result.out);
  auto first = LinesOfRun(lines, 1);
  auto second = LinesOfRun(lines, 2);
  std::string url_tag = "expvar_url:http://" + address_ + "/debug/vars";

  for (const char* gauge : {"alloc", "total_alloc", "heap_alloc", "heap_sys", "heap_idle",
                            "heap_inuse", "heap_released", "heap_objects"}) {
    std::string name = std::string("go_expvar.memstats.") + gauge;
    ASSERT_TRUE(first.count(name)) << name;
    EXPECT_EQ(first.at(name).type, "gauge");
    EXPECT_EQ(first.at(name).tags, (std::vector<std::string>{"env:it", url_tag}));
  }
  EXPECT_GT(first.at("go_expvar.memstats.heap_sys").value, 0);
  // Rates and the monotonic count need two runs.
  EXPECT_FALSE(first.count("go_expvar.memstats.mallocs"));
  for (const char* rate : {"lookups", "mallocs", "frees", "pause_total_ns", "num_gc"}) {
    std::string name = std::string("go_expvar.memstats.") + rate;
    ASSERT_TRUE(second.count(name)) << name;
    EXPECT_EQ(second.at(name).type, "rate");
    EXPECT_GE(second.at(name).value, 0);
  }
  EXPECT_GT(second.at("go_expvar.memstats.mallocs").value, 0);
  EXPECT_EQ(second.at("go_expvar.memstats.total_alloc.count").type, "count");
  EXPECT_GT(second.at("go_expvar.memstats.total_alloc.count").value, 0);

  // At least the two forced GCs are in the first run's pause histogram.
  ASSERT_TRUE(first.count("go_expvar.memstats.pause_ns.count"));
  EXPECT_GE(first.at("go_expvar.memstats.pause_ns.count").value, 2);
  EXPECT_GE(first.at("go_expvar.memstats.pause_ns.max").value,
            first.at("go_expvar.memstats.pause_ns.median").value);

  EXPECT_EQ(first.at("go_expvar.requests").value, 5);
  EXPECT_EQ(first.at("go_expvar.cache_hits").value, 2);  // every second request hits
  EXPECT_EQ(first.at("go_expvar.queue_depth_str").value, 1500);
  EXPECT_FALSE(first.count("go_expvar.version"));
  int alias_lines = 0;
  for (const auto& line : lines) {
    if (line.run != 1 || line.name != "app.http.count") continue;
    ++alias_lines;
    EXPECT_EQ(line.tags.at(0), "team:web");
    EXPECT_EQ(line.tags.back().rfind("path:http.", 0), 0u) << line.tags.back();
  }
  EXPECT_EQ(alias_lines, 2);  // GET and POST
}

TEST_F(GoappCheck, FetchFailureExitsOneAndNamesTheUrl) {
  int closed_port = FreeLoopbackPort();
  std::string bad = "http://127.0.0.1:" + std::to_string(closed_port);
  WriteFile(dir_.path() / "conf.yaml",
            "instances:\n  - expvar_url: http://" + address_ + "\n  - expvar_url: " + bad + "\n");
  CommandResult result = Check(dir_.path() / "conf.yaml", 1);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find(bad + "/debug/vars"), std::string::npos) << result.err;
  // The healthy instance still printed its series.
  EXPECT_NE(result.out.find("http://" + address_ + "/debug/vars"), std::string::npos);
}

TEST(CheckCli, MissingConfFileExitsOneNamingIt) {
  CommandResult result = RunCommand({EXPVAR_BINARY, "check", "/nonexistent/conf.yaml"}, 10s);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("/nonexistent/conf.yaml"), std::string::npos) << result.err;
}

TEST(CheckCli, HelpDescribesTheOutput) {
  CommandResult result = RunCommand({EXPVAR_BINARY, "check", "--help"}, 10s);
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_NE(result.out.find("--runs"), std::string::npos);
  EXPECT_NE(result.out.find("\"run\""), std::string::npos);
}

// A mistyped flag value must not start the daemon with the rest ignored.
TEST(RunCli, StrayArgumentsAreRefusedWithExitTwoNamingThem) {
  for (const std::vector<std::string>& extra : {std::vector<std::string>{"--interval", "5", "10"},
                                                {"stray"},
                                                {"--listen", "a", "b", "c"}}) {
    std::vector<std::string> command = {EXPVAR_BINARY, "run"};
    command.insert(command.end(), extra.begin(), extra.end());
    CommandResult result = RunCommand(command, 10s);
    EXPECT_EQ(result.exit_code, 2) << result.err;
    EXPECT_NE(result.err.find("unexpected argument"), std::string::npos) << result.err;
    EXPECT_NE(result.err.find("\"" + extra.back() + "\""), std::string::npos) << result.err;
  }
}

// Every problem is printed with its file, and the exit code says whether there was one; nothing
// is started.
TEST(RunCli, CheckConfigPrintsEveryProblemAndExitsOneOrZero) {
  TempDir dir;
  auto conf_dir = dir.path() / "conf.d" / "go_expvar.d";
  std::filesystem::create_directories(conf_dir);
  WriteFile(conf_dir / "regex.yaml",
            "instances:\n  - expvar_url: http://127.0.0.1:1/debug/vars\n    metrics:\n"
            "      - path: \"memstats/(bad\"\n");
  WriteFile(conf_dir / "broken.yaml", "instances: [x\n");
  std::string confd = (dir.path() / "conf.d").string();
  CommandResult bad = RunCommand(
      {EXPVAR_BINARY, "run", "--check-config", "--confd", confd, "--dogstatsd-url",
       "udp://127.0.0.1:9", "--web-config-file", (dir.path() / "missing-web.yml").string()},
      10s);
  EXPECT_EQ(bad.exit_code, 1) << bad.out << bad.err;
  EXPECT_NE(bad.out.find("regex.yaml#0: metrics[0].path: cannot compile regex"), std::string::npos)
      << bad.out;
  EXPECT_NE(bad.out.find("broken.yaml"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("missing-web.yml"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("3 problem(s)"), std::string::npos) << bad.out;

  std::filesystem::remove(conf_dir / "broken.yaml");
  WriteFile(conf_dir / "regex.yaml", "instances:\n  - expvar_url: http://127.0.0.1:1/debug/vars\n");
  CommandResult good = RunCommand({EXPVAR_BINARY, "run", "--check-config", "--confd", confd,
                                   "--dogstatsd-url", "udp://127.0.0.1:9"},
                                  10s);
  EXPECT_EQ(good.exit_code, 0) << good.out << good.err;
  EXPECT_NE(good.out.find("configuration ok: 0 problem(s); 1 conf.d instance(s)"),
            std::string::npos)
      << good.out;
}

TEST(RunCli, VersionPrintsTheVersionAndTheGitRevision) {
  CommandResult result = RunCommand({EXPVAR_BINARY, "--version"}, 10s);
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_TRUE(result.out.starts_with("expvar-collector ")) << result.out;
  EXPECT_NE(result.out.find(" (revision "), std::string::npos) << result.out;
}

TEST(EtcdCheck, ReportsEtcdsMemstatsAndItsOwnVars) {
  TempDir dir;
  int client_port = FreeLoopbackPort();
  int peer_port = FreeLoopbackPort();
  std::string client_url = "http://127.0.0.1:" + std::to_string(client_port);
  std::string peer_url = "http://127.0.0.1:" + std::to_string(peer_port);
  Process etcd(
      {"etcd", "--data-dir", (dir.path() / "data").string(), "--listen-client-urls", client_url,
       "--advertise-client-urls", client_url, "--listen-peer-urls", peer_url,
       "--initial-advertise-peer-urls", peer_url, "--initial-cluster", "default=" + peer_url},
      dir.path());
  bool up = false;
  for (int i = 0; i < 100 && !up; ++i) {
    up = HttpGet(client_url + "/debug/vars").has_value();
    if (!up) std::this_thread::sleep_for(200ms);
  }
  ASSERT_TRUE(up) << etcd.Stderr();
  WriteFile(dir.path() / "conf.yaml", "instances:\n  - expvar_url: " + client_url +
                                          "\n    namespace: etcd\n    metrics:\n"
                                          "      - path: file_descriptor_limit\n"
                                          "      - path: memstats/GCCPUFraction\n");
  CommandResult result = Check(dir.path() / "conf.yaml", 2);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto second = LinesOfRun(ParseLines(result.out), 2);
  EXPECT_TRUE(second.count("etcd.memstats.heap_alloc"));
  EXPECT_TRUE(second.count("etcd.memstats.mallocs"));
  EXPECT_TRUE(second.count("etcd.memstats.gccpu_fraction"));
  ASSERT_TRUE(second.count("etcd.file_descriptor_limit"));
  EXPECT_GT(second.at("etcd.file_descriptor_limit").value, 0);
}

}  // namespace
}  // namespace expvar::testing
