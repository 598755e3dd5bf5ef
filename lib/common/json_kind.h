// Names a JSON value's kind the way error messages about wrong types say it ("a string", ...).
#pragma once

#include <boost/json/value.hpp>
#include <string>

namespace expvar::common {

inline std::string JsonKindName(const boost::json::value& value) {
  switch (value.kind()) {
    case boost::json::kind::null:
      return "null";
    case boost::json::kind::bool_:
      return "a boolean";
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
    case boost::json::kind::double_:
      return "a number";
    case boost::json::kind::string:
      return "a string";
    case boost::json::kind::array:
      return "an array";
    case boost::json::kind::object:
      return "an object";
  }
  return "?";
}

}  // namespace expvar::common
