#include "discovery/podinfo.h"

#include <set>

namespace expvar::discovery {

using pipeline::Pod;

namespace {

void AppendUtf8(std::string& out, unsigned code) {
  if (code < 0x80) {
    out.push_back(static_cast<char>(code));
  } else if (code < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code >> 6)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else if (code < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (code >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (code >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  }
}

std::optional<unsigned> Hex(std::string_view digits) {
  unsigned value = 0;
  for (char c : digits) {
    value <<= 4;
    if (c >= '0' && c <= '9')
      value |= c - '0';
    else if (c >= 'a' && c <= 'f')
      value |= c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      value |= c - 'A' + 10;
    else
      return std::nullopt;
  }
  return value;
}

// Undoes Go's strconv.Quote: the escapes it writes are \a \b \f \n \r \t \v \\ \" \xHH \uHHHH
// and \UHHHHHHHH.
std::optional<std::string> Unquote(std::string_view quoted) {
  if (quoted.size() < 2 || quoted.front() != '"' || quoted.back() != '"') return std::nullopt;
  std::string out;
  for (std::size_t i = 1; i + 1 < quoted.size(); ++i) {
    char c = quoted[i];
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (++i + 1 > quoted.size() - 1) return std::nullopt;
    char e = quoted[i];
    static const std::string_view kSimple = "abfnrtv\\\"";
    static const std::string_view kValues = "\a\b\f\n\r\t\v\\\"";
    if (auto at = kSimple.find(e); at != std::string_view::npos) {
      out.push_back(kValues[at]);
      continue;
    }
    std::size_t digits = e == 'x' ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : 0;
    if (digits == 0 || i + digits >= quoted.size() - 1) return std::nullopt;
    auto code = Hex(quoted.substr(i + 1, digits));
    if (!code) return std::nullopt;
    if (e == 'x')
      out.push_back(static_cast<char>(*code));
    else
      AppendUtf8(out, *code);
    i += digits;
  }
  return out;
}

// "ad.datadoghq.com/<C>.checks" -> "<C>", for every per-container key we read, under any prefix
// (Datadog's, the legacy one, or an operator's --annotation-prefix): a container the checks do not
// name yields no target, so a foreign key costs nothing.
std::optional<std::string> ContainerOf(const std::string& key) {
  if (auto slash = key.find('/'); slash != std::string::npos) {
    std::string rest = key.substr(slash + 1);
    for (std::string_view suffix : {".checks", ".check_names", ".init_configs", ".instances"}) {
      if (rest.size() > suffix.size() &&
          rest.compare(rest.size() - suffix.size(), suffix.size(), suffix) == 0) {
        return rest.substr(0, rest.size() - suffix.size());
      }
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::map<std::string, std::string>> ParseDownwardApiAnnotations(std::string_view text,
                                                                              std::string* error) {
  std::map<std::string, std::string> annotations;
  std::size_t line_number = 0;
  while (!text.empty()) {
    std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++line_number;
    if (line.empty()) continue;
    std::size_t equals = line.find('=');
    auto value = equals == std::string_view::npos ? std::nullopt : Unquote(line.substr(equals + 1));
    if (!value) {
      if (error) *error = "line " + std::to_string(line_number) + ": expected key=\"value\"";
      return std::nullopt;
    }
    annotations[std::string(line.substr(0, equals))] = std::move(*value);
  }
  return annotations;
}

Pod PodFromAnnotations(std::map<std::string, std::string> annotations, const std::string& name,
                       const std::string& namespace_name, const std::string& pod_ip) {
  Pod pod;
  pod.name = name;
  pod.namespace_name = namespace_name;
  pod.phase = "Running";
  pod.ready = true;
  pod.pod_ip = pod_ip;
  if (!pod_ip.empty()) pod.pod_ips = {pod_ip};
  std::set<std::string> names;
  for (const auto& [key, value] : annotations) {
    if (auto container = ContainerOf(key)) names.insert(*container);
  }
  for (const auto& name : names) {
    pipeline::Container container;
    container.name = name;
    container.running = true;  // the file lists no statuses: a sidecar's neighbours are up
    pod.containers.push_back(std::move(container));
  }
  pod.annotations = std::move(annotations);
  return pod;
}

}  // namespace expvar::discovery
