#include "fault_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <stdexcept>

namespace expvar::testing {
namespace {

using namespace std::chrono_literals;

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// The value of header `name` (lower case) in a raw request head, "" when absent.
std::string HeaderValue(const std::string& head, const std::string& name) {
  std::size_t pos = 0;
  while ((pos = head.find("\r\n", pos)) != std::string::npos) {
    pos += 2;
    std::size_t end = head.find("\r\n", pos);
    std::string line = head.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    std::size_t colon = line.find(':');
    if (colon != std::string::npos && Lower(line.substr(0, colon)) == name) {
      std::size_t start = line.find_first_not_of(' ', colon + 1);
      return start == std::string::npos ? "" : line.substr(start);
    }
  }
  return "";
}

std::string Head(int status, const std::string& framing) {
  const char* reason = status == 200 ? "OK" : status == 401 ? "Unauthorized" : "Error";
  return "HTTP/1.1 " + std::to_string(status) + " " + reason +
         "\r\nContent-Type: application/json\r\n" + framing + "\r\n";
}

}  // namespace

FaultServer::FaultServer(Fault fault, std::string body, std::string authorization)
    : FaultServer(FaultOptions{fault, std::move(body), std::move(authorization)}) {}

FaultServer::FaultServer(FaultOptions options) : options_(std::move(options)) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listen_fd_, 64) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (listen_fd_ >= 0) close(listen_fd_);
    throw std::runtime_error("fault server: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

FaultServer::~FaultServer() {
  stopping_ = true;
  stop_cv_.notify_all();
  shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
  acceptor_.join();
  close(listen_fd_);
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);  // wakes recv()/send()
    threads.swap(threads_);
  }
  stop_cv_.notify_all();
  for (auto& thread : threads) thread.join();
}

std::string FaultServer::Url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::vector<std::chrono::steady_clock::time_point> FaultServer::RequestTimes() const {
  std::lock_guard lock(mu_);
  return request_times_;
}

std::vector<std::string> FaultServer::RequestHeads() const {
  std::lock_guard lock(mu_);
  return heads_;
}

void FaultServer::AcceptLoop() {
  while (!stopping_) {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping_) return;
      std::this_thread::sleep_for(10ms);
      continue;
    }
    std::lock_guard lock(mu_);
    if (stopping_) {
      close(fd);
      return;
    }
    open_fds_.insert(fd);
    threads_.emplace_back([this, fd] { Serve(fd); });
  }
}

bool FaultServer::Pause(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return !stop_cv_.wait_for(lock, d, [this] { return stopping_.load(); });
}

bool FaultServer::Send(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
    bytes_sent_ += static_cast<std::size_t>(n);
  }
  return true;
}

void FaultServer::Serve(int fd) {
  std::string pending;
  bool keep_alive = true;
  while (keep_alive && !stopping_) {
    // Reads one request head (no request has a body here).
    std::size_t end;
    while ((end = pending.find("\r\n\r\n")) == std::string::npos && pending.size() < 65536) {
      char buffer[4096];
      ssize_t n = recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) {
        keep_alive = false;
        break;
      }
      pending.append(buffer, static_cast<std::size_t>(n));
    }
    if (!keep_alive || end == std::string::npos) break;
    std::string head = pending.substr(0, end + 4);
    pending.erase(0, end + 4);
    {
      std::lock_guard lock(mu_);
      request_times_.push_back(std::chrono::steady_clock::now());
      heads_.push_back(head);
    }
    ++requests_;

    const std::string& body = options_.body;
    switch (options_.fault) {
      case Fault::kServe: {
        if (!options_.authorization.empty() &&
            HeaderValue(head, "authorization") != options_.authorization) {
          const std::string denied = "{\"error\": \"unauthorized\"}";
          keep_alive = Send(fd, Head(401, "Content-Length: " + std::to_string(denied.size()) +
                                              "\r\nWWW-Authenticate: Basic realm=\"x\"\r\n") +
                                    denied);
        } else {
          keep_alive =
              Send(fd, Head(200, "Content-Length: " + std::to_string(body.size()) + "\r\n") + body);
        }
        break;
      }
      case Fault::kHang:
        while (Pause(1s)) {
        }
        keep_alive = false;
        break;
      case Fault::kCloseMidBody:
        Send(fd, Head(200, "Content-Length: " + std::to_string(body.size()) + "\r\n") +
                     body.substr(0, body.size() / 2));
        keep_alive = false;
        break;
      case Fault::kTrickle: {
        std::string response =
            Head(200, "Content-Length: " + std::to_string(body.size()) + "\r\n") + body;
        for (char c : response) {
          if (!Send(fd, std::string(1, c)) || !Pause(1s)) break;
        }
        keep_alive = false;
        break;
      }
      case Fault::kHugeChunked:
      case Fault::kHugeLength: {
        const bool chunked = options_.fault == Fault::kHugeChunked;
        std::string framing =
            chunked ? "Transfer-Encoding: chunked\r\n"
                    : "Content-Length: " + std::to_string(options_.huge_bytes) + "\r\n";
        // A valid-looking JSON object that never ends within the limit: '{"a":"xxxx...'.
        const std::string filler(64 * 1024, 'x');
        char size_line[32];
        std::snprintf(size_line, sizeof size_line, "%zx\r\n", filler.size());
        bool ok = Send(fd, Head(200, framing) + (chunked ? "6\r\n{\"a\":\"\r\n" : "{\"a\":\""));
        for (std::size_t sent = 6; ok && sent + filler.size() <= options_.huge_bytes && !stopping_;
             sent += filler.size()) {
          ok = chunked ? Send(fd, size_line + filler + "\r\n") : Send(fd, filler);
        }
        if (ok && chunked) Send(fd, "0\r\n\r\n");
        keep_alive = false;
        break;
      }
    }
  }
  std::lock_guard lock(mu_);
  open_fds_.erase(fd);
  close(fd);
}

}  // namespace expvar::testing
