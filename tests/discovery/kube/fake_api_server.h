// An in-test Kubernetes API server that speaks the real pod LIST/WATCH protocol over HTTP/1.1,
// and stores the core v1 Events clients POST and PATCH.
#pragma once

#include <atomic>
#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace expvar::discovery::kube::testing {

// How a watch from a compacted resourceVersion is refused. Real servers do both: the watch
// cache answers an HTTP 410, a watch that already started gets an ERROR event.
enum class GoneMode { kHttpStatus, kErrorEvent };

struct FakeApiOptions {
  std::string token = "test-token";  // required bearer token; "" = anonymous allowed
  GoneMode gone_mode = GoneMode::kHttpStatus;
  // Bookmarks go to watches that asked with allowWatchBookmarks=true; 0 = only SendBookmark().
  std::chrono::milliseconds bookmark_interval{0};
  // Ends every watch after this long even if timeoutSeconds asks for more (the real server's
  // own cap is 30-60 min).
  std::chrono::milliseconds max_watch_duration{std::chrono::minutes(30)};
  // Serve HTTPS with this certificate and key (PEM files) instead of plain HTTP. kubectl needs
  // it: it does not send bearer tokens over plain http.
  std::string tls_cert;
  std::string tls_key;
};

struct RecordedRequest {
  std::string method;
  std::string target;                        // raw, as received
  std::string path;                          // decoded, without the query
  std::map<std::string, std::string> query;  // decoded
  std::string authorization;
  std::string accept;
  std::string content_type;
  std::string body;
  std::chrono::steady_clock::time_point at;

  bool IsWatch() const;
  std::string Query(const std::string& name) const;  // "" when absent
};

// Serves on 127.0.0.1:<ephemeral> from its own thread until destroyed. Thread-safe.
class FakeApiServer {
 public:
  explicit FakeApiServer(FakeApiOptions options = {});
  ~FakeApiServer();
  FakeApiServer(const FakeApiServer&) = delete;
  FakeApiServer& operator=(const FakeApiServer&) = delete;

  std::string Url() const;  // "http(s)://127.0.0.1:<port>"
  unsigned short port() const { return port_; }

  // A minimal but valid v1.Pod (no uid or resourceVersion: AddPod assigns them).
  static boost::json::object MakePod(const std::string& ns, const std::string& name,
                                     const std::string& node, const std::string& ip = "10.0.0.1");

  // Mutations bump the resourceVersion and return the new one (as a string, like the server).
  std::string AddPod(boost::json::object pod);
  // edit changes the stored pod in place; returns "" when the pod does not exist.
  std::string ModifyPod(const std::string& ns, const std::string& name,
                        const std::function<void(boost::json::object&)>& edit);
  std::string DeletePod(const std::string& ns, const std::string& name);
  std::string ResourceVersion() const;
  std::optional<std::string> PodUid(const std::string& ns, const std::string& name) const;

  // Forgets the event history: watches and continue tokens from older versions get 410.
  void Compact();
  void SetToken(std::string token);
  void SetGoneMode(GoneMode mode);
  // The next n pod-collection requests (LIST or WATCH) answer status, with Retry-After when set.
  void FailNext(int n, int status, std::optional<int> retry_after_seconds = std::nullopt);
  // Ends every open watch stream cleanly (terminating chunk).
  void EndWatches();
  // Sends a BOOKMARK at the current resourceVersion to the open watches that allow bookmarks.
  void SendBookmark();

  // The stored v1 Events (POST /api/v1/namespaces/<ns>/events creates, PATCH with a merge or
  // strategic-merge patch updates), in "<ns>/<name>" order.
  std::vector<boost::json::object> Events() const;
  // Answers every event POST and PATCH with this status (0: serve them normally).
  void SetEventStatus(int status);

  std::vector<RecordedRequest> Requests() const;
  int CountRequests(const std::function<bool(const RecordedRequest&)>& match) const;
  int open_watches() const { return open_watches_.load(); }

 private:
  class Impl;
  friend class Impl;

  // Before impl_: Impl's constructor sets port_ and its thread counts watches.
  unsigned short port_ = 0;
  bool tls_ = false;
  std::atomic<int> open_watches_{0};
  std::unique_ptr<Impl> impl_;
};

// Writes a self-signed certificate for 127.0.0.1 (its own CA) with the openssl CLI; false when
// openssl fails.
bool MakeSelfSignedCert(const std::string& cert, const std::string& key);

}  // namespace expvar::discovery::kube::testing
