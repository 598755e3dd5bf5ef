// Bounds the bytes of response bodies held at once across every target, so that many targets
// serving large documents together cannot exhaust the collector's memory.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <utility>

namespace expvar::http {

class BodyBudget : public std::enable_shared_from_this<BodyBudget> {
 public:
  // Bytes one body holds against the budget; grows as the body does, given back when destroyed
  // (it moves along with the body it stands for, into the FetchResult).
  class Reservation {
   public:
    Reservation() = default;
    explicit Reservation(std::shared_ptr<BodyBudget> budget) : budget_(std::move(budget)) {}
    Reservation(Reservation&& other) noexcept
        : budget_(std::move(other.budget_)), bytes_(std::exchange(other.bytes_, 0)) {}
    Reservation& operator=(Reservation&& other) noexcept {
      if (this != &other) {
        Release();
        budget_ = std::move(other.budget_);
        bytes_ = std::exchange(other.bytes_, 0);
      }
      return *this;
    }
    ~Reservation() { Release(); }

    // Holds `total` bytes in all; false (and nothing more held) when the budget has not that
    // much left. Without a budget every size fits.
    bool GrowTo(std::size_t total) {
      if (!budget_ || total <= bytes_) return true;
      if (!budget_->TryAdd(total - bytes_)) return false;
      bytes_ = total;
      return true;
    }
    std::size_t bytes() const { return bytes_; }

   private:
    void Release() {
      if (budget_) budget_->in_use_.fetch_sub(bytes_, std::memory_order_relaxed);
      budget_.reset();
      bytes_ = 0;
    }
    std::shared_ptr<BodyBudget> budget_;
    std::size_t bytes_ = 0;
  };

  explicit BodyBudget(std::size_t capacity) : capacity_(capacity) {}

  // A reservation of nothing yet, to grow as a body arrives.
  Reservation Reserve() { return Reservation(shared_from_this()); }

  std::size_t capacity() const { return capacity_; }
  std::size_t in_use() const { return in_use_.load(std::memory_order_relaxed); }

 private:
  bool TryAdd(std::size_t bytes) {
    std::size_t used = in_use_.load(std::memory_order_relaxed);
    do {
      if (used > capacity_ || bytes > capacity_ - used) return false;
    } while (!in_use_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
    return true;
  }

  const std::size_t capacity_;
  std::atomic<std::size_t> in_use_{0};
};

}  // namespace expvar::http
