// What discovery knows about a Kubernetes pod: the facts annotations, templates and tags refer to.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace expvar::pipeline {

struct ContainerPort {
  std::string name;  // may be empty
  int port = 0;      // containerPort
  std::string protocol = "TCP";
};

struct Container {
  std::string name;
  std::vector<ContainerPort> ports;  // in declaration order
  bool running = false;              // from status.containerStatuses[].state.running
  std::string image;  // spec.containers[].image as written, else containerStatuses[].image
};

// metadata.ownerReferences[]: who created the pod (a ReplicaSet, a DaemonSet, a Job, ...).
struct OwnerReference {
  std::string kind;
  std::string name;
  bool controller = false;
};

struct Pod {
  std::string uid;
  std::string name;
  std::string namespace_name;
  std::string node_name;
  std::string resource_version;
  std::string creation_timestamp;    // metadata.creationTimestamp, RFC 3339 in UTC
  std::string phase;                 // status.phase
  std::string qos_class;             // status.qosClass: Guaranteed, Burstable or BestEffort
  bool ready = false;                // condition Ready=True
  bool host_network = false;         // spec.hostNetwork: the pod IP is the node's
  std::string pod_ip;                // status.podIP
  std::vector<std::string> pod_ips;  // status.podIPs[].ip (dual stack), podIP first
  std::map<std::string, std::string> annotations;
  std::map<std::string, std::string> labels;
  std::vector<OwnerReference> owner_references;
  std::vector<Container> containers;  // spec.containers (not init containers)

  const Container* FindContainer(const std::string& container_name) const {
    for (const Container& container : containers) {
      if (container.name == container_name) return &container;
    }
    return nullptr;
  }
};

}  // namespace expvar::pipeline
