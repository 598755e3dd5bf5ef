// Fuzzes the Kubernetes watch-stream decoder. The stream is decoded twice: fed whole, and fed
// in chunks whose boundaries come from the input; both must yield the same events and end in the
// same state, because the network may cut a stream anywhere.
//
// Input: byte 0 picks the line limit, byte 1 the number of cuts (0-15), then one byte per cut
// (its position, as a fraction of the stream), then the stream itself.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "discovery/kube/watch_decoder.h"

namespace {

using expvar::discovery::kube::WatchDecoder;
using expvar::discovery::kube::WatchEvent;

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "watch_decoder_fuzz invariant violated: %s\n", what);
  std::abort();
}

struct Outcome {
  std::vector<WatchEvent> events;
  bool feed_ok = true;
  bool finish_ok = true;
  bool failed = false;
};

Outcome Decode(std::size_t max_line, std::string_view stream,
               const std::vector<std::size_t>& cuts) {
  Outcome out;
  WatchDecoder decoder(max_line);
  std::size_t start = 0;
  for (std::size_t cut : cuts) {
    if (!decoder.Feed(stream.substr(start, cut - start), &out.events)) out.feed_ok = false;
    start = cut;
  }
  if (!decoder.Feed(stream.substr(start), &out.events)) out.feed_ok = false;
  out.finish_ok = decoder.Finish(&out.events);
  out.failed = decoder.failed();
  if (decoder.buffered_bytes() != 0) Fail("bytes left buffered after Finish");
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  static constexpr std::size_t kLimits[] = {WatchDecoder::kDefaultMaxLineBytes, 16, 64, 256};
  const std::size_t max_line = kLimits[data[0] % 4];
  std::size_t cut_count = std::min<std::size_t>(data[1] % 16, size - 2);
  const std::uint8_t* cut_bytes = data + 2;
  std::string_view stream(reinterpret_cast<const char*>(data + 2 + cut_count),
                          size - 2 - cut_count);
  std::vector<std::size_t> cuts;
  for (std::size_t i = 0; i < cut_count; ++i) {
    cuts.push_back(stream.size() * cut_bytes[i] / 256);
  }
  std::sort(cuts.begin(), cuts.end());

  const Outcome whole = Decode(max_line, stream, {});
  const Outcome chunked = Decode(max_line, stream, cuts);
  if (whole.events.size() != chunked.events.size()) Fail("event counts differ");
  for (std::size_t i = 0; i < whole.events.size(); ++i) {
    if (whole.events[i].type != chunked.events[i].type) Fail("event types differ");
    if (whole.events[i].object != chunked.events[i].object) Fail("event objects differ");
  }
  if (whole.failed != chunked.failed) Fail("failed() differs");
  if (whole.feed_ok != chunked.feed_ok) Fail("Feed results differ");
  if (whole.finish_ok != chunked.finish_ok) Fail("Finish results differ");
  return 0;
}
