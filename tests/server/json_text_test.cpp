// server::detail JSON text: the HTTP API's hand-written answers must read
// exactly as nlohmann writes the same object (member order, escapes, numbers,
// bytes that are not UTF-8).
#include <raftkv/server/detail/json_text.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace {

using raftkv::server::detail::append_json_string;
using raftkv::server::detail::append_member;
using raftkv::server::detail::dump;

TEST_CASE("append_json_string writes what nlohmann writes, for every kind of string") {
  const std::vector<std::string> samples = {
      "",
      "plain-key_09.~",
      std::string(100, 'v'),
      "a \"quoted\" word",
      "back\\slash",
      "tab\there, newline\nthere",
      std::string("nul\0byte", 8),
      "\x01\x1f control",
      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",  // valid UTF-8: é € 😀
      "bad \xff byte",
      "cut \xe2\x82",                                 // a sequence cut short
      "\xc0\xaf overlong",
      "del \x7f",
  };
  for (const std::string& s : samples) {
    std::string out;
    append_json_string(out, s);
    CHECK_MESSAGE(out == dump(nlohmann::json(s)), "for the string " << dump(nlohmann::json(s)));
    // And it parses back (invalid bytes as U+FFFD).
    CHECK(nlohmann::json::parse(out).is_string());
  }
}

TEST_CASE("a hand-written object equals nlohmann's dump of the same members") {
  std::string out = "{";
  append_member(out, "applied_index", std::uint64_t{41});
  append_member(out, "duplicate", false);
  append_member(out, "key", std::string_view("k\"1"));
  append_member(out, "revision", std::uint64_t{18446744073709551615ULL});
  append_member(out, "value", std::string_view("\xff"));
  out.push_back('}');
  const nlohmann::json j{{"value", "\xff"}, {"revision", 18446744073709551615ULL}, {"key", "k\"1"},
                         {"duplicate", false}, {"applied_index", 41}};
  CHECK(out == dump(j));
  // Member order matters for equality of text: nlohmann sorts by name.
  std::string unsorted = "{";
  append_member(unsorted, "b", std::uint64_t{1});
  append_member(unsorted, "a", std::uint64_t{2});
  unsorted.push_back('}');
  CHECK(unsorted != dump(nlohmann::json{{"b", 1}, {"a", 2}}));
}

}  // namespace
