#include "schedule/instance_digest.h"

#include <cstdint>
#include <cstdio>

namespace expvar::schedule {
namespace {

// FNV-1a over a length-prefixed field encoding, so ("ab","c") and ("a","bc") differ.
class Fnv1a {
 public:
  void Add(std::string_view field) {
    AddRaw(std::to_string(field.size()));
    AddRaw(":");
    AddRaw(field);
  }
  void Add(std::int64_t number) { Add(std::to_string(number)); }
  std::string Hex() const {
    char out[17];
    std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(hash_));
    return out;
  }

 private:
  void AddRaw(std::string_view bytes) {
    for (unsigned char c : bytes) {
      hash_ ^= c;
      hash_ *= 0x100000001b3ULL;
    }
  }
  std::uint64_t hash_ = 0xcbf29ce484222325ULL;
};

}  // namespace

std::string InstanceDigest(const pipeline::Instance& i) {
  Fnv1a h;
  h.Add(i.expvar_url);
  h.Add(i.metric_namespace);
  h.Add(static_cast<std::int64_t>(i.metrics.size()));
  for (const auto& m : i.metrics) {
    h.Add(m.path);
    h.Add(pipeline::MetricTypeName(m.type));
    h.Add(m.alias ? "1" + *m.alias : "0");
    h.Add(static_cast<std::int64_t>(m.tags.size()));
    for (const auto& tag : m.tags) h.Add(tag);
  }
  h.Add(i.max_returned_metrics);
  h.Add(static_cast<std::int64_t>(i.tags.size()));
  for (const auto& tag : i.tags) h.Add(tag);
  h.Add(i.timeout.count());
  h.Add(i.min_collection_interval ? i.min_collection_interval->count() : -1);
  h.Add(i.username);
  h.Add(i.password);
  h.Add(static_cast<std::int64_t>(i.headers.size()));
  for (const auto& [name, value] : i.headers) {
    h.Add(name);
    h.Add(value);
  }
  h.Add(i.tls.verify ? "1" : "0");
  h.Add(i.tls.ca_cert);
  h.Add(i.tls.cert);
  h.Add(i.tls.private_key);
  h.Add(static_cast<std::int64_t>(i.max_body_bytes));
  return h.Hex();
}

}  // namespace expvar::schedule
