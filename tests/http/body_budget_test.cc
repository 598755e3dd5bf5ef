#include "http/body_budget.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace expvar::http {
namespace {

TEST(BodyBudget, ReservationsGrowWithinTheCapacityAndAreGivenBack) {
  auto budget = std::make_shared<BodyBudget>(100);
  {
    BodyBudget::Reservation a = budget->Reserve();
    EXPECT_TRUE(a.GrowTo(60));
    EXPECT_TRUE(a.GrowTo(40));  // shrinking holds on to what it has
    EXPECT_EQ(a.bytes(), 60u);
    BodyBudget::Reservation b = budget->Reserve();
    EXPECT_FALSE(b.GrowTo(41));  // 60 + 41 > 100: refused, nothing more held
    EXPECT_EQ(b.bytes(), 0u);
    EXPECT_TRUE(b.GrowTo(40));
    EXPECT_EQ(budget->in_use(), 100u);
    BodyBudget::Reservation moved = std::move(a);  // a body handed on keeps its bytes held
    EXPECT_EQ(moved.bytes(), 60u);
    EXPECT_EQ(budget->in_use(), 100u);
  }
  EXPECT_EQ(budget->in_use(), 0u);
}

TEST(BodyBudget, WithoutABudgetEverySizeFits) {
  BodyBudget::Reservation none;
  EXPECT_TRUE(none.GrowTo(std::size_t{1} << 40));
}

TEST(BodyBudget, ConcurrentReservationsNeverExceedTheCapacity) {
  auto budget = std::make_shared<BodyBudget>(1000);
  std::vector<std::thread> threads;
  std::atomic<bool> over{false};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        BodyBudget::Reservation r = budget->Reserve();
        if (r.GrowTo(300) && budget->in_use() > 1000) over = true;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_FALSE(over);
  EXPECT_EQ(budget->in_use(), 0u);
}

}  // namespace
}  // namespace expvar::http
