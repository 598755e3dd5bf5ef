#include "check/document.h"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <optional>

namespace expvar::check {
namespace {

// Deep enough for any real expvar document, shallow enough that destroying the parsed value
// (which recurses) cannot exhaust the stack.
constexpr std::size_t kMaxDepth = 128;

boost::json::parse_options Options() {
  boost::json::parse_options options;
  options.max_depth = kMaxDepth;
  options.allow_invalid_utf8 = true;  // a byte-level glitch in one string is not worth a scrape
  return options;
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Walks the top level of `{ "k": v, ... }` by hand, finding where each value ends by counting
// brackets outside strings, so that a value the strict parser rejects can be skipped.
class TopLevelScanner {
 public:
  explicit TopLevelScanner(std::string_view text) : s_(text) {}

  void SkipSpace() {
    while (pos_ < s_.size() && IsSpace(s_[pos_])) ++pos_;
  }
  bool Consume(char c) {
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool AtEnd() {
    SkipSpace();
    return pos_ == s_.size();
  }
  // Returns the raw text of a JSON string token including quotes.
  std::optional<std::string_view> StringToken() {
    SkipSpace();
    if (pos_ >= s_.size() || s_[pos_] != '"') return std::nullopt;
    std::size_t start = pos_++;
    while (pos_ < s_.size() && s_[pos_] != '"') pos_ += (s_[pos_] == '\\') ? 2 : 1;
    if (pos_ >= s_.size()) return std::nullopt;
    ++pos_;
    return s_.substr(start, pos_ - start);
  }
  // Returns the raw text of a value: up to the ',' or '}' that closes it at depth 0.
  std::optional<std::string_view> ValueToken() {
    SkipSpace();
    std::size_t start = pos_;
    int depth = 0;
    bool in_string = false;
    for (; pos_ < s_.size(); ++pos_) {
      char c = s_[pos_];
      if (in_string) {
        if (c == '\\') {
          ++pos_;
        } else if (c == '"') {
          in_string = false;
        }
        continue;
      }
      if (c == '"') {
        in_string = true;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (depth == 0) break;
        --depth;
      } else if (c == ',' && depth == 0) {
        break;
      }
    }
    if (pos_ >= s_.size() || depth != 0 || in_string) return std::nullopt;
    return s_.substr(start, pos_ - start);
  }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
};

std::string KeyText(std::string_view token, const boost::json::storage_ptr& storage) {
  boost::system::error_code ec;
  boost::json::value key = boost::json::parse(token, ec, storage, Options());
  if (!ec && key.is_string()) return std::string(key.get_string());
  return std::string(token.substr(1, token.size() - 2));  // keep the raw spelling
}

ParsedDocument LenientParse(std::string_view body, const boost::json::storage_ptr& storage,
                            const Reach* reach, const std::string& strict_error) {
  ParsedDocument doc;
  TopLevelScanner scan(body);
  boost::json::object object(storage);
  auto fail = [&] {
    doc.errors = {"document is not a JSON object: " + strict_error};
    return doc;
  };
  if (!scan.Consume('{')) return fail();
  if (!scan.Consume('}')) {
    do {
      auto key = scan.StringToken();
      if (!key || !scan.Consume(':')) return fail();
      auto raw = scan.ValueToken();
      if (!raw) return fail();
      std::string name = KeyText(*key, storage);
      boost::system::error_code ec;
      auto value = ParsePruned(*raw, reach, {name}, Options(), storage, ec);
      if (ec) {
        doc.errors.push_back("value of \"" + name + "\" skipped: " + ec.message());
      } else if (value) {
        object.insert_or_assign(name, std::move(*value));
      }
    } while (scan.Consume(','));
    if (!scan.Consume('}')) return fail();
  }
  if (!scan.AtEnd()) return fail();
  // Moving into a value constructed from the object keeps the arena; assigning into the
  // default-constructed member would deep-copy the whole document onto the heap.
  ParsedDocument parsed{boost::json::value(std::move(object)), std::move(doc.errors), true};
  return parsed;
}

}  // namespace

ParsedDocument ParseDocument(std::string_view body, boost::json::storage_ptr storage,
                             const Reach* reach) {
  boost::system::error_code ec;
  auto root = ParsePruned(body, reach, {}, Options(), storage, ec);
  if (!ec && root && root->is_object()) {
    return ParsedDocument{std::move(*root), {}, true};  // keeps the arena (see LenientParse)
  }
  std::string why = ec ? ec.message() : "top-level value is not an object";
  return LenientParse(body, storage, reach, why);
}

}  // namespace expvar::check
