#include "fake_api_server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <thread>

namespace expvar::discovery::kube::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr std::chrono::milliseconds kWatchPoll{10};

std::string PercentDecode(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out += ' ';
    } else if (in[i] == '%' && i + 2 < in.size()) {
      out += static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

std::map<std::string, std::string> ParseQuery(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    out[PercentDecode(pair.substr(0, eq))] =
        eq == std::string_view::npos ? "" : PercentDecode(pair.substr(eq + 1));
    query = amp == std::string_view::npos ? "" : query.substr(amp + 1);
  }
  return out;
}

std::vector<std::string> Split(std::string_view text, char sep) {
  std::vector<std::string> out;
  for (std::size_t start = 0;;) {
    const auto end = text.find(sep, start);
    out.emplace_back(text.substr(start, end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

std::string Hex(std::string_view text) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : text) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::string Unhex(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i + 1 < text.size(); i += 2) {
    out += static_cast<char>(std::stoi(std::string(text.substr(i, 2)), nullptr, 16));
  }
  return out;
}

std::optional<std::uint64_t> ParseVersion(const std::string& text) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoull(text);
}

json::object Status(int code, const std::string& reason, const std::string& message) {
  return {{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", json::object()},
          {"status", "Failure"}, {"message", message}, {"reason", reason},
          {"code", code}};
}

std::string GetString(const json::object& object, const char* section, const char* name) {
  const auto* inner = object.if_contains(section);
  if (inner == nullptr || !inner->is_object()) return "";
  const auto* value = inner->as_object().if_contains(name);
  return value && value->is_string() ? std::string(value->get_string()) : "";
}

// The watch and list JSON of a stored pod: the server adds kind/apiVersion to single objects.
json::object WithKind(json::object pod) {
  pod["kind"] = "Pod";
  pod["apiVersion"] = "v1";
  return pod;
}

struct Selector {
  std::string namespace_name;  // "" = all namespaces
  std::vector<std::pair<std::string, std::string>> fields;

  bool Matches(const json::object& pod) const {
    if (!namespace_name.empty() && GetString(pod, "metadata", "namespace") != namespace_name) {
      return false;
    }
    for (const auto& [field, value] : fields) {
      const auto dot = field.find('.');
      if (dot == std::string::npos) {
        const auto* top = pod.if_contains(field);
        if (!top || !top->is_string() || top->get_string() != value) return false;
        continue;
      }
      const auto section = field.substr(0, dot);
      const auto name = field.substr(dot + 1);
      if (GetString(pod, section.c_str(), name.c_str()) != value) return false;
    }
    return true;
  }
};

// fieldSelector "a=b,c==d"; only the fields the real server indexes that we need (pods, or
// with for_events the ones kubectl describe asks events for).
std::optional<Selector> ParseFieldSelector(const std::string& text, std::string* error,
                                           bool for_events = false) {
  Selector selector;
  if (text.empty()) return selector;
  for (const auto& term : Split(text, ',')) {
    auto eq = term.find("==");
    std::size_t skip = 2;
    if (eq == std::string::npos) {
      eq = term.find('=');
      skip = 1;
    }
    const std::string field = eq == std::string::npos ? term : term.substr(0, eq);
    const bool known =
        for_events
            ? field.starts_with("involvedObject.") || field == "reason" || field == "type"
            : field == "spec.nodeName" || field == "metadata.name" || field == "metadata.namespace";
    if (eq == std::string::npos || term.find("!=") != std::string::npos || !known) {
      *error = "field label not supported: " + field;
      return std::nullopt;
    }
    selector.fields.emplace_back(field, term.substr(eq + skip));
  }
  return selector;
}

struct Reply {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

Reply JsonReply(int status, const json::value& body) {
  return {status, json::serialize(body) + "\n", {}};
}

Reply StatusReply(int code, const std::string& reason, const std::string& message) {
  return JsonReply(code, Status(code, reason, message));
}

std::string Chunk(const std::string& data) {
  char size[32];
  std::snprintf(size, sizeof(size), "%zx\r\n", data.size());
  return size + data + "\r\n";
}

std::string EventLine(const char* type, const json::value& object) {
  return json::serialize(json::object{{"type", type}, {"object", object}}) + "\n";
}

// RFC 7386 JSON merge patch; a strategic-merge patch of an Event's scalar fields is the same.
void ApplyMergePatch(json::object& target, const json::object& patch) {
  for (const auto& [key, value] : patch) {
    if (value.is_null()) {
      target.erase(key);
    } else if (value.is_object() && target.contains(key) && target.at(key).is_object()) {
      ApplyMergePatch(target.at(key).as_object(), value.as_object());
    } else {
      target[key] = value;
    }
  }
}

// metav1.Time as the API server parses it: RFC 3339 ("2024-01-01T00:00:00Z").
bool IsRfc3339(const json::value* value) {
  if (value == nullptr || value->is_null()) return true;  // optional
  if (!value->is_string()) return false;
  std::tm parsed{};
  const std::string text(value->get_string());
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &parsed);
  return end != nullptr && (std::string_view(end) == "Z" || std::string_view(end).size() == 6);
}

}  // namespace

bool RecordedRequest::IsWatch() const {
  const auto watch = Query("watch");
  return watch == "1" || watch == "true";
}

std::string RecordedRequest::Query(const std::string& name) const {
  const auto it = query.find(name);
  return it == query.end() ? "" : it->second;
}

class FakeApiServer::Impl {
 public:
  Impl(FakeApiServer* owner, FakeApiOptions options) : options_(std::move(options)), owner_(owner) {
    if (!options_.tls_cert.empty()) {
      tls_context_.emplace(ssl::context::tls_server);
      tls_context_->use_certificate_chain_file(options_.tls_cert);
      tls_context_->use_private_key_file(options_.tls_key, ssl::context::pem);
      owner_->tls_ = true;
    }
    tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen();
    owner_->port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(io_, Accept(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }

  ~Impl() {
    io_.stop();
    thread_.join();
  }

  // ---- state, all under mu_ ----
  struct Event {
    std::uint64_t version;
    const char* type;
    json::object pod;
  };

  mutable std::mutex mu_;
  FakeApiOptions options_;
  std::map<std::string, json::object> pods_;  // "ns/name" → pod, in key order like etcd
  std::vector<Event> history_;
  std::uint64_t version_ = 1;
  std::uint64_t compacted_ = 0;  // versions <= this are gone
  std::uint64_t next_uid_ = 1;
  int watch_epoch_ = 0;
  int bookmark_epoch_ = 0;
  int fail_count_ = 0;
  int fail_status_ = 0;
  std::optional<int> fail_retry_after_;
  std::vector<RecordedRequest> requests_;
  std::map<std::string, json::object> events_;  // "ns/name" → v1 Event
  int event_status_ = 0;

  std::string Bump(const char* type, json::object pod) {
    ++version_;
    pod["metadata"].as_object()["resourceVersion"] = std::to_string(version_);
    history_.push_back({version_, type, pod});
    return std::to_string(version_);
  }

  std::string NewUid() {
    char uid[64];
    std::snprintf(uid, sizeof(uid), "00000000-0000-4000-8000-%012llu",
                  static_cast<unsigned long long>(next_uid_++));
    return uid;
  }

 private:
  asio::awaitable<void> Accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kNoThrow);
      if (ec) co_return;
      asio::co_spawn(io_, Session(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> Session(tcp::socket socket) {
    if (!tls_context_) {
      beast::tcp_stream stream(std::move(socket));
      co_await Serve(stream);
      co_return;
    }
    beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *tls_context_);
    auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, kNoThrow);
    if (!ec) co_await Serve(stream);
  }

  template <class Stream>
  asio::awaitable<void> Serve(Stream& stream) {
    beast::flat_buffer buffer;
    for (;;) {
      bhttp::request<bhttp::string_body> request;
      auto [ec, n] = co_await bhttp::async_read(stream, buffer, request, kNoThrow);
      if (ec) co_return;
      const RecordedRequest recorded = Record(request);
      if (auto reply = Precheck(recorded)) {
        if (!co_await Write(stream, *reply, request.keep_alive())) co_return;
        continue;
      }
      if (recorded.IsWatch()) {
        if (!co_await Watch(stream, recorded)) co_return;
        continue;
      }
      if (!co_await Write(stream, Handle(recorded), request.keep_alive())) co_return;
    }
  }

  RecordedRequest Record(const bhttp::request<bhttp::string_body>& request) {
    RecordedRequest out;
    out.method = std::string(request.method_string());
    out.target = std::string(request.target());
    const auto question = out.target.find('?');
    out.path = PercentDecode(out.target.substr(0, question));
    if (question != std::string::npos) out.query = ParseQuery(out.target.substr(question + 1));
    out.authorization = std::string(request[bhttp::field::authorization]);
    out.accept = std::string(request[bhttp::field::accept]);
    out.content_type = std::string(request[bhttp::field::content_type]);
    out.body = request.body();
    out.at = Clock::now();
    std::lock_guard lock(mu_);
    requests_.push_back(out);
    return out;
  }

  static bool IsPodCollection(const std::vector<std::string>& parts) {
    // /api/v1/pods or /api/v1/namespaces/<ns>/pods
    return (parts.size() == 4 && parts[3] == "pods") ||
           (parts.size() == 6 && parts[3] == "namespaces" && parts[5] == "pods");
  }

  // Authentication and injected failures, common to every request.
  std::optional<Reply> Precheck(const RecordedRequest& request) {
    std::lock_guard lock(mu_);
    if (!options_.token.empty() && request.authorization != "Bearer " + options_.token) {
      return StatusReply(401, "Unauthorized", "Unauthorized");
    }
    if (fail_count_ > 0 && IsPodCollection(Split(request.path, '/'))) {
      --fail_count_;
      auto reply =
          StatusReply(fail_status_, fail_status_ == 429 ? "TooManyRequests" : "InternalError",
                      "injected failure");
      if (fail_retry_after_)
        reply.headers.emplace_back("Retry-After", std::to_string(*fail_retry_after_));
      return reply;
    }
    return std::nullopt;
  }

  Reply Handle(const RecordedRequest& request) {
    const auto parts = Split(request.path, '/');
    if (IsEventPath(parts)) return HandleEvent(request, parts);
    if (request.method != "GET") return StatusReply(405, "MethodNotAllowed", "only GET");
    if (request.path == "/api") return JsonReply(200, ApiVersions());
    if (request.path == "/apis") {
      return JsonReply(
          200,
          json::object{{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", json::array()}});
    }
    if (request.path == "/api/v1") return JsonReply(200, ResourceList());
    if (request.path == "/version") {
      return JsonReply(200, json::object{{"major", "1"},
                                         {"minor", "32"},
                                         {"gitVersion", "v1.32.0-fake"},
                                         {"platform", "linux/amd64"}});
    }
    if (IsPodCollection(parts)) return List(request, parts.size() == 6 ? parts[4] : "");
    if (parts.size() == 7 && parts[3] == "namespaces" && parts[5] == "pods") {
      return GetPod(parts[4], parts[6]);
    }
    return StatusReply(404, "NotFound", "the server could not find the requested resource");
  }

  json::object ApiVersions() const {
    return {{"kind", "APIVersions"},
            {"versions", json::array{"v1"}},
            {"serverAddressByClientCIDRs",
             json::array{
                 json::object{{"clientCIDR", "0.0.0.0/0"},
                              {"serverAddress", "127.0.0.1:" + std::to_string(owner_->port_)}}}}};
  }

  static json::object ResourceList() {
    json::object pods{{"name", "pods"},
                      {"singularName", "pod"},
                      {"namespaced", true},
                      {"kind", "Pod"},
                      {"verbs", json::array{"get", "list", "watch"}},
                      {"shortNames", json::array{"po"}},
                      {"categories", json::array{"all"}}};
    json::object events{{"name", "events"},
                        {"singularName", "event"},
                        {"namespaced", true},
                        {"kind", "Event"},
                        {"verbs", json::array{"create", "get", "list", "patch"}},
                        {"shortNames", json::array{"ev"}}};
    return {{"kind", "APIResourceList"},
            {"apiVersion", "v1"},
            {"groupVersion", "v1"},
            {"resources", json::array{pods, events}}};
  }

  // /api/v1/events, /api/v1/namespaces/<ns>/events[/<name>]
  static bool IsEventPath(const std::vector<std::string>& parts) {
    return (parts.size() == 4 && parts[3] == "events") ||
           ((parts.size() == 6 || parts.size() == 7) && parts[3] == "namespaces" &&
            parts[5] == "events");
  }

  Reply HandleEvent(const RecordedRequest& request, const std::vector<std::string>& parts) {
    const std::string ns = parts.size() >= 6 ? parts[4] : "";
    const std::string name = parts.size() == 7 ? parts[6] : "";
    if (request.method == "GET" && name.empty()) return ListEvents(request, ns);
    std::lock_guard lock(mu_);
    if (request.method != "GET" && event_status_ != 0) {
      return StatusReply(event_status_, event_status_ == 403 ? "Forbidden" : "InternalError",
                         "injected event failure");
    }
    const auto it = events_.find(ns + "/" + name);
    if (request.method == "GET") {
      if (it == events_.end())
        return StatusReply(404, "NotFound", "events \"" + name + "\" not found");
      return JsonReply(200, it->second);
    }
    boost::system::error_code ec;
    json::value body = json::parse(request.body, ec);
    if (ec || !body.is_object()) return StatusReply(400, "BadRequest", "body is no JSON object");
    if (request.method == "POST" && name.empty() && !ns.empty())
      return CreateEvent(ns, body.as_object());
    if (request.method == "PATCH" && !name.empty()) {
      if (request.content_type != "application/strategic-merge-patch+json" &&
          request.content_type != "application/merge-patch+json") {
        return StatusReply(415, "UnsupportedMediaType",
                           "the body of the request was in an unknown format");
      }
      if (it == events_.end())
        return StatusReply(404, "NotFound", "events \"" + name + "\" not found");
      json::object patched = it->second;
      ApplyMergePatch(patched, body.as_object());
      if (auto invalid = InvalidEvent(patched, ns)) return *invalid;
      patched["metadata"].as_object()["resourceVersion"] = std::to_string(++version_);
      it->second = patched;
      return JsonReply(200, patched);
    }
    return StatusReply(405, "MethodNotAllowed", "events: GET, POST or PATCH");
  }

  // What the real server's legacy (no eventTime) Event validation and decoding refuse.
  static std::optional<Reply> InvalidEvent(const json::object& event, const std::string& ns) {
    if (GetString(event, "metadata", "name").empty()) {
      return StatusReply(422, "Invalid", "metadata.name: Required value");
    }
    if (GetString(event, "involvedObject", "namespace") != ns) {
      return StatusReply(422, "Invalid",
                         "involvedObject.namespace: does not match event.namespace");
    }
    for (const char* field : {"firstTimestamp", "lastTimestamp"}) {
      if (!IsRfc3339(event.if_contains(field))) {
        return StatusReply(400, "BadRequest", std::string(field) + ": not RFC 3339");
      }
    }
    const auto* count = event.if_contains("count");
    if (count != nullptr && !count->is_int64()) return StatusReply(400, "BadRequest", "count");
    return std::nullopt;
  }

  Reply CreateEvent(const std::string& ns, json::object event) {
    auto& metadata = event["metadata"];
    if (!metadata.is_object()) return StatusReply(400, "BadRequest", "metadata");
    const std::string given_ns = GetString(event, "metadata", "namespace");
    if (!given_ns.empty() && given_ns != ns) {
      return StatusReply(400, "BadRequest",
                         "the namespace of the provided object does not match the namespace sent "
                         "on the request");
    }
    metadata.as_object()["namespace"] = ns;
    if (auto invalid = InvalidEvent(event, ns)) return *invalid;
    const std::string key = ns + "/" + GetString(event, "metadata", "name");
    if (events_.count(key)) {
      return StatusReply(409, "AlreadyExists",
                         "events \"" + GetString(event, "metadata", "name") + "\" already exists");
    }
    metadata.as_object()["uid"] = NewUid();
    metadata.as_object()["resourceVersion"] = std::to_string(++version_);
    metadata.as_object()["creationTimestamp"] = "2024-01-01T00:00:00Z";
    event["kind"] = "Event";
    event["apiVersion"] = "v1";
    events_[key] = event;
    return JsonReply(201, event);
  }

  Reply ListEvents(const RecordedRequest& request, const std::string& ns) {
    std::string error;
    auto selector = ParseFieldSelector(request.Query("fieldSelector"), &error, true);
    if (!selector) return StatusReply(400, "BadRequest", error);
    selector->namespace_name = ns;
    std::lock_guard lock(mu_);
    json::array items;
    for (const auto& [key, event] : events_) {
      if (selector->Matches(event)) items.push_back(event);
    }
    return JsonReply(
        200, json::object{{"kind", "EventList"},
                          {"apiVersion", "v1"},
                          {"metadata", json::object{{"resourceVersion", std::to_string(version_)}}},
                          {"items", items}});
  }

  Reply GetPod(const std::string& ns, const std::string& name) {
    std::lock_guard lock(mu_);
    const auto it = pods_.find(ns + "/" + name);
    if (it == pods_.end()) return StatusReply(404, "NotFound", "pods \"" + name + "\" not found");
    return JsonReply(200, WithKind(it->second));
  }

  // Pages follow the key order; the continue token (opaque to clients) holds the list's version
  // and the last key served, like the real server's.
  Reply List(const RecordedRequest& request, const std::string& ns) {
    std::string error;
    auto selector = ParseFieldSelector(request.Query("fieldSelector"), &error);
    if (!selector) return StatusReply(400, "BadRequest", error);
    selector->namespace_name = ns;
    std::lock_guard lock(mu_);
    std::uint64_t list_version = version_;
    std::string after;
    if (const auto token = request.Query("continue"); !token.empty()) {
      const auto fields = Split(Unhex(token), '\n');
      if (fields.size() != 2 || !ParseVersion(fields[0])) {
        return StatusReply(400, "BadRequest", "invalid continue token");
      }
      list_version = *ParseVersion(fields[0]);
      if (list_version < compacted_) {
        return StatusReply(410, "Expired",
                           "The provided continue parameter is too old to display a consistent "
                           "list result. You can start a new list without the continue parameter.");
      }
      after = fields[1];
    }
    const auto limit = ParseVersion(request.Query("limit")).value_or(0);
    json::array items;
    std::string last_key;
    bool more = false;
    for (auto it = pods_.upper_bound(after); it != pods_.end(); ++it) {
      if (!selector->Matches(it->second)) continue;
      if (limit > 0 && items.size() == limit) {
        more = true;
        break;
      }
      items.push_back(it->second);
      last_key = it->first;
    }
    json::object metadata{{"resourceVersion", std::to_string(list_version)}};
    if (more) metadata["continue"] = Hex(std::to_string(list_version) + "\n" + last_key);
    return JsonReply(
        200,
        json::object{
            {"kind", "PodList"}, {"apiVersion", "v1"}, {"metadata", metadata}, {"items", items}});
  }

  template <class Stream>
  asio::awaitable<bool> Write(Stream& stream, const Reply& reply, bool keep_alive) {
    bhttp::response<bhttp::string_body> response{bhttp::int_to_status(reply.status), 11};
    response.set(bhttp::field::content_type, "application/json");
    response.set(bhttp::field::cache_control, "no-cache, private");
    for (const auto& [name, value] : reply.headers) response.set(name, value);
    response.body() = reply.body;
    response.keep_alive(keep_alive);
    response.prepare_payload();
    auto [ec, n] = co_await bhttp::async_write(stream, response, kNoThrow);
    co_return !ec && keep_alive;
  }

  template <class Stream>
  asio::awaitable<bool> WriteRaw(Stream& stream, const std::string& data) {
    auto [ec, n] = co_await asio::async_write(stream, asio::buffer(data), kNoThrow);
    co_return !ec;
  }

  struct WatchState {
    Selector selector;
    std::uint64_t sent = 0;  // events up to this version were considered
    bool bookmarks = false;
    int watch_epoch = 0;
    int bookmark_epoch = 0;
    Clock::time_point deadline;
    Clock::time_point next_bookmark;
  };

  // Refusals before the stream starts are plain replies; nullopt means "stream".
  std::optional<Reply> StartWatch(const RecordedRequest& request, WatchState* state,
                                  std::string* initial, bool* gone_in_stream) {
    std::string error;
    auto selector = ParseFieldSelector(request.Query("fieldSelector"), &error);
    if (!selector) return StatusReply(400, "BadRequest", error);
    const auto parts = Split(request.path, '/');
    if (!IsPodCollection(parts)) return StatusReply(404, "NotFound", "not a watchable collection");
    selector->namespace_name = parts.size() == 6 ? parts[4] : "";
    state->selector = std::move(*selector);
    const auto version_text = request.Query("resourceVersion");
    std::lock_guard lock(mu_);
    state->watch_epoch = watch_epoch_;
    state->bookmark_epoch = bookmark_epoch_;
    const auto now = Clock::now();
    auto duration = options_.max_watch_duration;
    if (auto seconds = ParseVersion(request.Query("timeoutSeconds"))) {
      duration = std::min<std::chrono::milliseconds>(duration, std::chrono::seconds(*seconds));
    }
    state->deadline = now + duration;
    state->bookmarks = request.Query("allowWatchBookmarks") == "true";
    state->next_bookmark = now + options_.bookmark_interval;
    if (version_text.empty() || version_text == "0") {
      // "Any version": the current state as synthetic ADDED events, then live changes.
      for (const auto& [key, pod] : pods_) {
        if (state->selector.Matches(pod)) *initial += EventLine("ADDED", WithKind(pod));
      }
      state->sent = version_;
      return std::nullopt;
    }
    const auto version = ParseVersion(version_text);
    if (!version) return StatusReply(400, "BadRequest", "invalid resourceVersion " + version_text);
    if (*version < compacted_) {
      const auto message =
          "too old resource version: " + version_text + " (" + std::to_string(compacted_ + 1) + ")";
      if (options_.gone_mode == GoneMode::kHttpStatus) return StatusReply(410, "Expired", message);
      *initial += EventLine("ERROR", Status(410, "Expired", message));
      *gone_in_stream = true;
    }
    state->sent = *version;
    return std::nullopt;
  }

  // Everything the stream should send now; sets *end when the stream should finish.
  std::string Pending(WatchState* state, bool* end) {
    std::lock_guard lock(mu_);
    std::string out;
    for (const auto& event : history_) {
      if (event.version <= state->sent || !state->selector.Matches(event.pod)) continue;
      out += EventLine(event.type, WithKind(event.pod));
    }
    state->sent = std::max(state->sent, version_);
    const auto now = Clock::now();
    const bool periodic = options_.bookmark_interval.count() > 0 && now >= state->next_bookmark;
    if (state->bookmarks && (periodic || state->bookmark_epoch != bookmark_epoch_)) {
      json::object bookmark{
          {"kind", "Pod"},
          {"apiVersion", "v1"},
          {"metadata", json::object{{"resourceVersion", std::to_string(version_)}}}};
      out += EventLine("BOOKMARK", bookmark);
      state->next_bookmark = now + options_.bookmark_interval;
    }
    state->bookmark_epoch = bookmark_epoch_;
    *end = now >= state->deadline || state->watch_epoch != watch_epoch_;
    return out;
  }

  template <class Stream>
  asio::awaitable<bool> Watch(Stream& stream, const RecordedRequest& request) {
    WatchState state;
    std::string initial;
    bool gone_in_stream = false;
    if (auto refusal = StartWatch(request, &state, &initial, &gone_in_stream)) {
      co_return co_await Write(stream, *refusal, true);
    }
    ++owner_->open_watches_;
    bool ok = co_await WriteRaw(stream,
                                "HTTP/1.1 200 OK\r\nCache-Control: no-cache, private\r\n"
                                "Content-Type: application/json\r\n"
                                "Transfer-Encoding: chunked\r\n\r\n");
    if (ok && !initial.empty()) ok = co_await WriteRaw(stream, Chunk(initial));
    asio::steady_timer timer(io_);
    for (bool end = gone_in_stream; ok && !end;) {
      const auto data = Pending(&state, &end);
      if (!data.empty()) ok = co_await WriteRaw(stream, Chunk(data));
      if (end || !ok) break;
      timer.expires_after(kWatchPoll);
      co_await timer.async_wait(kNoThrow);
    }
    if (ok) ok = co_await WriteRaw(stream, "0\r\n\r\n");
    --owner_->open_watches_;
    co_return ok;
  }

  FakeApiServer* owner_;
  std::optional<ssl::context> tls_context_;
  asio::io_context io_;
  tcp::acceptor acceptor_{io_};
  std::thread thread_;
};

FakeApiServer::FakeApiServer(FakeApiOptions options)
    : impl_(std::make_unique<Impl>(this, std::move(options))) {}

FakeApiServer::~FakeApiServer() { impl_.reset(); }

std::string FakeApiServer::Url() const {
  return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
}

json::object FakeApiServer::MakePod(const std::string& ns, const std::string& name,
                                    const std::string& node, const std::string& ip) {
  json::object port{{"name", "metrics"}, {"containerPort", 8080}, {"protocol", "TCP"}};
  json::object container{{"name", "app"}, {"image", "example/app:1"}, {"ports", json::array{port}}};
  json::object status{
      {"phase", "Running"},
      {"podIP", ip},
      {"podIPs", json::array{json::object{{"ip", ip}}}},
      {"conditions", json::array{json::object{{"type", "Ready"}, {"status", "True"}}}},
      {"containerStatuses",
       json::array{json::object{
           {"name", "app"},
           {"ready", true},
           {"restartCount", 0},
           {"image", "example/app:1"},
           {"imageID", ""},
           {"state",
            json::object{{"running", json::object{{"startedAt", "2024-01-01T00:00:00Z"}}}}}}}}};
  return {{"metadata", json::object{{"name", name},
                                    {"namespace", ns},
                                    {"creationTimestamp", "2024-01-01T00:00:00Z"},
                                    {"annotations", json::object()},
                                    {"labels", json::object{{"app", name}}}}},
          {"spec", json::object{{"nodeName", node}, {"containers", json::array{container}}}},
          {"status", status}};
}

std::string FakeApiServer::AddPod(json::object pod) {
  std::lock_guard lock(impl_->mu_);
  auto& metadata = pod["metadata"].as_object();
  if (!metadata.contains("uid")) metadata["uid"] = impl_->NewUid();
  const auto key = std::string(metadata["namespace"].as_string()) + "/" +
                   std::string(metadata["name"].as_string());
  const auto version = impl_->Bump("ADDED", pod);
  pod["metadata"].as_object()["resourceVersion"] = version;
  impl_->pods_[key] = std::move(pod);
  return version;
}

std::string FakeApiServer::ModifyPod(const std::string& ns, const std::string& name,
                                     const std::function<void(json::object&)>& edit) {
  std::lock_guard lock(impl_->mu_);
  const auto it = impl_->pods_.find(ns + "/" + name);
  if (it == impl_->pods_.end()) return "";
  edit(it->second);
  const auto version = impl_->Bump("MODIFIED", it->second);
  it->second["metadata"].as_object()["resourceVersion"] = version;
  return version;
}

std::string FakeApiServer::DeletePod(const std::string& ns, const std::string& name) {
  std::lock_guard lock(impl_->mu_);
  const auto it = impl_->pods_.find(ns + "/" + name);
  if (it == impl_->pods_.end()) return "";
  const auto version = impl_->Bump("DELETED", it->second);
  impl_->pods_.erase(it);
  return version;
}

std::string FakeApiServer::ResourceVersion() const {
  std::lock_guard lock(impl_->mu_);
  return std::to_string(impl_->version_);
}

std::optional<std::string> FakeApiServer::PodUid(const std::string& ns,
                                                 const std::string& name) const {
  std::lock_guard lock(impl_->mu_);
  const auto it = impl_->pods_.find(ns + "/" + name);
  if (it == impl_->pods_.end()) return std::nullopt;
  return GetString(it->second, "metadata", "uid");
}

void FakeApiServer::Compact() {
  std::lock_guard lock(impl_->mu_);
  impl_->compacted_ = impl_->version_;
  impl_->history_.clear();
}

void FakeApiServer::SetToken(std::string token) {
  std::lock_guard lock(impl_->mu_);
  impl_->options_.token = std::move(token);
}

void FakeApiServer::SetGoneMode(GoneMode mode) {
  std::lock_guard lock(impl_->mu_);
  impl_->options_.gone_mode = mode;
}

void FakeApiServer::FailNext(int n, int status, std::optional<int> retry_after_seconds) {
  std::lock_guard lock(impl_->mu_);
  impl_->fail_count_ = n;
  impl_->fail_status_ = status;
  impl_->fail_retry_after_ = retry_after_seconds;
}

void FakeApiServer::EndWatches() {
  std::lock_guard lock(impl_->mu_);
  ++impl_->watch_epoch_;
}

void FakeApiServer::SendBookmark() {
  std::lock_guard lock(impl_->mu_);
  ++impl_->bookmark_epoch_;
}

std::vector<json::object> FakeApiServer::Events() const {
  std::lock_guard lock(impl_->mu_);
  std::vector<json::object> out;
  for (const auto& [key, event] : impl_->events_) out.push_back(event);
  return out;
}

void FakeApiServer::SetEventStatus(int status) {
  std::lock_guard lock(impl_->mu_);
  impl_->event_status_ = status;
}

std::vector<RecordedRequest> FakeApiServer::Requests() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->requests_;
}

int FakeApiServer::CountRequests(const std::function<bool(const RecordedRequest&)>& match) const {
  int n = 0;
  for (const auto& request : Requests()) n += match(request) ? 1 : 0;
  return n;
}

bool MakeSelfSignedCert(const std::string& cert, const std::string& key) {
  const std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
      " -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout '" +
      key + "' -out '" + cert + "' >/dev/null 2>&1";
  return std::system(command.c_str()) == 0;
}

}  // namespace expvar::discovery::kube::testing
