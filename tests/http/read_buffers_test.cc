#include "http/read_buffers.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace expvar::http {
namespace {

// Empties this thread's spares, so that each test starts from none.
void DrainSpares() {
  while (SpareReadBuffers() > 0) TakeReadBuffer(0);
}

TEST(ReadBuffers, AnEmptiedBufferIsLentAgainWithItsMemory) {
  DrainSpares();
  auto first = TakeReadBuffer(16 * 1024);
  ASSERT_GE(first.capacity(), 16u * 1024);
  const void* memory = first.prepare(1).data();
  GiveBackReadBuffer(std::move(first));
  EXPECT_EQ(SpareReadBuffers(), 1u);
  auto second = TakeReadBuffer(8 * 1024);  // smaller room: the spare serves as it is
  EXPECT_EQ(second.prepare(1).data(), memory);
  EXPECT_GE(second.capacity(), 16u * 1024);
  EXPECT_EQ(SpareReadBuffers(), 0u);
}

TEST(ReadBuffers, ABufferStillHoldingBytesIsNotKept) {
  DrainSpares();
  auto buffer = TakeReadBuffer(4096);
  buffer.commit(boost::asio::buffer_copy(buffer.prepare(5), boost::asio::buffer("extra", 5)));
  GiveBackReadBuffer(std::move(buffer));
  EXPECT_EQ(SpareReadBuffers(), 0u);
}

TEST(ReadBuffers, SparesAreBoundedInNumberAndSize) {
  DrainSpares();
  std::vector<boost::beast::flat_buffer> taken;
  for (int i = 0; i < 40; ++i) taken.push_back(TakeReadBuffer(4096));
  for (auto& buffer : taken) GiveBackReadBuffer(std::move(buffer));
  EXPECT_EQ(SpareReadBuffers(), 16u);
  // Past the bound the buffer is freed, not left with the client that gave it back: a client
  // keeping its room would hold ~14 KB a target (140 MB at 10,000).
  auto one_more = TakeReadBuffer(4096);
  boost::beast::flat_buffer fresh;
  fresh.reserve(4096);
  GiveBackReadBuffer(std::move(fresh));  // the spares are full again
  ASSERT_EQ(SpareReadBuffers(), 16u);
  GiveBackReadBuffer(std::move(one_more));
  EXPECT_EQ(one_more.capacity(), 0u);  // NOLINT(bugprone-use-after-move): Beast defines it
  DrainSpares();
  GiveBackReadBuffer(TakeReadBuffer(1 << 20));  // larger than any response Beast reads at once
  EXPECT_EQ(SpareReadBuffers(), 0u);
  GiveBackReadBuffer(boost::beast::flat_buffer());  // nothing worth keeping
  EXPECT_EQ(SpareReadBuffers(), 0u);
}

TEST(ReadBuffers, EachThreadKeepsItsOwnSpares) {
  DrainSpares();
  GiveBackReadBuffer(TakeReadBuffer(4096));
  std::size_t seen_by_other_thread = 99;
  std::thread([&] { seen_by_other_thread = SpareReadBuffers(); }).join();
  EXPECT_EQ(seen_by_other_thread, 0u);
  EXPECT_EQ(SpareReadBuffers(), 1u);
}

}  // namespace
}  // namespace expvar::http
