// Starts real processes for integration tests and always reaps them.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace expvar::testing {

// A child process whose stdout and stderr go to files; killed (SIGTERM, then SIGKILL) and
// reaped when the object dies, so a failing test never leaves it behind.
class Process {
 public:
  Process(std::vector<std::string> argv, const std::filesystem::path& log_dir);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  bool Running();
  // Waits at most `timeout` for the process to end and reaps it; its waitpid() status, or
  // nullopt when it is still running (it is then left alone).
  std::optional<int> WaitExit(std::chrono::milliseconds timeout);
  // Returns the first stdout line containing `needle`, waiting at most `timeout`.
  std::optional<std::string> WaitForLine(const std::string& needle,
                                         std::chrono::milliseconds timeout);
  std::string Stdout() const;
  std::string Stderr() const;
  void Stop();

 private:
  pid_t pid_ = -1;
  std::filesystem::path stdout_path_;
  std::filesystem::path stderr_path_;
};

struct CommandResult {
  int exit_code = -1;  // -1 when killed by the timeout or a signal
  std::string out;
  std::string err;
};

// Runs a command to completion (killed after `timeout`) and captures its output.
CommandResult RunCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

// A TCP port on 127.0.0.1 that was free a moment ago (for servers that cannot bind port 0).
int FreeLoopbackPort();

// A temporary directory removed with everything in it when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Simple blocking HTTP GET over loopback with curl; empty optional on failure.
std::optional<std::string> HttpGet(const std::string& url);

// Polls `probe` every 100 ms until it returns true or `timeout` passes.
template <typename Probe>
bool Eventually(Probe probe, std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (probe()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return probe();
}

// Whether a response (or nothing) contains `needle`.
inline bool Contains(const std::optional<std::string>& text, const std::string& needle) {
  return text && text->find(needle) != std::string::npos;
}

}  // namespace expvar::testing
