// A misbehaving HTTP target for fault tests: raw sockets on 127.0.0.1, one thread a connection,
// so that it can do what no well-behaved server library would (hang, cut a body, trickle).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace expvar::testing {

enum class Fault {
  kServe,         // answer `body` (Content-Length, keep-alive); 401 unless `authorization` matches
  kHang,          // read the request, never answer, keep the connection open
  kCloseMidBody,  // announce `body`'s length, send half of it, close
  kTrickle,       // send a valid response one byte a second
  kHugeChunked,   // stream `huge_bytes` of chunked body (stops when the client goes away)
  kHugeLength,    // announce Content-Length `huge_bytes` and stream that many bytes
};

struct FaultOptions {
  Fault fault = Fault::kServe;
  std::string body = "{}";
  std::string authorization;  // kServe: required value of the Authorization header, "" = none
  std::size_t huge_bytes = 100u * 1024 * 1024;
};

// Serves from its own threads until destroyed; the destructor unblocks and joins all of them.
class FaultServer {
 public:
  explicit FaultServer(Fault fault, std::string body = "{}", std::string authorization = "");
  explicit FaultServer(FaultOptions options);
  ~FaultServer();
  FaultServer(const FaultServer&) = delete;
  FaultServer& operator=(const FaultServer&) = delete;

  int port() const { return port_; }
  std::string Url(const std::string& path = "/debug/vars") const;
  int requests() const { return requests_.load(); }
  // When each request (its head) was read.
  std::vector<std::chrono::steady_clock::time_point> RequestTimes() const;
  std::size_t bytes_sent() const { return bytes_sent_.load(); }
  // The raw heads of every request received (for checking what the client sent).
  std::vector<std::string> RequestHeads() const;

 private:
  void AcceptLoop();
  void Serve(int fd);
  bool Send(int fd, const std::string& data);
  // Sleeps up to `d`; false when the server is stopping.
  bool Pause(std::chrono::milliseconds d);

  FaultOptions options_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  std::atomic<std::size_t> bytes_sent_{0};
  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  std::set<int> open_fds_;
  std::vector<std::chrono::steady_clock::time_point> request_times_;
  std::vector<std::string> heads_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace expvar::testing
