// tests/unit/api_docs_test.cc — the route table (api/routes.h) is what the
// dispatcher serves, and docs/api.md documents every route in it.
//
// The first half calls every listed route on the fake backend: a route
// listed but not dispatched (404/405/500, or a POST that lands in another
// endpoint's branch) fails, and a path not listed is 404 — so the table
// cannot drift from api/handlers.cc. The second half looks for each path in
// docs/api.md.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "support/source_files.h"
#include "api/handlers.h"
#include "api/routes.h"
#include "support/api_fake_backend.h"

using pw::node::ApiHandlers;
using pw::node::ApiRequest;
using pw::node::ApiResponse;
using pw::node::ApiRoute;
using pw::node::kApiRoutes;
using pw::test::FakeApiBackend;

using pw::test::read_file;
using pw::test::source_dir;

namespace {

const std::string kToken = "docs-test-token";

ApiResponse call(FakeApiBackend& b, std::string_view method, std::string_view path, const std::string& body = "") {
  ApiHandlers h(&b, kToken);
  ApiRequest r;
  r.method = std::string(method);
  r.path = std::string(path);
  r.body = body;
  r.authorization = "Bearer " + kToken;
  return pw::test::handle_once(h, r);
}

// "/member/add" -> "member_add": the operation the fake backend records.
std::string op_of(std::string_view path) {
  std::string op(path.substr(1));
  for (char& c : op)
    if (c == '/' || c == '-') c = '_';
  return op;
}

// The rule: the path is named in a code span of its own (`/cluster`), with
// a query (`/replica?lag=1MB`), or with its method (`POST /member/add`).
bool documents(const std::string& doc, const ApiRoute& r) {
  std::string p(r.path), m(r.method);
  return doc.find("`" + p + "`") != std::string::npos || doc.find("`" + p + "?") != std::string::npos ||
         doc.find("`" + m + " " + p + "`") != std::string::npos;
}

}  // namespace

TEST_CASE("every listed route is served by the dispatcher", "[api][docs]") {
  FakeApiBackend b = FakeApiBackend::healthy("n1");
  b.counters = pw::proxy::Counters{};
  b.membership_facts = pw::node::MembershipFacts{};
  for (const ApiRoute& r : kApiRoutes) {
    INFO(r.method << " " << r.path);
    REQUIRE((r.method == "GET" || r.method == "POST"));
    if (r.method == "GET") {
      for (const char* m : {"GET", "HEAD", "OPTIONS"}) {
        ApiResponse resp = call(b, m, r.path);
        INFO(m << " -> " << resp.status << " " << resp.body);
        CHECK((resp.status == 200 || resp.status == 503));  // 503: a health check that says "no"
      }
      CHECK(call(b, "POST", r.path).status == 405);
      continue;
    }
    // An empty body: each endpoint either acts (recording its own operation)
    // or says what its body lacks. A listed path that falls into another
    // endpoint's branch would record that endpoint's operation instead.
    b.calls.clear();
    ApiResponse resp = call(b, "POST", r.path, "{}");
    INFO("POST {} -> " << resp.status << " " << resp.body);
    CHECK((resp.status == 200 || resp.status == 400));
    if (resp.status == 200) {
      REQUIRE(b.calls.size() == 1);
      CHECK(b.calls[0].op == op_of(r.path));
    } else {
      CHECK(b.calls.empty());
    }
    CHECK(call(b, "GET", r.path).status == 405);
  }
}

TEST_CASE("a path that is not listed is not served", "[api][docs]") {
  FakeApiBackend b = FakeApiBackend::healthy("n1");
  for (const char* p : {"/nope", "/member", "/member/list", "/clusters", "/metrics/x"}) {
    INFO(p);
    CHECK(call(b, "GET", p).status == 404);
    CHECK(call(b, "POST", p, "{}").status == 404);
  }
  CHECK(b.calls.empty());
}

TEST_CASE("docs/api.md documents every listed route", "[api][docs]") {
  const std::string doc_path = source_dir() + "/docs/api.md";
  const std::string doc = read_file(doc_path);
  std::string missing;
  for (const ApiRoute& r : kApiRoutes)
    if (!documents(doc, r))
      missing += "  " + std::string(r.method) + " " + std::string(r.path) + "\n";
  INFO("docs/api.md (" << doc_path << ") does not name these routes as `/path`, `/path?...` or `METHOD /path`; "
       "document them there:\n" << missing);
  CHECK(missing.empty());
}

TEST_CASE("the documentation rule recognises the forms it accepts", "[api][docs]") {
  const ApiRoute add{"POST", "/member/add"};
  CHECK(documents("send `POST /member/add` with", add));
  CHECK(documents("| `/member/add` |", add));
  CHECK_FALSE(documents("send POST /member/add with", add));     // not a code span
  CHECK_FALSE(documents("`GET /member/add`", add));              // wrong method
  CHECK_FALSE(documents("`/member/added`", add));                // another path
  CHECK(documents("`/replica?lag=1MB`", ApiRoute{"GET", "/replica"}));
}
