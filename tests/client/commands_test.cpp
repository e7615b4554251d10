// Unit tests of raftkv-client's commands (client/commands.hpp), without a
// cluster: splitting REPL lines, parsing commands and flags, exit codes, and
// what each answer prints, plain and --json.
#include <raftkv/client/commands.hpp>

#include <doctest/doctest.h>

#include <cstdlib>
#include <string>
#include <variant>
#include <vector>

namespace {

using namespace raftkv::client;
using json = nlohmann::json;
using words = std::vector<std::string>;

words split_ok(std::string_view line) {
  auto r = split_words(line);
  REQUIRE(std::holds_alternative<words>(r));
  return std::get<words>(r);
}

command parse_ok(const words& w) {
  auto r = parse_command(w);
  if (const auto* e = std::get_if<usage_error>(&r)) FAIL_CHECK(e->message);
  REQUIRE(std::holds_alternative<command>(r));
  return std::get<command>(r);
}

answer ok_answer(json body) {
  answer a;
  a.result = outcome::ok;
  a.status = 200;
  a.body = std::move(body);
  return a;
}

std::variant<cli_options, cli_exit> cli(std::vector<const char*> args) {
  args.insert(args.begin(), "raftkv-client");
  return parse_cli(static_cast<int>(args.size()), args.data());
}

}  // namespace

TEST_CASE("split_words: blanks, quotes and escapes") {
  struct row {
    const char* line;
    words want;
  };
  const std::vector<row> rows = {
      {"put k v", {"put", "k", "v"}},
      {"  put\tk   v  ", {"put", "k", "v"}},
      {"put k 'two words'", {"put", "k", "two words"}},
      {"put k \"say \\\"hi\\\" \\\\ there\"", {"put", "k", "say \"hi\" \\ there"}},
      {"put 'a'\"b\"c v", {"put", "abc", "v"}},
      {"put k ''", {"put", "k", ""}},
      {"put k\\ x v", {"put", "k x", "v"}},
      {"", {}},
      {"   ", {}},
  };
  for (const row& r : rows) {
    CAPTURE(r.line);
    CHECK(split_ok(r.line) == r.want);
  }
  for (const char* bad : {"put 'k v", "put \"k v", "put k v\\"}) {
    CAPTURE(bad);
    CHECK(std::holds_alternative<usage_error>(split_words(bad)));
  }
}

TEST_CASE("parse_command: every command, its flags and arity") {
  const command put = parse_ok({"put", "k", "v w"});
  CHECK(put.kind == command_kind::put);
  CHECK(put.key == "k");
  CHECK(put.value == "v w");
  const command get = parse_ok({"get", "k", "--stale"});
  CHECK(get.kind == command_kind::get);
  CHECK(get.read == consistency::stale);
  CHECK(parse_ok({"get", "k"}).read == consistency::linearizable);
  CHECK(parse_ok({"get", "--", "--stale"}).key == "--stale");
  CHECK(parse_ok({"delete", "k"}).kind == command_kind::del);
  CHECK(parse_ok({"del", "k"}).kind == command_kind::del);
  const command list = parse_ok({"list", "user/", "--limit", "5", "--stale"});
  CHECK(list.kind == command_kind::list);
  CHECK(list.prefix == "user/");
  CHECK(list.limit == 5);
  CHECK(list.read == consistency::stale);
  CHECK(parse_ok({"list"}).prefix.empty());
  CHECK(parse_ok({"list", "--limit=7"}).limit == 7);
  CHECK(parse_ok({"ls"}).limit == 1000);
  const command cas = parse_ok({"cas", "lock", "0", "me"});
  CHECK(cas.kind == command_kind::cas);
  CHECK(cas.revision == 0);
  CHECK(cas.value == "me");
  CHECK(parse_ok({"put", "k", "--stale"}).value == "--stale");  // values are taken literally
  CHECK(parse_ok({"status"}).kind == command_kind::status);
  CHECK(parse_ok({"leader"}).kind == command_kind::leader);
  CHECK(parse_ok({"help"}).kind == command_kind::help);
  CHECK(parse_ok({"quit"}).kind == command_kind::quit);
  CHECK(parse_ok({"exit"}).kind == command_kind::quit);

  struct bad {
    words w;
    const char* message;
  };
  const std::vector<bad> bads = {
      {{}, "no command (try help)"},
      {{"frobnicate"}, "unknown command 'frobnicate' (try help)"},
      {{"put", "k"}, "usage: put KEY VALUE"},
      {{"put", "k", "v", "w"}, "usage: put KEY VALUE"},
      {{"put", "", "v"}, "the key is empty"},
      {{"get"}, "usage: get KEY [--stale]"},
      {{"get", "k", "--fresh"}, "unknown option --fresh (usage: get KEY [--stale])"},
      {{"get", "k", "--limit", "3"}, "unknown option --limit (usage: get KEY [--stale])"},
      {{"delete"}, "usage: delete KEY"},
      {{"list", "a", "b"}, "usage: list [PREFIX] [--stale] [--limit N]"},
      {{"list", "--limit"}, "--limit needs a number (usage: list [PREFIX] [--stale] [--limit N])"},
      {{"list", "--limit", "0"}, "--limit is a number from 1 to 10000, not '0' (usage: list [PREFIX] [--stale] [--limit N])"},
      {{"list", "--limit", "x"}, "--limit is a number from 1 to 10000, not 'x' (usage: list [PREFIX] [--stale] [--limit N])"},
      {{"cas", "k", "v"}, "usage: cas KEY REV VALUE (REV 0: only if KEY is absent)"},
      {{"cas", "k", "-1", "v"}, "cas: REV is a mod revision number, not '-1'"},
      {{"status", "now"}, "status takes no arguments"},
  };
  for (const bad& b : bads) {
    CAPTURE(b.message);
    auto r = parse_command(b.w);
    REQUIRE(std::holds_alternative<usage_error>(r));
    CHECK(std::get<usage_error>(r).message == b.message);
  }
}

TEST_CASE("exit codes: distinct for not found, unavailable, cas failed and unknown outcomes") {
  CHECK(exit_code(outcome::ok) == 0);
  CHECK(exit_code(outcome::failed) == 1);
  CHECK(exit_code(outcome::rejected) == 1);
  CHECK(exit_codes::usage == 2);
  CHECK(exit_code(outcome::not_found) == 3);
  CHECK(exit_code(outcome::unavailable) == 4);
  CHECK(exit_code(outcome::cas_failed) == 5);
  CHECK(exit_code(outcome::outcome_unknown) == 6);
}

TEST_CASE("render: plain results for people and scripts") {
  const command get = parse_ok({"get", "k"});
  CHECK(render(get, ok_answer({{"value", "hello world"}}), false).out == "hello world\n");
  const command put = parse_ok({"put", "k", "v"});
  CHECK(render(put, ok_answer({{"revision", 42}, {"duplicate", false}}), false).out == "OK rev 42\n");
  CHECK(render(put, ok_answer({{"revision", 42}, {"duplicate", true}}), false).out ==
        "OK rev 42 (duplicate: an earlier attempt applied it)\n");
  const command list = parse_ok({"list"});
  const json items = {{"items", {{{"key", "a"}, {"value", "1"}}, {{"key", "b"}, {"value", "2"}}}}, {"more", true}};
  CHECK(render(list, ok_answer(items), false).out == "a\t1\nb\t2\n(more keys: raise --limit)\n");
  CHECK(render(list, ok_answer(nullptr), false).out.empty());  // an odd body does not throw

  answer missing;
  missing.result = outcome::not_found;
  missing.status = 404;
  missing.body = {{"error", "key_not_found"}};
  const printable nf = render(get, missing, false);
  CHECK(nf.code == 3);
  CHECK(nf.out.empty());
  CHECK(nf.err == "key not found: k");

  answer mismatch;
  mismatch.result = outcome::cas_failed;
  mismatch.body = {{"current_mod_revision", 43}};
  CHECK(render(parse_ok({"cas", "k", "40", "v"}), mismatch, false).err ==
        "compare-and-swap failed: k's mod revision is 43, not 40");
  CHECK(render(parse_ok({"cas", "k", "0", "v"}), mismatch, false).err ==
        "compare-and-swap failed: k exists (mod revision 43)");
  mismatch.body = {{"current_mod_revision", 0}};
  CHECK(render(parse_ok({"cas", "k", "40", "v"}), mismatch, false).err ==
        "compare-and-swap failed: k is absent, not at mod revision 40");

  answer down;
  down.result = outcome::unavailable;
  down.error = "deadline_exceeded";
  down.message = "cluster unavailable: no definite answer within 10000 ms (3 attempts)";
  const printable u = render(put, down, false);
  CHECK(u.code == 4);
  CHECK(u.err == down.message);
}

TEST_CASE("render --json: the server's answer, or one error object") {
  const command get = parse_ok({"get", "k"});
  const json body = {{"key", "k"}, {"value", "v\xff"}};  // not UTF-8: replaced, not thrown
  const printable p = render(get, ok_answer(body), true);
  CHECK(json::parse(p.out)["key"] == "k");
  CHECK(p.out.back() == '\n');

  answer missing;
  missing.result = outcome::not_found;
  missing.status = 404;
  missing.error = "key_not_found";
  missing.body = {{"error", "key_not_found"}, {"node", 2}};
  const printable e = render(get, missing, true);
  const json j = json::parse(e.out);
  CHECK(j["outcome"] == "not_found");
  CHECK(j["error"] == "key_not_found");
  CHECK(j["message"] == "key not found: k");
  CHECK(j["status"] == 404);
  CHECK(j["body"]["node"] == 2);
  CHECK(e.err == "key not found: k");
}

TEST_CASE("render_status and render_leader") {
  node_status n1{.target = {"127.0.0.1", 7001}, .reachable = true,
                 .body = {{"id", 1}, {"role", "follower"}, {"term", 3}, {"leader", 2}, {"commit", 9}, {"applied", 9}}};
  node_status n2{.target = {"127.0.0.1", 7002}, .reachable = true,
                 .body = {{"id", 2}, {"role", "leader"}, {"term", 3}, {"leader", 2}, {"commit", 9}, {"applied", 8},
                          {"api_url", "http://127.0.0.1:7002"}}};
  node_status n3{.target = {"127.0.0.1", 7003}, .error = "Connection refused"};
  const printable s = render_status({n1, n2, n3}, false);
  CHECK(s.code == 0);
  CHECK(s.out ==
        "node 1  127.0.0.1:7001        follower      term 3    leader 2  commit 9      applied 9\n"
        "node 2  127.0.0.1:7002        leader        term 3    leader 2  commit 9      applied 8\n"
        "-       127.0.0.1:7003        unreachable: Connection refused\n");
  const json arr = json::parse(render_status({n1, n3}, true).out);
  CHECK(arr.size() == 2);
  CHECK(arr[1]["reachable"] == false);
  CHECK(arr[1]["error"] == "Connection refused");
  CHECK(render_status({n3}, false).code == 4);

  CHECK(render_leader({n1, n2, n3}, false).out == "node 2 http://127.0.0.1:7002 term 3\n");
  CHECK(json::parse(render_leader({n1, n2, n3}, true).out)["leader"] == 2);
  // Two nodes that each think they lead (an old leader cut off): the higher term wins.
  node_status old = n1;
  old.body["role"] = "leader";
  old.body["term"] = 2;
  CHECK(render_leader({old, n2}, false).out == "node 2 http://127.0.0.1:7002 term 3\n");
  const printable none = render_leader({n1, n3}, false);
  CHECK(none.code == 4);
  CHECK(none.err == "no leader: none of the 1 reachable nodes (of 2) leads");
}

TEST_CASE("parse_cli: flags anywhere, the command's words in order, usage errors exit 2") {
  auto r = cli({"--peers", "127.0.0.1:1,127.0.0.1:2", "get", "k", "--stale", "--json", "--timeout-ms", "500"});
  REQUIRE(std::holds_alternative<cli_options>(r));
  const cli_options& o = std::get<cli_options>(r);
  CHECK(o.words == words{"get", "k", "--stale"});
  CHECK(o.json);
  CHECK_FALSE(o.trace);
  CHECK(o.client.peers.size() == 2);
  CHECK(o.client.deadline == std::chrono::milliseconds(500));
  CHECK(o.client.attempt_timeout == std::chrono::milliseconds(500));

  auto d = cli({});
  REQUIRE(std::holds_alternative<cli_options>(d));
  CHECK(std::get<cli_options>(d).words.empty());
  CHECK(std::get<cli_options>(d).client.peers.size() == 3);
  CHECK(std::get<cli_options>(d).client.peers[0].str() == "127.0.0.1:7001");

  auto help = cli({"--help"});
  REQUIRE(std::holds_alternative<cli_exit>(help));
  CHECK(std::get<cli_exit>(help).code == 0);
  CHECK(std::get<cli_exit>(help).text.find("exit codes:") != std::string::npos);

  struct bad {
    std::vector<const char*> args;
    const char* message;
  };
  const std::vector<bad> bads = {
      {{"--peers", "nope", "status"}, "raftkv-client: expected HOST:PORT in the peer list, got 'nope' (try --help)\n"},
      {{"--timeout-ms", "0", "status"}, "raftkv-client: --timeout-ms must be at least 1 (try --help)\n"},
      {{"--bogus", "status"}, "raftkv-client: unknown option --bogus (try --help)\n"},
      {{"put", "k"}, "raftkv-client: usage: put KEY VALUE\n"},
      {{"fly"}, "raftkv-client: unknown command 'fly' (try help)\n"},
  };
  for (const bad& b : bads) {
    CAPTURE(b.message);
    auto e = cli(b.args);
    REQUIRE(std::holds_alternative<cli_exit>(e));
    CHECK(std::get<cli_exit>(e).code == 2);
    CHECK(std::get<cli_exit>(e).text == b.message);
  }
}

TEST_CASE("parse_cli: RAFTKV_PEERS names the cluster when --peers is not given") {
  ::setenv("RAFTKV_PEERS", "127.0.0.1:17001,127.0.0.1:17002", 1);
  auto from_env = cli({"status"});
  auto flag_wins = cli({"--peers", "127.0.0.1:9", "status"});
  ::setenv("RAFTKV_PEERS", "", 1);
  auto empty_env = cli({"status"});
  ::unsetenv("RAFTKV_PEERS");
  REQUIRE(std::holds_alternative<cli_options>(from_env));
  REQUIRE(std::get<cli_options>(from_env).client.peers.size() == 2);
  CHECK(std::get<cli_options>(from_env).client.peers[1].str() == "127.0.0.1:17002");
  REQUIRE(std::holds_alternative<cli_options>(flag_wins));
  REQUIRE(std::get<cli_options>(flag_wins).client.peers.size() == 1);
  CHECK(std::get<cli_options>(flag_wins).client.peers[0].str() == "127.0.0.1:9");
  REQUIRE(std::holds_alternative<cli_options>(empty_env));
  CHECK(std::get<cli_options>(empty_env).client.peers.size() == 3);
}
