// Fuzzes the conf.yaml reader with untrusted YAML text. ConfigError is the expected way to refuse
// a file; any other exception escapes and libFuzzer reports it as a crash. Every instance the
// reader accepts must compile into a check plan, unless its expvar_url does not parse (the
// reader leaves URLs to the scheduler, which reports them per instance).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include "check/check.h"
#include "config/conf_file.h"
#include "http/url.h"

namespace {

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "conf_fuzz invariant violated: %s\n", what.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  expvar::config::ConfFile conf;
  try {
    conf = expvar::config::ParseConfText(text, "fuzz.yaml");
  } catch (const expvar::config::ConfigError&) {
    return 0;
  }
  for (const auto& instance : conf.instances) {
    if (instance.expvar_url.empty()) Fail("an accepted instance without expvar_url");
    if (instance.max_returned_metrics < 0) Fail("negative max_returned_metrics");
    std::string url_error;
    const bool url_ok = expvar::http::ParseUrl(instance.expvar_url, &url_error).has_value();
    try {
      (void)expvar::check::Compile(instance);
      if (!url_ok) Fail("a plan for an expvar_url the HTTP client cannot parse");
    } catch (const std::invalid_argument& e) {
      // The reader does not validate URLs; the scheduler reports this one for the instance.
      if (url_ok) Fail(std::string("a valid expvar_url that does not compile: ") + e.what());
    }
  }
  return 0;
}
