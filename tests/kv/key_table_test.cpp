// Unit tests of the state machine's key table (kv/detail/key_table.hpp): one
// block per key, kept in byte order, owned and freed by the table (the ASan
// build of the test command reports a leaked or doubly freed block).
#include <doctest/doctest.h>

#include <raftkv/kv/detail/key_table.hpp>

#include <string>
#include <utility>
#include <vector>

namespace {

using raftkv::kv::detail::key_block;
using raftkv::kv::detail::key_table;

std::vector<std::string> keys(const key_table& t) {
  std::vector<std::string> out;
  for (const key_block& b : t) out.emplace_back(b.key());
  return out;
}

/// A table of "b", "d", "f" built by insertions before the right neighbour.
key_table three() {
  key_table t;
  t.insert_before(t.end(), key_block::make("d", "4", 1, 1, 1));
  t.insert_before(t.lower_bound("b"), key_block::make("b", "2", 2, 2, 1));
  t.insert_before(t.lower_bound("f"), key_block::make("f", "6", 3, 3, 1));
  return t;
}

}  // namespace

TEST_CASE("a block holds its key, value and revisions, empty value included") {
  key_block* b = key_block::make("key", "", 3, 7, 2);
  CHECK(b->key() == "key");
  CHECK(b->value().empty());
  CHECK(b->create_revision == 3);
  CHECK(b->mod_revision == 7);
  CHECK(b->version == 2);
  key_block::destroy(b);
  // Keys and values are raw bytes: NULs are kept, not ends of strings.
  const std::string k("a\0b", 3), v("x\0\0y", 4);
  b = key_block::make(k, v, 1, 1, 1);
  CHECK(b->key() == k);
  CHECK(b->value() == v);
  key_block::destroy(b);
}

TEST_CASE("keys stay in byte order and are found by string_view") {
  key_table t = three();
  CHECK(t.size() == 3);
  CHECK(keys(t) == std::vector<std::string>{"b", "d", "f"});
  REQUIRE(t.find("d") != t.end());
  CHECK(t.find("d")->value() == "4");
  CHECK(t.find("c") == t.end());
  CHECK(t.lower_bound("c")->key() == "d");
  CHECK(t.lower_bound("g") == t.end());
}

TEST_CASE("replace keeps the position and the order; erase returns the next key") {
  key_table t = three();
  auto it = t.replace(t.find("d"), key_block::make("d", "a longer value", 1, 9, 2));
  CHECK(it->value() == "a longer value");
  CHECK(it->mod_revision == 9);
  CHECK(keys(t) == std::vector<std::string>{"b", "d", "f"});
  auto next = t.erase(t.find("b"));
  REQUIRE(next != t.end());
  CHECK(next->key() == "d");
  CHECK(t.size() == 2);
  CHECK(t.find("b") == t.end());
}

TEST_CASE("copies are deep and equal; moves leave the source empty") {
  const key_table a = three();
  key_table b = a;
  CHECK(b == a);
  CHECK(&*b.find("d") != &*a.find("d"));  // its own blocks
  b.replace(b.find("d"), key_block::make("d", "other", 1, 1, 1));
  CHECK_FALSE(b == a);                    // the value differs
  b = a;
  CHECK(b == a);
  b.replace(b.find("d"), key_block::make("d", "4", 1, 5, 1));
  CHECK_FALSE(b == a);                    // a revision differs
  key_table c = std::move(b);
  CHECK(c.size() == 3);
  CHECK(b.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
  c = three();       // move-assigning over a full table frees its blocks
  CHECK(c == a);
  c.clear();
  CHECK(c.empty());
  CHECK_FALSE(c == a);
}
