// Keeps the read buffers of finished responses on their thread, so that the next exchange reads
// into memory it already has instead of allocating and freeing ~14 KB each scrape.
#pragma once

#include <boost/beast/core/flat_buffer.hpp>
#include <cstddef>

namespace expvar::http {

// A buffer with at least `room` bytes of capacity, from this thread's spares when one is there.
boost::beast::flat_buffer TakeReadBuffer(std::size_t room);

// Hands an emptied buffer back to this thread's spares; one still holding bytes (the start of a
// response that was not asked for yet), or past the spares' bounds, is simply freed.
void GiveBackReadBuffer(boost::beast::flat_buffer buffer);

// How many buffers this thread keeps now.
std::size_t SpareReadBuffers();

}  // namespace expvar::http
