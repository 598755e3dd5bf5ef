#include "http/read_buffers.h"

#include <utility>
#include <vector>

namespace expvar::http {
namespace {

// A thread runs one io_context, so its exchanges in flight at once are its spares' high mark;
// a handful covers a steady scrape schedule, and the cap bounds what an idle thread keeps
// (16 x 64 KiB at most).
constexpr std::size_t kMaxSpares = 16;
constexpr std::size_t kMaxSpareCapacity = 64 * 1024;

std::vector<boost::beast::flat_buffer>& Spares() {
  thread_local std::vector<boost::beast::flat_buffer> spares;
  return spares;
}

}  // namespace

boost::beast::flat_buffer TakeReadBuffer(std::size_t room) {
  auto& spares = Spares();
  boost::beast::flat_buffer buffer;
  if (!spares.empty()) {
    buffer = std::move(spares.back());
    spares.pop_back();
  }
  if (buffer.capacity() < room) buffer.reserve(room);
  return buffer;
}

void GiveBackReadBuffer(boost::beast::flat_buffer buffer) {
  auto& spares = Spares();
  if (buffer.size() != 0 || buffer.capacity() == 0 || buffer.capacity() > kMaxSpareCapacity ||
      spares.size() >= kMaxSpares) {
    return;
  }
  spares.push_back(std::move(buffer));
}

std::size_t SpareReadBuffers() { return Spares().size(); }

}  // namespace expvar::http
