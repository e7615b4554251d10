// The server TUI's ':' command line.
#include <raftkv/tui/console.hpp>

#include <doctest/doctest.h>

using namespace raftkv::tui;
using kind = console_command::kind;

namespace {

console_command ok(std::string_view line) {
  auto r = parse_console(line);
  CAPTURE(line);
  REQUIRE(std::holds_alternative<console_command>(r));
  return std::get<console_command>(r);
}

std::string err(std::string_view line) {
  auto r = parse_console(line);
  CAPTURE(line);
  REQUIRE(std::holds_alternative<std::string>(r));
  return std::get<std::string>(r);
}

}  // namespace

TEST_CASE("put takes a key and the rest of the line as the value") {
  const auto c = ok("put greeting hello  world");
  CHECK(c.what == kind::put);
  CHECK(c.key == "greeting");
  CHECK(c.value == "hello  world");
  CHECK(ok(":put k v").key == "k");
  CHECK(err("put k").find("put KEY VALUE") != std::string::npos);
  CHECK(err("put").find("put KEY VALUE") != std::string::npos);
}

TEST_CASE("get, del and keys") {
  auto g = ok("get a");
  CHECK((g.what == kind::get && g.key == "a" && !g.stale));
  g = ok("get --stale a");
  CHECK((g.key == "a" && g.stale));
  CHECK(ok("get a --stale").stale);
  CHECK(err("get a b").find("get KEY") != std::string::npos);
  CHECK(err("get").find("get KEY") != std::string::npos);
  CHECK(ok("delete a").what == kind::del);
  CHECK(ok("del a").key == "a");
  CHECK(!err("del").empty());
  CHECK(ok("keys").key.empty());
  CHECK(ok("keys user/").key == "user/");
  CHECK(ok("list").what == kind::keys);
}

TEST_CASE("commands without arguments refuse arguments") {
  CHECK(ok("status").what == kind::status);
  CHECK(ok("  campaign ").what == kind::campaign);
  CHECK(ok("quit").what == kind::quit);
  CHECK(ok("exit").what == kind::quit);
  CHECK(ok("heal").what == kind::heal);
  CHECK(err("status now") == "status takes no arguments");
}

TEST_CASE("numbered commands check their range") {
  CHECK(ok("transfer 3").number == 3);
  CHECK(ok("cut 2").what == kind::cut);
  CHECK(ok("restore 2").what == kind::restore);
  CHECK(ok("drop 1000").number == 1000);
  CHECK(err("drop 1001").find("0..1000") != std::string::npos);
  CHECK(ok("delay 250").number == 250);
  CHECK(!err("delay -1").empty());
  CHECK(!err("transfer").empty());
  CHECK(!err("transfer x").empty());
}

TEST_CASE("an unknown command lists the commands") {
  const std::string e = err("frobnicate");
  CHECK(e.find("unknown command 'frobnicate'") != std::string::npos);
  CHECK(e.find("put K V") != std::string::npos);
  CHECK(err("").find("type a command") != std::string::npos);
}
