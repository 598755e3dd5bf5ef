// A DogStatsD stand-in for tests: a UDP or Unix datagram socket that collects received lines.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace expvar::testing {

class DatagramReceiver {
 public:
  // UDP on 127.0.0.1 with a free port.
  DatagramReceiver();
  // Unix datagram socket bound at `path`.
  explicit DatagramReceiver(const std::string& path);
  ~DatagramReceiver();
  DatagramReceiver(const DatagramReceiver&) = delete;
  DatagramReceiver& operator=(const DatagramReceiver&) = delete;

  int port() const { return port_; }
  // Receives for at most `timeout`; returns every line (datagrams split on '\n').
  std::vector<std::string> Receive(std::chrono::milliseconds timeout);

 private:
  int fd_ = -1;
  int port_ = 0;
  std::string path_;
};

}  // namespace expvar::testing
