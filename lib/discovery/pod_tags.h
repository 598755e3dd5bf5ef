// The tags the collector derives from a pod for one of its containers, with the names and value
// formats of the Datadog Agent's Kubernetes tagger: identity, unified service tagging, owners,
// image, QoS class, phase and the app.kubernetes.io labels.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/pod.h"

namespace expvar::discovery {

// The tags of `container` in `pod`, in this order (a tag whose value is empty is left out):
// kube_namespace, pod_name, kube_container_name; env, service, version from the labels
// tags.datadoghq.com/<container>.<key> (wins) or tags.datadoghq.com/<key>; the controller owner's
// kube_ownerref_kind (lowercased), kube_ownerref_name and kube_replica_set + kube_deployment,
// kube_daemon_set, kube_stateful_set, kube_job (+ kube_cronjob), kube_deployment or
// kube_replication_controller; image_name, image_tag, short_image; kube_qos; pod_phase
// (lowercased); kube_app_{name,instance,version,component,part_of,managed_by}.
std::vector<std::string> PodTags(const pipeline::Pod& pod, const std::string& container);

// `tags` (from annotations) without those whose key one of `pod_tags` has already: the pod's
// value wins (an env label over an env annotation). An exact repeat is dropped quietly; a
// different value adds a warning naming `where`. A key is what precedes the first ':'.
std::vector<std::string> WithoutPodTagKeys(const std::vector<std::string>& tags,
                                           const std::vector<std::string>& pod_tags,
                                           const std::string& where,
                                           std::vector<std::string>& warnings);

// The Deployment a ReplicaSet belongs to, as the Agent's ParseDeploymentForReplicaSet: the name
// without its last `-<suffix>` when the suffix has 3 or more characters, all digits or all from
// Kubernetes' random-string alphabet (bcdfghjklmnpqrstvwxz2456789); "" otherwise.
std::string DeploymentForReplicaSet(std::string_view replica_set);

// The CronJob a Job belongs to, as the Agent's ParseCronJobForJob: the name without its last
// `-<suffix>` when the suffix is 3 or more digits (the scheduled time in minutes); "" otherwise.
std::string CronJobForJob(std::string_view job);

// A container image reference split as the Agent's SplitImageName: `name` is the image without
// `@sha…` digest and tag (registry and path kept), `short_name` its last path component, `tag`
// what follows the last ':' after the last '/' ("latest" when there is none, as Kubernetes
// pulls). nullopt for "" and for a bare `sha256:…` id.
struct ImageParts {
  std::string name;
  std::string short_name;
  std::string tag;
  bool operator==(const ImageParts&) const = default;
};
std::optional<ImageParts> SplitImageName(std::string_view image);

}  // namespace expvar::discovery
