// Runs the real kubectl against FakeApiServer: if kubectl can list, page and watch through it,
// the fake speaks the protocol the PodWatcher tests rely on.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/stream_parser.hpp>
#include <cstdlib>
#include <set>

#include "fake_api_server.h"
#include "test_util.h"

namespace expvar::discovery::kube::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

struct KubectlRun {
  int exit_code = -1;  // -1: killed on timeout
  std::string out;
  std::string err;
};

std::optional<std::string> FindKubectl() {
  for (const char* dir : {"/usr/local/bin", "/usr/bin", "/bin"}) {
    const std::string path = std::string(dir) + "/kubectl";
    if (access(path.c_str(), X_OK) == 0) return path;
  }
  return std::nullopt;
}

// A started kubectl whose output goes to files in dir; killed if it outlives the deadline.
class KubectlProcess {
 public:
  KubectlProcess(const std::string& kubectl, const std::string& dir, std::vector<std::string> args)
      : out_(dir + "/out-" + std::to_string(counter_) + ".txt"),
        err_(dir + "/err-" + std::to_string(counter_) + ".txt") {
    ++counter_;
    args.insert(args.begin(), {kubectl, "--kubeconfig", dir + "/kubeconfig", "--cache-dir",
                               dir + "/cache", "--request-timeout=10s"});
    pid_ = fork();
    if (pid_ == 0) Exec(args, dir);
  }

  KubectlRun Wait(std::chrono::milliseconds timeout) {
    KubectlRun run;
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        run.out = ReadFile(out_);
        run.err = ReadFile(err_);
        return run;
      }
      std::this_thread::sleep_for(20ms);
    }
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    run.out = ReadFile(out_);
    run.err = ReadFile(err_);
    return run;
  }

 private:
  [[noreturn]] void Exec(const std::vector<std::string>& args, const std::string& dir) {
    const int out = open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(out, 1);
    dup2(err, 2);
    setenv("HOME", dir.c_str(), 1);
    unsetenv("KUBECONFIG");
    std::vector<char*> argv;
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }

  static inline int counter_ = 0;
  std::string out_;
  std::string err_;
  pid_t pid_ = -1;
};

// kubectl prints watch events as a sequence of (pretty-printed) JSON documents.
std::vector<json::value> ParseJsonSequence(std::string_view text) {
  std::vector<json::value> out;
  json::stream_parser parser;
  while (!text.empty()) {
    if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) break;
    boost::system::error_code ec;
    const auto used = parser.write_some(text.data(), text.size(), ec);
    if (ec) break;
    text.remove_prefix(used);
    if (!parser.done()) break;
    out.push_back(parser.release());
    parser.reset();
  }
  return out;
}

std::set<std::string> ItemNames(const json::value& list) {
  std::set<std::string> names;
  for (const auto& item : list.at("items").as_array()) {
    names.insert(std::string(item.at("metadata").at("name").as_string()));
  }
  return names;
}

class KubectlConformanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kubectl_ = FindKubectl();
    if (!kubectl_) GTEST_SKIP() << "kubectl is not installed";
    // HTTPS because kubectl sends no bearer token over plain http.
    const std::string cert = dir_.path() + "/api.crt";
    const std::string key = dir_.path() + "/api.key";
    ASSERT_TRUE(MakeSelfSignedCert(cert, key));
    server_ = std::make_unique<FakeApiServer>(FakeApiOptions{
        .token = "kube-token", .max_watch_duration = 4s, .tls_cert = cert, .tls_key = key});
    WriteFile(dir_.path() + "/kubeconfig", R"(apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: )" + server_->Url() + R"(
    certificate-authority: )" + cert + R"(
users:
- name: collector
  user:
    token: kube-token
contexts:
- name: fake
  context:
    cluster: fake
    user: collector
    namespace: default
current-context: fake
)");
    server_->AddPod(FakeApiServer::MakePod("ns1", "a", "n1"));
    server_->AddPod(FakeApiServer::MakePod("ns1", "b", "n2"));
    server_->AddPod(FakeApiServer::MakePod("ns1", "c", "n1"));
    server_->AddPod(FakeApiServer::MakePod("ns2", "d", "n1"));
  }

  KubectlRun RunKubectl(std::vector<std::string> args, std::chrono::milliseconds timeout = 20s) {
    return KubectlProcess(*kubectl_, dir_.path(), std::move(args)).Wait(timeout);
  }

  std::optional<std::string> kubectl_;
  TempDir dir_;
  std::unique_ptr<FakeApiServer> server_;
};

TEST_F(KubectlConformanceTest, ListsAllNamespaces) {
  const auto run = RunKubectl({"get", "pods", "-A", "-o", "json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto list = json::parse(run.out);
  EXPECT_EQ(ItemNames(list), (std::set<std::string>{"a", "b", "c", "d"}));
  EXPECT_GE(server_->CountRequests([](const RecordedRequest& r) {
    return r.path == "/api/v1/pods" && r.authorization == "Bearer kube-token";
  }),
            1);
}

TEST_F(KubectlConformanceTest, FieldSelectorOnNodeName) {
  const auto run =
      RunKubectl({"get", "pods", "-A", "--field-selector", "spec.nodeName=n1", "-o", "json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(ItemNames(json::parse(run.out)), (std::set<std::string>{"a", "c", "d"}));
}

TEST_F(KubectlConformanceTest, PagesWithLimitAndContinue) {
  const auto run = RunKubectl({"get", "pods", "-n", "ns1", "--chunk-size=1", "-o", "name"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "pod/a\npod/b\npod/c\n");
  const auto requests = server_->Requests();
  int pages = 0;
  int continued = 0;
  for (const auto& r : requests) {
    if (r.path != "/api/v1/namespaces/ns1/pods") continue;
    ++pages;
    EXPECT_EQ(r.Query("limit"), "1");
    continued += r.Query("continue").empty() ? 0 : 1;
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(continued, 2);
}

TEST_F(KubectlConformanceTest, GetsOnePodByName) {
  const auto run = RunKubectl({"get", "pod", "-n", "ns2", "d", "-o", "json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto pod = json::parse(run.out);
  EXPECT_EQ(pod.at("kind").as_string(), "Pod");
  EXPECT_EQ(pod.at("spec").at("nodeName").as_string(), "n1");
  const auto missing = RunKubectl({"get", "pod", "-n", "ns2", "nope"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("NotFound"), std::string::npos) << missing.err;
}

TEST_F(KubectlConformanceTest, UnderstandsTheUnauthorizedStatus) {
  server_->SetToken("another-token");
  const auto run = RunKubectl({"get", "pods", "-A", "-o", "name"});
  EXPECT_NE(run.exit_code, 0);
  // kubectl's wording for a 401 Status ("Unauthorized" in older versions).
  EXPECT_NE(run.err.find("You must be logged in to the server"), std::string::npos) << run.err;
}

TEST_F(KubectlConformanceTest, WatchPrintsTheEventsOfTheChunkedStream) {
  KubectlProcess watch(*kubectl_, dir_.path(),
                       {"get", "pods", "-n", "ns1", "-w", "--output-watch-events", "-o", "json"});
  ASSERT_TRUE(WaitFor([&] { return server_->open_watches() == 1; }));
  server_->AddPod(FakeApiServer::MakePod("ns1", "e", "n1"));
  server_->AddPod(FakeApiServer::MakePod("ns2", "other-namespace", "n1"));
  server_->ModifyPod("ns1", "a", [](boost::json::object& pod) {
    pod["metadata"].as_object()["labels"].as_object()["changed"] = "yes";
  });
  server_->DeletePod("ns1", "b");
  // The fake ends the watch after 4 s; kubectl then exits (or is killed at the bound).
  const auto run = watch.Wait(15s);
  std::vector<std::pair<std::string, std::string>> events;
  for (const auto& event : ParseJsonSequence(run.out)) {
    events.emplace_back(std::string(event.at("type").as_string()),
                        std::string(event.at("object").at("metadata").at("name").as_string()));
  }
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"ADDED", "a"}, {"ADDED", "b"},    {"ADDED", "c"},  // the initial LIST
      {"ADDED", "e"}, {"MODIFIED", "a"}, {"DELETED", "b"}};
  EXPECT_EQ(events, expected) << run.out << run.err;
  const auto watches = server_->CountRequests([](const RecordedRequest& r) {
    return r.IsWatch() && r.path == "/api/v1/namespaces/ns1/pods" &&
           !r.Query("resourceVersion").empty();
  });
  EXPECT_GE(watches, 1);
}

}  // namespace
}  // namespace expvar::discovery::kube::testing
