// Builds pipeline::Pod values for tests and fuzz harnesses: a Running, Ready pod on node-1 unless
// a test says otherwise, so each test states only the facts it is about.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "pipeline/pod.h"

namespace expvar::testing {

class PodBuilder {
 public:
  PodBuilder(std::string namespace_name, std::string name, std::string uid = "") {
    pod_.namespace_name = std::move(namespace_name);
    pod_.name = std::move(name);
    pod_.uid = std::move(uid);
    pod_.node_name = "node-1";
    pod_.phase = "Running";
    pod_.ready = true;
  }

  // status.podIP is the first; status.podIPs all of them.
  PodBuilder& Ips(std::vector<std::string> ips) {
    pod_.pod_ip = ips.empty() ? "" : ips.front();
    pod_.pod_ips = std::move(ips);
    return *this;
  }
  PodBuilder& AddContainer(std::string name, std::vector<pipeline::ContainerPort> ports = {},
                           bool running = true) {
    pipeline::Container container;
    container.name = std::move(name);
    container.ports = std::move(ports);
    container.running = running;
    pod_.containers.push_back(std::move(container));
    return *this;
  }
  PodBuilder& Annotate(std::string key, std::string value) {
    pod_.annotations[std::move(key)] = std::move(value);
    return *this;
  }
  PodBuilder& Phase(std::string phase, bool ready) {
    pod_.phase = std::move(phase);
    pod_.ready = ready;
    return *this;
  }

  pipeline::Pod Build() const { return pod_; }

 private:
  pipeline::Pod pod_;
};

}  // namespace expvar::testing
