#include "sink/prometheus_text.h"

namespace expvar::sink {
namespace {

constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

// How many bytes a UTF-8 sequence starting with `lead` has; 0 for a byte that cannot lead one.
std::size_t Utf8LeadLength(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

// Length of the well-formed UTF-8 sequence at s[i] (no overlongs, surrogates or code points
// past U+10FFFF, as Prometheus' parser demands), or 0 when it is malformed.
std::size_t Utf8SequenceLength(std::string_view s, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  std::size_t len = Utf8LeadLength(byte(0));
  if (len == 0 || i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    if ((byte(k) & 0xC0) != 0x80) return 0;
  }
  unsigned char lead = byte(0);
  if (lead == 0xE0 && byte(1) < 0xA0) return 0;  // overlong
  if (lead == 0xED && byte(1) > 0x9F) return 0;  // surrogate
  if (lead == 0xF0 && byte(1) < 0x90) return 0;  // overlong
  if (lead == 0xF4 && byte(1) > 0x8F) return 0;  // past U+10FFFF
  return len;
}

}  // namespace

// Config-supplied tags may hold any bytes; Prometheus rejects a scrape with invalid UTF-8.
std::string ValidUtf8(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size();) {
    std::size_t len = Utf8SequenceLength(in, i);
    if (len == 0) {
      out.append(kReplacementChar);
      ++i;
    } else {
      out.append(in.substr(i, len));
      i += len;
    }
  }
  return out;
}

// prometheus-cpp writes HELP verbatim, but the text format requires '\' and newline escaped.
std::string EscapeHelp(std::string_view in) {
  std::string out;
  for (char c : ValidUtf8(in)) {
    if (c == '\\') {
      out.append("\\\\");
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace expvar::sink
