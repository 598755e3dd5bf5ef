// Parses a /debug/vars body, keeping every well-formed top-level value when one is malformed.
#pragma once

#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "check/pruned_parse.h"

namespace expvar::check {

struct ParsedDocument {
  boost::json::value root;          // an object when ok
  std::vector<std::string> errors;  // one per top-level value that had to be dropped
  bool ok = false;                  // false: nothing usable, `errors` says why
};

// Go's expvar writes one top-level object whose members are produced independently (user
// Funcs can emit anything), so a bad member is dropped with an error and the rest is kept.
// The document as a whole must still be an object that ends where the body ends.
// Only what `reach` reaches is kept (everything when it is null); the rest is checked for
// syntax and dropped, so the parsed document is as large as what the plan asks for.
ParsedDocument ParseDocument(std::string_view body,
                             boost::json::storage_ptr storage = boost::json::storage_ptr(),
                             const Reach* reach = nullptr);

}  // namespace expvar::check
