#include "discovery/pod_json.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <stdexcept>
#include <utility>

#include "common/json_kind.h"
#include "common/text.h"

namespace expvar::discovery {
namespace {

using common::JsonKindName;
using pipeline::Container;
using pipeline::ContainerPort;
using pipeline::OwnerReference;
using pipeline::Pod;

namespace json = boost::json;

// A field of the wrong JSON type. Thrown only inside this file, so that the readers below stay
// small; PodFromJson turns it into the error string.
class FieldError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

[[noreturn]] void Fail(const std::string& path, const char* expected, const json::value& got) {
  throw FieldError(path + ": expected " + expected + ", got " + JsonKindName(got));
}

// The field `key` of `parent`, or nullptr when it is absent or null: the API server omits empty
// fields, and some clients write them as null.
const json::value* Field(const json::object& parent, std::string_view key) {
  const json::value* value = parent.if_contains(key);
  return (value == nullptr || value->is_null()) ? nullptr : value;
}

const json::object* ObjectField(const json::object& parent, std::string_view key,
                                const std::string& path) {
  const json::value* value = Field(parent, key);
  if (value == nullptr) return nullptr;
  if (!value->is_object()) Fail(path, "an object", *value);
  return &value->get_object();
}

const json::array* ArrayField(const json::object& parent, std::string_view key,
                              const std::string& path) {
  const json::value* value = Field(parent, key);
  if (value == nullptr) return nullptr;
  if (!value->is_array()) Fail(path, "an array", *value);
  return &value->get_array();
}

std::string StringField(const json::object& parent, std::string_view key, const std::string& path) {
  const json::value* value = Field(parent, key);
  if (value == nullptr) return "";
  if (!value->is_string()) Fail(path, "a string", *value);
  return std::string(value->get_string());
}

bool BoolField(const json::object& parent, std::string_view key, const std::string& path) {
  const json::value* value = Field(parent, key);
  if (value == nullptr) return false;
  if (!value->is_bool()) Fail(path, "a boolean", *value);
  return value->get_bool();
}

const json::object& ObjectElement(const json::value& element, const std::string& path) {
  if (!element.is_object()) Fail(path, "an object", element);
  return element.get_object();
}

int PortField(const json::object& parent, const std::string& path) {
  const json::value* value = Field(parent, "containerPort");
  if (value == nullptr) return 0;
  if (!value->is_int64() && !value->is_uint64()) Fail(path, "an integer", *value);
  std::int64_t port = value->is_int64() ? value->get_int64() : -1;
  if (port < 1 || port > 65535) throw FieldError(path + ": port out of range 1-65535");
  return static_cast<int>(port);
}

std::map<std::string, std::string> StringMapField(const json::object& parent, std::string_view key,
                                                  const std::string& path) {
  std::map<std::string, std::string> out;
  const json::object* object = ObjectField(parent, key, path);
  if (object == nullptr) return out;
  for (const auto& [name, value] : *object) {
    const std::string value_path = path + "[\"" + std::string(name) + "\"]";
    if (!value.is_string()) Fail(value_path, "a string", value);
    out.emplace(std::string(name), std::string(value.get_string()));
  }
  return out;
}

// Calls visit(element, element_path) for each object of the array `parent[key]` (none when it is
// absent); an element that is not an object is an error naming it.
template <typename Visit>
void ForEachObject(const json::object& parent, std::string_view key, const std::string& path,
                   Visit visit) {
  const json::array* array = ArrayField(parent, key, path);
  if (array == nullptr) return;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const std::string element_path = common::Indexed(path, i);
    visit(ObjectElement((*array)[i], element_path), element_path);
  }
}

std::vector<OwnerReference> ReadOwnerReferences(const json::object& metadata) {
  std::vector<OwnerReference> owners;
  ForEachObject(metadata, "ownerReferences", "metadata.ownerReferences",
                [&](const json::object& reference, const std::string& path) {
                  owners.push_back({StringField(reference, "kind", path + ".kind"),
                                    StringField(reference, "name", path + ".name"),
                                    BoolField(reference, "controller", path + ".controller")});
                });
  return owners;
}

void ReadMetadata(const json::object& pod_json, Pod& pod) {
  const json::object* metadata = ObjectField(pod_json, "metadata", "metadata");
  if (metadata == nullptr) return;
  pod.uid = StringField(*metadata, "uid", "metadata.uid");
  pod.name = StringField(*metadata, "name", "metadata.name");
  pod.namespace_name = StringField(*metadata, "namespace", "metadata.namespace");
  pod.resource_version = StringField(*metadata, "resourceVersion", "metadata.resourceVersion");
  pod.creation_timestamp =
      StringField(*metadata, "creationTimestamp", "metadata.creationTimestamp");
  pod.annotations = StringMapField(*metadata, "annotations", "metadata.annotations");
  pod.labels = StringMapField(*metadata, "labels", "metadata.labels");
  pod.owner_references = ReadOwnerReferences(*metadata);
}

ContainerPort ReadPort(const json::object& port_json, const std::string& path) {
  ContainerPort port;
  port.name = StringField(port_json, "name", path + ".name");
  port.port = PortField(port_json, path + ".containerPort");
  std::string protocol = StringField(port_json, "protocol", path + ".protocol");
  if (!protocol.empty()) port.protocol = std::move(protocol);
  return port;
}

Container ReadContainer(const json::object& container_json, const std::string& path) {
  Container container;
  container.name = StringField(container_json, "name", path + ".name");
  container.image = StringField(container_json, "image", path + ".image");
  ForEachObject(container_json, "ports", path + ".ports",
                [&](const json::object& port, const std::string& port_path) {
                  container.ports.push_back(ReadPort(port, port_path));
                });
  return container;
}

void ReadSpec(const json::object& pod_json, Pod& pod) {
  const json::object* spec = ObjectField(pod_json, "spec", "spec");
  if (spec == nullptr) return;
  pod.node_name = StringField(*spec, "nodeName", "spec.nodeName");
  pod.host_network = BoolField(*spec, "hostNetwork", "spec.hostNetwork");
  ForEachObject(*spec, "containers", "spec.containers",
                [&](const json::object& container, const std::string& path) {
                  pod.containers.push_back(ReadContainer(container, path));
                });
}

bool ReadReady(const json::object& status) {
  const json::array* conditions = ArrayField(status, "conditions", "status.conditions");
  if (conditions == nullptr) return false;
  for (std::size_t i = 0; i < conditions->size(); ++i) {
    const std::string path = common::Indexed("status.conditions", i);
    const json::object& condition = ObjectElement((*conditions)[i], path);
    if (StringField(condition, "type", path + ".type") == "Ready") {
      return StringField(condition, "status", path + ".status") == "True";
    }
  }
  return false;
}

// podIP first, then the other families from podIPs (the API server lists podIP first already;
// this keeps the promise when a client does not).
std::vector<std::string> ReadPodIps(const json::object& status, const std::string& pod_ip) {
  std::vector<std::string> ips;
  if (!pod_ip.empty()) ips.push_back(pod_ip);
  ForEachObject(status, "podIPs", "status.podIPs",
                [&](const json::object& entry, const std::string& path) {
                  std::string ip = StringField(entry, "ip", path + ".ip");
                  if (!ip.empty() && ip != pod_ip) ips.push_back(std::move(ip));
                });
  return ips;
}

// A container counts as running when its status has a `state.running` object (even an empty
// one): `waiting` and `terminated` are the other states. The status' image stands in for a spec
// that names none.
void ReadContainerStatuses(const json::object& status, Pod& pod) {
  ForEachObject(status, "containerStatuses", "status.containerStatuses",
                [&](const json::object& container_status, const std::string& path) {
                  const std::string name = StringField(container_status, "name", path + ".name");
                  const json::object* state =
                      ObjectField(container_status, "state", path + ".state");
                  bool running = state != nullptr &&
                                 ObjectField(*state, "running", path + ".state.running") != nullptr;
                  std::string image = StringField(container_status, "image", path + ".image");
                  for (Container& container : pod.containers) {
                    if (container.name != name) continue;
                    container.running = running;
                    if (container.image.empty()) container.image = image;
                  }
                });
}

void ReadStatus(const json::object& pod_json, Pod& pod) {
  const json::object* status = ObjectField(pod_json, "status", "status");
  if (status == nullptr) return;
  pod.phase = StringField(*status, "phase", "status.phase");
  pod.qos_class = StringField(*status, "qosClass", "status.qosClass");
  pod.pod_ip = StringField(*status, "podIP", "status.podIP");
  pod.pod_ips = ReadPodIps(*status, pod.pod_ip);
  pod.ready = ReadReady(*status);
  ReadContainerStatuses(*status, pod);
}

}  // namespace

std::optional<pipeline::Pod> PodFromJson(const boost::json::value& json, std::string* error) {
  if (!json.is_object()) {
    if (error != nullptr) *error = "pod: expected an object, got " + JsonKindName(json);
    return std::nullopt;
  }
  Pod pod;
  try {
    ReadMetadata(json.get_object(), pod);
    ReadSpec(json.get_object(), pod);
    ReadStatus(json.get_object(), pod);
  } catch (const FieldError& e) {
    // metadata is read first, so the pod can usually be named.
    std::string who = pod.name.empty() ? "pod" : "pod " + pod.namespace_name + "/" + pod.name;
    if (error != nullptr) *error = who + ": " + e.what();
    return std::nullopt;
  }
  return pod;
}

}  // namespace expvar::discovery
