// A clock that moves only when a test says so, for components that take their clock injected.
#pragma once

#include <chrono>
#include <functional>

namespace expvar::testing {

template <typename Clock = std::chrono::steady_clock>
class ManualClock {
 public:
  using time_point = typename Clock::time_point;

  explicit ManualClock(time_point start = time_point(std::chrono::seconds(1000))) : now_(start) {}

  time_point Now() const { return now_; }
  void Advance(typename Clock::duration by) { now_ += by; }
  // For constructors that take a std::function clock; reads this clock by reference.
  std::function<time_point()> AsFunction() const {
    return [this] { return now_; };
  }

 private:
  time_point now_;
};

}  // namespace expvar::testing
