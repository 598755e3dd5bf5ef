#include "check/path.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <stdexcept>

namespace expvar::check {
namespace {

bool IsLiteralSegment(std::string_view s) {
  if (s.empty()) return false;  // "" is the regex ^$, which matches only the empty key
  for (char c : s) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

// Array indices are matched as their decimal text, like Python's str(index). A deque keeps
// earlier names in place while later ones are added, so views into it stay valid.
std::string_view IndexName(std::size_t index, std::deque<std::string>& names) {
  while (names.size() <= index) names.push_back(std::to_string(names.size()));
  return names[index];
}

}  // namespace

bool PathSegment::Matches(std::string_view key) const {
  if (is_literal) return key == text;
  return std::regex_match(key.begin(), key.end(), *pattern);
}

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> parts(1);
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '\\' && i + 1 < path.size() && path[i + 1] == '/') {
      parts.back() += "\\/";  // kept escaped: the segment becomes a regex matching '/'
      ++i;
    } else if (path[i] == '/') {
      parts.emplace_back();
    } else {
      parts.back().push_back(path[i]);
    }
  }
  return parts;
}

CompiledPath::CompiledPath(std::string_view path) : text_(path) {
  for (std::string& part : SplitPath(path)) {
    PathSegment segment;
    segment.is_literal = IsLiteralSegment(part);
    if (!segment.is_literal) {
      try {
        segment.pattern = std::make_shared<const std::regex>(part, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        throw std::invalid_argument("cannot compile regex \"" + part + "\": " + e.what());
      }
      literal_ = false;
    }
    segment.text = std::move(part);
    segments_.push_back(std::move(segment));
  }
}

void CompiledPath::ForEachMatch(const boost::json::value& root, const Visitor& visit) const {
  std::vector<std::string_view> keys;
  keys.reserve(segments_.size());
  std::deque<std::string> index_names;
  Walk(root, 0, keys, index_names, visit);
}

void CompiledPath::Walk(const boost::json::value& node, std::size_t depth,
                        std::vector<std::string_view>& keys, std::deque<std::string>& index_names,
                        const Visitor& visit) const {
  if (depth == segments_.size()) {
    visit(keys, node);
    return;
  }
  const PathSegment& segment = segments_[depth];
  auto descend = [&](std::string_view key, const boost::json::value& child) {
    keys.push_back(key);
    Walk(child, depth + 1, keys, index_names, visit);
    keys.pop_back();
  };
  if (const auto* object = node.if_object()) {
    if (segment.is_literal) {
      // A literal can only match its own key; skip the scan over every member.
      if (auto it = object->find(segment.text); it != object->end())
        descend(it->key(), it->value());
      return;
    }
    for (const auto& member : *object) {
      if (segment.Matches(member.key())) descend(member.key(), member.value());
    }
  } else if (const auto* array = node.if_array()) {
    for (std::size_t i = 0; i < array->size(); ++i) {
      std::string_view name = IndexName(i, index_names);
      if (segment.Matches(name)) descend(name, (*array)[i]);
    }
  }
}

}  // namespace expvar::check
