// What discovery knows about a Kubernetes pod: the facts annotations and templates refer to.
#pragma once

#include <boost/json/value.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace expvar::discovery {

struct ContainerPort {
  std::string name;  // may be empty
  int port = 0;      // containerPort
  std::string protocol = "TCP";
};

struct Container {
  std::string name;
  std::vector<ContainerPort> ports;  // in declaration order
  bool running = false;              // from status.containerStatuses[].state.running
};

struct Pod {
  std::string uid;
  std::string name;
  std::string namespace_name;
  std::string node_name;
  std::string resource_version;
  std::string creation_timestamp;    // metadata.creationTimestamp, RFC 3339 in UTC
  std::string phase;                 // status.phase
  bool ready = false;                // condition Ready=True
  std::string pod_ip;                // status.podIP
  std::vector<std::string> pod_ips;  // status.podIPs[].ip (dual stack), podIP first
  std::map<std::string, std::string> annotations;
  std::map<std::string, std::string> labels;
  std::vector<Container> containers;  // spec.containers (not init containers)

  const Container* FindContainer(const std::string& name) const;
};

// "a string", "an object", ... for error messages about JSON values of the wrong type.
std::string JsonKindName(const boost::json::value& value);

// Reads a v1.Pod object (as the API server returns it). Missing optional fields take their
// zero values; a value of the wrong JSON type is an error naming the field.
std::optional<Pod> PodFromJson(const boost::json::value& json, std::string* error);

}  // namespace expvar::discovery
