// Parses JSON keeping only the values a set of compiled paths can reach, so a scrape's memory
// follows what its plan asks for rather than what the target serves.
#pragma once

#include <boost/json/parse_options.hpp>
#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "check/path.h"

namespace expvar::check {

// Where a value sits relative to the paths: which paths its keys are still a prefix of, and
// whether one of them already matched it whole (then everything below it is kept).
struct ReachPosition {
  std::vector<std::uint32_t> alive;  // indexes into Reach's paths
  std::size_t depth = 0;             // keys from the document root
  bool whole = false;
};

// The values some path can reach. A value is kept when its keys are a prefix of a match of a
// path, or lie under a full match; everything else can be dropped without changing what
// CompiledPath::ForEachMatch finds for any of the paths.
class Reach {
 public:
  // `paths` and `memo` (which may be null) must outlive the Reach.
  Reach(std::vector<const CompiledPath*> paths, MatchMemo* memo);

  ReachPosition Root() const;
  // The position of the child of `parent` under `key`; false when no path reaches it.
  bool Step(const ReachPosition& parent, std::string_view key, ReachPosition& child) const;

 private:
  std::vector<const CompiledPath*> paths_;
  MatchMemo* memo_;
};

// Parses `text` as one JSON value found at `prefix` (its keys from the document root), keeping
// what `reach` can reach (everything when `reach` is null). Syntax is checked in full either
// way. Empty when `ec` is set or nothing of the value is reached.
std::optional<boost::json::value> ParsePruned(std::string_view text, const Reach* reach,
                                              const std::vector<std::string_view>& prefix,
                                              const boost::json::parse_options& options,
                                              boost::json::storage_ptr storage,
                                              boost::system::error_code& ec);

}  // namespace expvar::check
