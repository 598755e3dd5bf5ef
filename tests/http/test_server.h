// A small scriptable HTTP/1.1 (and HTTPS) server on 127.0.0.1 for the client tests.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace expvar::http::testing {

struct TestRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string sni;                             // TLS server name the client sent, if any

  // The header's value, "" when absent.
  std::string Header(const std::string& lower_name) const;
};

struct TestReply {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool close = false;       // announce "Connection: close" and close after the response
  bool drop_after = false;  // close after the response without announcing it (idle timeout)
  bool chunked = false;     // Transfer-Encoding: chunked, the body split into several chunks
  bool hang = false;        // read the request and never answer
};

using Handler = std::function<TestReply(const TestRequest&)>;

struct TlsFiles {
  std::string cert;       // server certificate PEM
  std::string key;        // server key PEM
  std::string client_ca;  // when set, a client certificate signed by it is required
};

// Serves on its own thread until destroyed. The handler runs on that thread.
class TestServer {
 public:
  explicit TestServer(Handler handler, std::optional<TlsFiles> tls = std::nullopt);
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  unsigned short port() const { return port_; }
  // "http(s)://127.0.0.1:<port>" followed by path.
  std::string Url(const std::string& path = "") const;
  int connections() const { return connections_.load(); }
  int requests() const { return requests_.load(); }
  std::vector<TestRequest> Requests() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
  unsigned short port_ = 0;
  bool tls_ = false;
  std::atomic<int> connections_{0};
  std::atomic<int> requests_{0};
  mutable std::mutex mu_;
  std::vector<TestRequest> received_;
};

// A self-signed certificate for 127.0.0.1 (also its own CA), made with the openssl CLI in dir.
// Returns nullopt when the openssl command fails.
std::optional<TlsFiles> MakeSelfSignedCert(const std::string& dir, const std::string& name);

// A fresh directory under the system temp dir; removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace expvar::http::testing
