#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/conf_file.h"
#include "pipeline/instance.h"

namespace expvar::config {

using pipeline::Instance;
using pipeline::kDefaultMaxBodyBytes;
using pipeline::kDefaultTimeout;
using pipeline::MetricType;
using pipeline::TlsOptions;

namespace {

using std::chrono::milliseconds;

constexpr const char* kSource = "conf.d/go_expvar.d/app.yaml";

ConfFile Parse(const std::string& yaml) { return ParseConfText(yaml, kSource); }

// Parses a conf whose instances: list holds exactly the given text (indented as one item).
ConfFile ParseInstance(const std::string& body) {
  return Parse("init_config:\ninstances:\n  - " + body);
}

std::string AllWarnings(const ConfFile& conf) {
  std::string out;
  for (const std::string& warning : conf.warnings) out += warning + "\n";
  return out;
}

// The ConfigError message thrown by ParseConfText, or "" when it did not throw.
std::string ErrorOf(const std::string& yaml) {
  try {
    Parse(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

bool HasWarning(const ConfFile& conf, const std::string& text) {
  for (const std::string& warning : conf.warnings) {
    if (warning.find(text) != std::string::npos) return true;
  }
  return false;
}

// --- instances --------------------------------------------------------------------------------

TEST(ConfFileTest, MinimalInstanceGetsDatadogDefaults) {
  const ConfFile conf = Parse(R"(
init_config:

instances:
  - expvar_url: http://localhost:8080
)");
  EXPECT_EQ(conf.path, kSource);
  EXPECT_TRUE(conf.warnings.empty()) << AllWarnings(conf);
  ASSERT_EQ(conf.instances.size(), 1u);
  const Instance& instance = conf.instances[0];
  EXPECT_EQ(instance.expvar_url, "http://localhost:8080");
  EXPECT_EQ(instance.metric_namespace, "go_expvar");
  EXPECT_TRUE(instance.metrics.empty());
  EXPECT_EQ(instance.max_returned_metrics, 350);
  EXPECT_TRUE(instance.tags.empty());
  EXPECT_EQ(instance.timeout, milliseconds(10'000));
  EXPECT_EQ(instance.min_collection_interval, std::nullopt);
  EXPECT_EQ(instance.username, "");
  EXPECT_EQ(instance.password, "");
  EXPECT_TRUE(instance.headers.empty());
  EXPECT_TRUE(instance.tls.verify);
  EXPECT_EQ(instance.tls.ca_cert, "");
  EXPECT_EQ(instance.tls.cert, "");
  EXPECT_EQ(instance.tls.private_key, "");
  EXPECT_EQ(instance.max_body_bytes, kDefaultMaxBodyBytes);
}

TEST(ConfFileTest, ReadsEveryKey) {
  const ConfFile conf = Parse(R"(
init_config:
  min_collection_interval: 30
instances:
  - expvar_url: https://app:8443/debug/vars
    namespace: myapp
    max_returned_metrics: 100
    tags: [env:prod, "team:core", 42, true]
    timeout: 2.5
    min_collection_interval: 20
    username: alice
    password: s3cret
    headers:
      X-Api-Key: abc
      Accept: application/json
    tls_verify: false
    tls_ca_cert: /etc/ca.pem
    tls_cert: /etc/client.pem
    tls_private_key: /etc/client.key
    max_body_bytes: 1048576
    service: billing
    empty_default_hostname: true
    disable_generic_tags: true
    metrics:
      - path: memstats/BySize/1/Mallocs
      - path: queue/depth
        type: rate
        alias: app.queue.depth
        tags: [queue:main]
      - path: requests
        type: monotonic_counter
)");
  EXPECT_TRUE(conf.warnings.empty()) << AllWarnings(conf);
  ASSERT_EQ(conf.instances.size(), 1u);
  const Instance& instance = conf.instances[0];
  EXPECT_EQ(instance.expvar_url, "https://app:8443/debug/vars");
  EXPECT_EQ(instance.metric_namespace, "myapp");
  EXPECT_EQ(instance.max_returned_metrics, 100);
  EXPECT_EQ(instance.tags,
            (std::vector<std::string>{"env:prod", "team:core", "42", "true", "service:billing"}));
  EXPECT_EQ(instance.timeout, milliseconds(2500));
  EXPECT_EQ(instance.min_collection_interval, milliseconds(20'000));
  EXPECT_EQ(instance.username, "alice");
  EXPECT_EQ(instance.password, "s3cret");
  EXPECT_EQ(instance.headers, (std::vector<std::pair<std::string, std::string>>{
                                  {"X-Api-Key", "abc"}, {"Accept", "application/json"}}));
  EXPECT_FALSE(instance.tls.verify);
  EXPECT_EQ(instance.tls.ca_cert, "/etc/ca.pem");
  EXPECT_EQ(instance.tls.cert, "/etc/client.pem");
  EXPECT_EQ(instance.tls.private_key, "/etc/client.key");
  EXPECT_EQ(instance.max_body_bytes, 1048576u);

  ASSERT_EQ(instance.metrics.size(), 3u);
  EXPECT_EQ(instance.metrics[0].path, "memstats/BySize/1/Mallocs");
  EXPECT_EQ(instance.metrics[0].type, MetricType::kGauge);
  EXPECT_EQ(instance.metrics[0].alias, std::nullopt);
  EXPECT_TRUE(instance.metrics[0].tags.empty());
  EXPECT_EQ(instance.metrics[1].path, "queue/depth");
  EXPECT_EQ(instance.metrics[1].type, MetricType::kRate);
  EXPECT_EQ(instance.metrics[1].alias, "app.queue.depth");
  EXPECT_EQ(instance.metrics[1].tags, std::vector<std::string>{"queue:main"});
  EXPECT_EQ(instance.metrics[2].type, MetricType::kMonotonicCounter);
}

TEST(ConfFileTest, EmptyNamespaceStaysEmptyAndEmptyAliasStaysEngaged) {
  const ConfFile conf = ParseInstance(R"(expvar_url: http://a
    namespace: ""
    metrics:
      - path: x
        alias: ""
)");
  ASSERT_EQ(conf.instances.size(), 1u);
  EXPECT_EQ(conf.instances[0].metric_namespace, "");
  ASSERT_EQ(conf.instances[0].metrics.size(), 1u);
  EXPECT_EQ(conf.instances[0].metrics[0].alias, std::optional<std::string>(""));
}

TEST(ConfFileTest, NullValueMeansAbsent) {
  const ConfFile conf = ParseInstance(R"(expvar_url: http://a
    namespace:
    timeout: ~
    tags:
    metrics:
      - path: x
        type:
        alias:
)");
  EXPECT_TRUE(conf.warnings.empty()) << AllWarnings(conf);
  ASSERT_EQ(conf.instances.size(), 1u);
  EXPECT_EQ(conf.instances[0].metric_namespace, "go_expvar");
  EXPECT_EQ(conf.instances[0].timeout, kDefaultTimeout);
  ASSERT_EQ(conf.instances[0].metrics.size(), 1u);
  EXPECT_EQ(conf.instances[0].metrics[0].type, MetricType::kGauge);
  EXPECT_EQ(conf.instances[0].metrics[0].alias, std::nullopt);
}

TEST(ConfFileTest, LegacySslAliases) {
  struct Case {
    std::string body;
    bool verify;
    std::string ca_cert, cert, key;
    std::string warning;  // "" = no warning expected
  };
  const std::vector<Case> cases = {
      {"ssl_verify: false", false, "", "", "", ""},
      {"ssl_verify: true", true, "", "", "", ""},
      {"ssl_verify: /etc/bundle.pem", true, "/etc/bundle.pem", "", "", ""},
      {"ssl_certfile: /c.pem\n    ssl_keyfile: /c.key", true, "", "/c.pem", "/c.key", ""},
      {"ssl_verify: false\n    tls_verify: true", true, "", "", "",
       "instances[0].ssl_verify: ignored because tls_verify is set"},
      {"ssl_certfile: /old.pem\n    tls_cert: /new.pem", true, "", "/new.pem", "",
       "instances[0].ssl_certfile: ignored because tls_cert is set"},
      {"ssl_verify: /old-ca.pem\n    tls_ca_cert: /new-ca.pem", true, "/new-ca.pem", "", "",
       "instances[0].ssl_verify: CA bundle ignored because tls_ca_cert is set"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    const ConfFile conf = ParseInstance("expvar_url: http://a\n    " + c.body + "\n");
    ASSERT_EQ(conf.instances.size(), 1u) << AllWarnings(conf);
    const TlsOptions& tls = conf.instances[0].tls;
    EXPECT_EQ(tls.verify, c.verify);
    EXPECT_EQ(tls.ca_cert, c.ca_cert);
    EXPECT_EQ(tls.cert, c.cert);
    EXPECT_EQ(tls.private_key, c.key);
    if (c.warning.empty()) {
      EXPECT_TRUE(conf.warnings.empty()) << AllWarnings(conf);
    } else {
      EXPECT_TRUE(HasWarning(conf, c.warning)) << AllWarnings(conf);
    }
  }
}

TEST(ConfFileTest, BooleansAcceptYamlBooleansAndStrings) {
  const std::vector<std::pair<std::string, bool>> cases = {
      {"true", true},     {"false", false},     {"yes", true},  {"no", false},
      {"\"true\"", true}, {"\"false\"", false}, {"True", true}, {"off", false},
  };
  for (const auto& [text, expected] : cases) {
    const ConfFile conf = ParseInstance("expvar_url: http://a\n    tls_verify: " + text + "\n");
    ASSERT_EQ(conf.instances.size(), 1u) << text << "\n" << AllWarnings(conf);
    EXPECT_EQ(conf.instances[0].tls.verify, expected) << text;
  }
}

TEST(ConfFileTest, NumericScalars) {
  struct Case {
    std::string body;
    milliseconds timeout;
    int max_returned_metrics;
    std::string warning;
  };
  const std::vector<Case> cases = {
      {"timeout: \"5\"", milliseconds(5000), 350, ""},
      {"timeout: 0.25", milliseconds(250), 350, ""},
      {"timeout: 0.0001", milliseconds(1), 350, ""},
      {"timeout: 0", kDefaultTimeout, 350,
       "instances[0].timeout: expected a positive number of seconds, got \"0\"; default 10 s used"},
      {"timeout: -3", kDefaultTimeout, 350, "instances[0].timeout"},
      {"timeout: fast", kDefaultTimeout, 350, "got \"fast\""},
      {"timeout: .inf", kDefaultTimeout, 350, "instances[0].timeout"},
      {"timeout: [1]", kDefaultTimeout, 350, "got a list"},
      {"max_returned_metrics: \"100\"", kDefaultTimeout, 100, ""},
      {"max_returned_metrics: 0", kDefaultTimeout, 0, ""},
      {"max_returned_metrics: 1.5", kDefaultTimeout, 350,
       "instances[0].max_returned_metrics: expected an integer >= 0, got \"1.5\"; default 350 "
       "used"},
      {"max_returned_metrics: -1", kDefaultTimeout, 350, "max_returned_metrics"},
      {"max_returned_metrics: 99999999999", kDefaultTimeout, 350, "max_returned_metrics"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    const ConfFile conf = ParseInstance("expvar_url: http://a\n    " + c.body + "\n");
    ASSERT_EQ(conf.instances.size(), 1u) << AllWarnings(conf);
    EXPECT_EQ(conf.instances[0].timeout, c.timeout);
    EXPECT_EQ(conf.instances[0].max_returned_metrics, c.max_returned_metrics);
    if (c.warning.empty()) {
      EXPECT_TRUE(conf.warnings.empty()) << AllWarnings(conf);
    } else {
      EXPECT_TRUE(HasWarning(conf, c.warning)) << AllWarnings(conf);
    }
  }
}

TEST(ConfFileTest, MaxBodyBytesMustBePositive) {
  const ConfFile conf = ParseInstance("expvar_url: http://a\n    max_body_bytes: 0\n");
  ASSERT_EQ(conf.instances.size(), 1u);
  EXPECT_EQ(conf.instances[0].max_body_bytes, kDefaultMaxBodyBytes);
  EXPECT_TRUE(HasWarning(conf, "instances[0].max_body_bytes: expected an integer > 0"))
      << AllWarnings(conf);
}

// --- metric items -----------------------------------------------------------------------------

TEST(ConfFileTest, UnsupportedMetricTypeIsWarnedAndSkipped) {
  const ConfFile conf = ParseInstance(R"(expvar_url: http://a
    metrics:
      - path: a
      - path: b
      - path: c
      - path: d
        type: histogram
      - path: e
        type: counter
)");
  ASSERT_EQ(conf.instances.size(), 1u);
  ASSERT_EQ(conf.instances[0].metrics.size(), 4u);
  EXPECT_EQ(conf.instances[0].metrics[3].path, "e");
  ASSERT_EQ(conf.warnings.size(), 1u);
  EXPECT_EQ(conf.warnings[0],
            "conf.d/go_expvar.d/app.yaml: instances[0].metrics[3].type: unsupported metric type "
            "\"histogram\" (expected gauge, rate, count, counter or monotonic_counter); item "
            "skipped");
}

TEST(ConfFileTest, BadMetricItemsAreSkippedWithLocatedWarnings) {
  struct Case {
    std::string item;
    std::string warning;
  };
  const std::vector<Case> cases = {
      {"- just-a-string",
       "instances[0].metrics[1]: expected a map with path, type, alias and "
       "tags, got a string; item skipped"},
      {"- type: gauge", "instances[0].metrics[1].path: missing; item skipped"},
      {"- path: [a, b]",
       "instances[0].metrics[1].path: expected a string, got a list; item "
       "skipped"},
      {"- path: \"  \"", "instances[0].metrics[1].path: empty; item skipped"},
      {"- {path: x, type: [gauge]}",
       "instances[0].metrics[1].type: expected gauge, rate, count, "
       "counter or monotonic_counter, got a list; item skipped"},
      {"- {path: x, type: Gauge}",
       "instances[0].metrics[1].type: unsupported metric type "
       "\"Gauge\""},
      {"- {path: x, tags: env:prod}",
       "instances[0].metrics[1].tags: expected a list of strings, "
       "got a string; item skipped"},
      {"- {path: x, alias: {a: b}}",
       "instances[0].metrics[1].alias: expected a string, got a "
       "map; item skipped"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.item);
    const ConfFile conf = ParseInstance(
        "expvar_url: http://a\n    metrics:\n      - path: ok\n"
        "      " +
        c.item + "\n      - path: also_ok\n");
    ASSERT_EQ(conf.instances.size(), 1u) << AllWarnings(conf);
    ASSERT_EQ(conf.instances[0].metrics.size(), 2u) << AllWarnings(conf);
    EXPECT_EQ(conf.instances[0].metrics[0].path, "ok");
    EXPECT_EQ(conf.instances[0].metrics[1].path, "also_ok");
    EXPECT_TRUE(HasWarning(conf, std::string(kSource) + ": " + c.warning)) << AllWarnings(conf);
  }
}

TEST(ConfFileTest, UnknownMetricKeyIsWarnedButItemKept) {
  const ConfFile conf =
      ParseInstance("expvar_url: http://a\n    metrics:\n      - {path: x, typ: rate}\n");
  ASSERT_EQ(conf.instances.size(), 1u);
  ASSERT_EQ(conf.instances[0].metrics.size(), 1u);
  EXPECT_EQ(conf.instances[0].metrics[0].type, MetricType::kGauge);
  EXPECT_TRUE(HasWarning(conf,
                         "instances[0].metrics[0].typ: unknown key; ignored (did you mean "
                         "type?)"))
      << AllWarnings(conf);
}

// --- unknown keys, init_config ----------------------------------------------------------------

TEST(ConfFileTest, UnknownKeyWarningNamesFileIndexAndKey) {
  const ConfFile conf = Parse(R"(
init_config:
  colour: blue
instances:
  - expvar_url: http://a
  - expvar_url: http://b
    expvar_ulr: http://typo
    frobnicate: 3
extra_top: 1
)");
  ASSERT_EQ(conf.instances.size(), 2u);
  EXPECT_TRUE(HasWarning(conf,
                         "conf.d/go_expvar.d/app.yaml: instances[1].frobnicate: unknown "
                         "key; ignored"))
      << AllWarnings(conf);
  EXPECT_TRUE(HasWarning(conf,
                         "conf.d/go_expvar.d/app.yaml: instances[1].expvar_ulr: unknown "
                         "key; ignored (did you mean expvar_url?)"))
      << AllWarnings(conf);
  EXPECT_TRUE(HasWarning(conf, "conf.d/go_expvar.d/app.yaml: init_config.colour: unknown key"))
      << AllWarnings(conf);
  EXPECT_TRUE(HasWarning(conf, "conf.d/go_expvar.d/app.yaml: extra_top: unknown key"))
      << AllWarnings(conf);
  EXPECT_EQ(conf.warnings.size(), 4u) << AllWarnings(conf);
}

TEST(ConfFileTest, InitConfigGivesDefaultsToEveryInstance) {
  const ConfFile conf = Parse(R"(
init_config:
  min_collection_interval: 45
  service: shop
instances:
  - expvar_url: http://a
  - expvar_url: http://b
    min_collection_interval: 5
    service: cart
    tags: [env:prod]
)");
  EXPECT_TRUE(conf.warnings.empty()) << AllWarnings(conf);
  ASSERT_EQ(conf.instances.size(), 2u);
  EXPECT_EQ(conf.instances[0].min_collection_interval, milliseconds(45'000));
  EXPECT_EQ(conf.instances[0].tags, std::vector<std::string>{"service:shop"});
  EXPECT_EQ(conf.instances[1].min_collection_interval, milliseconds(5'000));
  EXPECT_EQ(conf.instances[1].tags, (std::vector<std::string>{"env:prod", "service:cart"}));
}

TEST(ConfFileTest, InitConfigOfWrongTypeIsWarnedNotFatal) {
  const ConfFile conf = Parse("init_config: [1]\ninstances:\n  - expvar_url: http://a\n");
  EXPECT_EQ(conf.instances.size(), 1u);
  EXPECT_TRUE(HasWarning(conf, "init_config: expected a map, got a list; ignored"))
      << AllWarnings(conf);
}

// --- headers and tags -------------------------------------------------------------------------

TEST(ConfFileTest, HeadersMapKeepsOrderAndConvertsScalars) {
  const ConfFile conf = ParseInstance(R"(expvar_url: http://a
    headers:
      Host: app.internal
      X-Shard: 7
      X-Gone:
)");
  ASSERT_EQ(conf.instances.size(), 1u);
  EXPECT_EQ(conf.instances[0].headers, (std::vector<std::pair<std::string, std::string>>{
                                           {"Host", "app.internal"}, {"X-Shard", "7"}}));
  EXPECT_TRUE(HasWarning(conf, "instances[0].headers.X-Gone: null value; header not sent"))
      << AllWarnings(conf);
}

TEST(ConfFileTest, TagsGivenAsMapAreConvertedWithWarning) {
  const ConfFile conf = ParseInstance(R"(expvar_url: http://a
    tags:
      env: prod
      canary:
    metrics:
      - path: x
        tags: {queue: main}
)");
  ASSERT_EQ(conf.instances.size(), 1u);
  EXPECT_EQ(conf.instances[0].tags, (std::vector<std::string>{"env:prod", "canary"}));
  ASSERT_EQ(conf.instances[0].metrics.size(), 1u);
  EXPECT_EQ(conf.instances[0].metrics[0].tags, std::vector<std::string>{"queue:main"});
  EXPECT_TRUE(HasWarning(conf, "instances[0].tags: given as a map; converted to key:value tags"))
      << AllWarnings(conf);
  EXPECT_TRUE(HasWarning(conf, "instances[0].metrics[0].tags: given as a map"))
      << AllWarnings(conf);
}

TEST(ConfFileTest, TagListItemsWrittenAsMapsAreConvertedAndBadItemsSkipped) {
  const ConfFile conf = ParseInstance(R"(expvar_url: http://a
    tags:
      - env: prod
      - team:core
      - [nested]
      -
      - ""
)");
  ASSERT_EQ(conf.instances.size(), 1u);
  EXPECT_EQ(conf.instances[0].tags, (std::vector<std::string>{"env:prod", "team:core"}));
  EXPECT_TRUE(HasWarning(conf, "instances[0].tags[0]: written as a map")) << AllWarnings(conf);
  EXPECT_TRUE(HasWarning(conf, "instances[0].tags[2]: expected a string, got a list; tag skipped"))
      << AllWarnings(conf);
  EXPECT_TRUE(HasWarning(conf, "instances[0].tags[3]: empty tag; skipped")) << AllWarnings(conf);
  EXPECT_TRUE(HasWarning(conf, "instances[0].tags[4]: empty tag; skipped")) << AllWarnings(conf);
}

TEST(ConfFileTest, ScalarInstanceTagsAreIgnoredWithWarning) {
  const ConfFile conf = ParseInstance("expvar_url: http://a\n    tags: env:prod\n");
  ASSERT_EQ(conf.instances.size(), 1u);
  EXPECT_TRUE(conf.instances[0].tags.empty());
  EXPECT_TRUE(HasWarning(conf,
                         "instances[0].tags: expected a list of strings, got a string; "
                         "ignored"))
      << AllWarnings(conf);
}

// --- unusable instances -----------------------------------------------------------------------

TEST(ConfFileTest, InstanceWithoutUrlIsSkippedAndOthersLoad) {
  const ConfFile conf = Parse(R"(
init_config:
instances:
  - namespace: broken
  - expvar_url: http://good
)");
  ASSERT_EQ(conf.instances.size(), 1u);
  EXPECT_EQ(conf.instances[0].expvar_url, "http://good");
  ASSERT_EQ(conf.warnings.size(), 1u) << AllWarnings(conf);
  EXPECT_EQ(conf.warnings[0],
            "conf.d/go_expvar.d/app.yaml: instances[0].expvar_url: missing (required); instance "
            "skipped");
}

TEST(ConfFileTest, UnusableInstancesAreSkippedWithLocatedWarnings) {
  struct Case {
    std::string instance;  // one list item, after "  - "
    std::string warning;
  };
  const std::vector<Case> cases = {
      {"just-a-string", "instances[0]: expected a map, got a string; instance skipped"},
      {"", "instances[0]: expected a map, got null; instance skipped"},
      {"expvar_url: \"\"", "instances[0].expvar_url: empty; instance skipped"},
      {"expvar_url:", "instances[0].expvar_url: missing (required); instance skipped"},
      {"expvar_url: [http://a]",
       "instances[0].expvar_url: expected a URL string, got a list; instance skipped"},
      {"expvar_url: 8080",
       "instances[0].expvar_url: expected a URL string, got a number; instance skipped"},
      {"{expvar_url: http://a, username: {a: b}}",
       "instances[0].username: expected a string, got a map; instance skipped"},
      {"{expvar_url: http://a, headers: [X-A]}",
       "instances[0].headers: expected a map of header names to values, got a list; instance "
       "skipped"},
      {"{expvar_url: http://a, headers: {\"Bad Name\": v}}",
       "instances[0].headers: header name #1 is not a valid HTTP token"},
      {"{expvar_url: http://a, headers: {X-A: \"v\\r\\nX-B: w\"}}",
       "instances[0].headers.X-A: value contains a line break or NUL; instance skipped"},
      {"{expvar_url: http://a, tls_verify: maybe}",
       "instances[0].tls_verify: expected true or false, got a string; instance skipped"},
      {"{expvar_url: http://a, tls_cert: [a]}",
       "instances[0].tls_cert: expected a string, got a list; instance skipped"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.instance);
    const ConfFile conf =
        Parse("instances:\n  - " + c.instance + "\n  - expvar_url: http://second\n");
    ASSERT_EQ(conf.instances.size(), 1u) << AllWarnings(conf);
    EXPECT_EQ(conf.instances[0].expvar_url, "http://second");
    EXPECT_TRUE(HasWarning(conf, std::string(kSource) + ": " + c.warning)) << AllWarnings(conf);
  }
}

TEST(ConfFileTest, PasswordNeverAppearsInMessages) {
  const std::vector<std::string> documents = {
      // The password in a malformed position: the instance is skipped.
      "instances:\n  - expvar_url: http://a\n    password: [secret-list]\n",
      "instances:\n  - expvar_url: http://a\n    password: {secret-list: secret-list}\n",
      // A typo of the key: reported as unknown, by name only.
      "instances:\n  - expvar_url: http://a\n    pasword: secret-list\n",
      // A header carrying the secret, with a bad value elsewhere in the instance.
      "instances:\n  - expvar_url: http://a\n    headers: {Authorization: [secret-list]}\n",
      "instances:\n  - expvar_url: http://a\n    headers: {Authorization: \"secret-list\\n\"}\n",
      "instances:\n  - expvar_url: http://a\n    headers: {\"Authorization: secret-list\": }\n",
      // Not YAML at all, around the secret.
      "instances:\n  - expvar_url: http://a\n    password: \"secret-list\" trailing\n",
      "instances:\n  - expvar_url: http://a\n    password: \"secret-list\\q\"\n",
      "instances:\n  - expvar_url: http://a\n    password: secret-list\n   bad: [\n",
  };
  for (const std::string& yaml : documents) {
    SCOPED_TRACE(yaml);
    std::string messages;
    try {
      messages = AllWarnings(Parse(yaml));
    } catch (const ConfigError& e) {
      messages = e.what();
    }
    EXPECT_FALSE(messages.empty());
    EXPECT_EQ(messages.find("secret-list"), std::string::npos) << messages;
  }
}

// --- file-level problems ----------------------------------------------------------------------

TEST(ConfFileTest, NotYamlIsAnErrorWithLineAndColumn) {
  const std::string error = ErrorOf("init_config:\ninstances:\n  - expvar_url: [http://a\n");
  EXPECT_EQ(error.rfind("conf.d/go_expvar.d/app.yaml:", 0), 0u) << error;
  EXPECT_NE(error.find("not valid YAML"), std::string::npos) << error;

  const std::string indented = ErrorOf("instances:\n  - expvar_url: http://a\n   bad: 1\n");
  EXPECT_EQ(indented.rfind("conf.d/go_expvar.d/app.yaml:3:", 0), 0u) << indented;
  EXPECT_NE(indented.find("not valid YAML"), std::string::npos) << indented;
}

TEST(ConfFileTest, FileLevelProblemsAreErrors) {
  struct Case {
    std::string yaml;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"init_config:\n", "conf.d/go_expvar.d/app.yaml: instances: missing"},
      {"instances: {expvar_url: http://a}\n",
       "conf.d/go_expvar.d/app.yaml: instances: expected a list of instances, got a map"},
      {"instances:\n",
       "conf.d/go_expvar.d/app.yaml: instances: expected a list of instances, got "
       "null"},
      {"- expvar_url: http://a\n",
       "conf.d/go_expvar.d/app.yaml: expected a map with init_config and instances at the top "
       "level, got a list"},
      {"", "conf.d/go_expvar.d/app.yaml: empty document"},
      {"# only a comment\n", "conf.d/go_expvar.d/app.yaml: empty document"},
      // yaml-cpp 0.7's LoadAll loops forever on a stray leading ",": this must just fail.
      {", instances: []\n", "conf.d/go_expvar.d/app.yaml: empty document"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.yaml);
    const std::string error = ErrorOf(c.yaml);
    EXPECT_EQ(error.rfind(c.error, 0), 0u) << error;
  }
}

TEST(ConfFileTest, EmptyInstancesListIsFine) {
  const ConfFile conf = Parse("init_config: {}\ninstances: []\n");
  EXPECT_TRUE(conf.instances.empty());
  EXPECT_TRUE(conf.warnings.empty()) << AllWarnings(conf);
}

TEST(ConfFileTest, DuplicateKeysWarnAndLastWins) {
  const ConfFile conf = ParseInstance("expvar_url: http://a\n    timeout: 1\n    timeout: 2\n");
  ASSERT_EQ(conf.instances.size(), 1u);
  EXPECT_EQ(conf.instances[0].timeout, milliseconds(2000));
  EXPECT_TRUE(HasWarning(conf,
                         "instances[0].timeout: given more than once; the last value is "
                         "used"))
      << AllWarnings(conf);
}

TEST(ConfFileTest, YamlMergeKeysAreExpanded) {
  const ConfFile conf = Parse(R"(
defaults: &defaults
  timeout: 3
  tags: [env:prod]
instances:
  - <<: *defaults
    expvar_url: http://a
  - <<: *defaults
    expvar_url: http://b
    timeout: 4
)");
  ASSERT_EQ(conf.instances.size(), 2u);
  EXPECT_EQ(conf.instances[0].timeout, milliseconds(3000));
  EXPECT_EQ(conf.instances[0].tags, std::vector<std::string>{"env:prod"});
  EXPECT_EQ(conf.instances[1].timeout, milliseconds(4000));
  // Only the anchor's holder is unknown; the merged keys are not.
  EXPECT_EQ(conf.warnings.size(), 1u) << AllWarnings(conf);
  EXPECT_TRUE(HasWarning(conf, ": defaults: unknown key")) << AllWarnings(conf);
}

TEST(ConfFileTest, MergeKeyBombsAndCyclesAreBounded) {
  // Without a bound this expands 4^10 maps.
  std::string yaml = "l0: &l0 {timeout: 1}\n";
  for (int i = 1; i <= 10; ++i) {
    const std::string prev = "*l" + std::to_string(i - 1);
    yaml += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " {<<: [" + prev + ", " + prev +
            ", " + prev + ", " + prev + "]}\n";
  }
  yaml += "instances: [{<<: *l10, expvar_url: http://a}]\n";
  const ConfFile bomb = Parse(yaml);
  ASSERT_EQ(bomb.instances.size(), 1u);
  EXPECT_EQ(bomb.instances[0].timeout, milliseconds(1000));
  EXPECT_TRUE(HasWarning(bomb, "instances[0].<<: too many merge keys")) << AllWarnings(bomb);
  EXPECT_EQ(bomb.warnings.size(), 12u) << AllWarnings(bomb);  // l0..l10 unknown, plus one

  const ConfFile cycle = Parse("a: &a {<<: *a}\ninstances: [{<<: *a, expvar_url: http://a}]\n");
  ASSERT_EQ(cycle.instances.size(), 1u);
}

TEST(ConfFileTest, ExtraYamlDocumentsAreWarnedAbout) {
  for (const char* second : {"instances: []\n", ",\n", "bad: [\n"}) {
    SCOPED_TRACE(second);
    const ConfFile conf = Parse(std::string("instances: [{expvar_url: http://a}]\n---\n") + second);
    EXPECT_EQ(conf.instances.size(), 1u);
    EXPECT_TRUE(HasWarning(conf, "contains more than one YAML document; only the first is used"))
        << AllWarnings(conf);
  }
}

// --- files ------------------------------------------------------------------------------------

TEST(LoadConfFileTest, ReadsFileAndNamesItInMessages) {
  const std::filesystem::path path = std::filesystem::temp_directory_path() /
                                     ("expvar_config_test_" + std::to_string(::getpid()) + ".yaml");
  {
    std::ofstream out(path);
    out << "instances:\n  - expvar_url: http://a\n    bogus: 1\n";
  }
  const ConfFile conf = LoadConfFile(path.string());
  std::filesystem::remove(path);
  EXPECT_EQ(conf.path, path.string());
  ASSERT_EQ(conf.instances.size(), 1u);
  ASSERT_EQ(conf.warnings.size(), 1u);
  EXPECT_EQ(conf.warnings[0], path.string() + ": instances[0].bogus: unknown key; ignored");
}

TEST(LoadConfFileTest, MissingFileNamesPathAndReason) {
  const std::string path = "/nonexistent/expvar/conf.yaml";
  try {
    LoadConfFile(path);
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), path + ": cannot open: No such file or directory");
  }
}

TEST(LoadConfFileTest, DirectoryIsAnError) {
  try {
    LoadConfFile("/tmp");
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "/tmp: cannot read: Is a directory");
  }
}

}  // namespace
}  // namespace expvar::config
