// Unit tests of the command encoding (kv/command.hpp) and of the byte helpers
// behind it (kv/detail/codec.hpp).
#include <doctest/doctest.h>

#include <raftkv/kv.hpp>
#include <raftkv/kv/detail/codec.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace {

using raftkv::errc;
using raftkv::kv::command;
using raftkv::kv::decode;
using raftkv::kv::encode;
using raftkv::kv::max_key_bytes;
using raftkv::kv::max_value_bytes;
using raftkv::kv::op_kind;

/// Bytes written by hand, independent of encode(): the format of command.hpp.
struct raw_command {
  std::uint8_t version = 2;
  std::uint8_t op = 1;
  std::uint64_t client_id = 7;
  std::uint64_t seq = 3;
  std::uint8_t condition = 1;
  std::uint64_t expected = 5;
  std::uint32_t key_len = 1;
  std::string key = "k";
  std::uint32_t value_len = 1;
  std::string value = "v";

  std::string bytes() const {
    std::string out;
    raftkv::kv::detail::put_u8(out, version);
    raftkv::kv::detail::put_u8(out, op);
    raftkv::kv::detail::put_u64(out, client_id);
    raftkv::kv::detail::put_u64(out, seq);
    raftkv::kv::detail::put_u8(out, condition);
    raftkv::kv::detail::put_u64(out, expected);
    raftkv::kv::detail::put_u32(out, key_len);
    out += key;
    raftkv::kv::detail::put_u32(out, value_len);
    out += value;
    return out;
  }
};

}  // namespace

TEST_CASE("describe puts a command in words, escaped and cut") {
  command c;
  c.key = "greeting";
  c.value = "hello";
  CHECK(raftkv::kv::describe(c) == "put greeting=hello");
  c.expected = 0;
  CHECK(raftkv::kv::describe(c) == "put greeting=hello if absent");
  c.expected = 7;
  c.op = op_kind::del;
  c.value.clear();
  CHECK(raftkv::kv::describe(c) == "del greeting if mod_revision=7");
  command b;
  b.key = std::string("a\n\0b", 4);
  b.value = std::string(40, 'v');
  CHECK(raftkv::kv::describe(b, 8) == "put a\\x0a\\x00b=vvvvvvvv...");
}

TEST_CASE("crc32c matches the published check value") {
  CHECK(raftkv::kv::detail::crc32c("123456789") == 0xe3069283u);
  CHECK(raftkv::kv::detail::crc32c("") == 0u);
  // Longer than one 8-byte block, with a tail: the sliced and bytewise loops agree.
  const std::string text = "The quick brown fox jumps over the lazy dog";
  std::uint32_t c = 0xffffffffu;
  for (char ch : text) {
    c ^= static_cast<unsigned char>(ch);
    for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
  }
  CHECK(raftkv::kv::detail::crc32c(text) == (c ^ 0xffffffffu));
}

TEST_CASE("the encoding is little-endian and laid out as documented") {
  SUBCASE("unconditional: condition 0, expected written as 0") {
    const command c{.client_id = 0x0102030405060708, .seq = 9, .op = op_kind::del, .key = "ab"};
    const std::string b = encode(c);
    const std::string expected("\x02\x02"
                               "\x08\x07\x06\x05\x04\x03\x02\x01"
                               "\x09\x00\x00\x00\x00\x00\x00\x00"
                               "\x00"
                               "\x00\x00\x00\x00\x00\x00\x00\x00"
                               "\x02\x00\x00\x00"
                               "ab"
                               "\x00\x00\x00\x00",
                               1 + 1 + 8 + 8 + 1 + 8 + 4 + 2 + 4);
    CHECK(b == expected);
    CHECK(b.size() == raftkv::kv::command_overhead_bytes + 2);
  }
  SUBCASE("compare-and-swap: condition 1, then the expected mod_revision") {
    const command c{.client_id = 1, .seq = 2, .op = op_kind::put, .key = "k", .value = "v",
                    .expected = 0x0a0b};
    const std::string expected("\x02\x01"
                               "\x01\x00\x00\x00\x00\x00\x00\x00"
                               "\x02\x00\x00\x00\x00\x00\x00\x00"
                               "\x01"
                               "\x0b\x0a\x00\x00\x00\x00\x00\x00"
                               "\x01\x00\x00\x00"
                               "k"
                               "\x01\x00\x00\x00"
                               "v",
                               1 + 1 + 8 + 8 + 1 + 8 + 4 + 1 + 4 + 1);
    CHECK(encode(c) == expected);
  }
}

TEST_CASE("commands round-trip through encode and decode") {
  const std::vector<command> cases = {
      {.client_id = 0, .seq = 0, .op = op_kind::put, .key = "k", .value = ""},
      {.client_id = 1, .seq = 1, .op = op_kind::put, .key = "key", .value = "value"},
      {.client_id = ~std::uint64_t{0}, .seq = ~std::uint64_t{0}, .op = op_kind::del, .key = "x"},
      {.client_id = 5, .seq = 2, .op = op_kind::put, .key = std::string("\0\xff\n", 3),
       .value = std::string("\0\0", 2)},
      {.client_id = 2, .seq = 7, .op = op_kind::put, .key = std::string(max_key_bytes, 'k'),
       .value = std::string(max_value_bytes, 'v')},
      {.client_id = 3, .seq = 1, .op = op_kind::put, .key = "cas", .value = "v", .expected = 0},
      {.client_id = 3, .seq = 2, .op = op_kind::put, .key = "cas", .value = "w", .expected = 17},
      {.client_id = 0, .seq = 0, .op = op_kind::del, .key = "cas", .expected = ~std::uint64_t{0}},
  };
  for (const command& c : cases) {
    CAPTURE(c.client_id);
    CAPTURE(c.key.size());
    CAPTURE(c.value.size());
    CAPTURE(c.expected.value_or(0));
    const std::string b = encode(c);
    auto d = decode(b);
    REQUIRE(d.has_value());
    CHECK(*d == c);
    CHECK(encode(*d) == b);
  }
}

TEST_CASE("decode rejects malformed bytes with bad_command") {
  const std::string good = raw_command{}.bytes();
  REQUIRE(decode(good).has_value());

  struct bad_case {
    const char* name;
    std::string bytes;
  };
  auto with = [](auto edit) {
    raw_command r;
    edit(r);
    return r.bytes();
  };
  const std::vector<bad_case> cases = {
      {"empty", ""},
      {"version only", "\x01"},
      {"trailing byte", good + "x"},
      {"version 0", with([](raw_command& r) { r.version = 0; })},
      {"version 1", with([](raw_command& r) { r.version = 1; })},
      {"a whole version-1 command",
       std::string("\x01\x01" "\x07\0\0\0\0\0\0\0" "\x03\0\0\0\0\0\0\0" "\x01\0\0\0" "k"
                   "\x01\0\0\0" "v",
                   1 + 1 + 8 + 8 + 4 + 1 + 4 + 1)},
      {"version 3", with([](raw_command& r) { r.version = 3; })},
      {"condition 2", with([](raw_command& r) { r.condition = 2; })},
      {"condition 255", with([](raw_command& r) { r.condition = 255; })},
      {"expected without a condition", with([](raw_command& r) { r.condition = 0; })},
      {"op 0", with([](raw_command& r) { r.op = 0; })},
      {"op 3", with([](raw_command& r) { r.op = 3; })},
      {"op 255", with([](raw_command& r) { r.op = 255; })},
      {"empty key", with([](raw_command& r) { r.key_len = 0; r.key = ""; })},
      {"key too long", with([](raw_command& r) {
         r.key = std::string(max_key_bytes + 1, 'k');
         r.key_len = static_cast<std::uint32_t>(r.key.size());
       })},
      {"value too long", with([](raw_command& r) {
         r.value = std::string(max_value_bytes + 1, 'v');
         r.value_len = static_cast<std::uint32_t>(r.value.size());
       })},
      {"key length past the end", with([](raw_command& r) { r.key_len = 100; })},
      {"key length 2^32-1", with([](raw_command& r) { r.key_len = 0xffffffffu; })},
      {"value length past the end", with([](raw_command& r) { r.value_len = 2; })},
      {"value length 2^32-1", with([](raw_command& r) { r.value_len = 0xffffffffu; })},
      {"value length short", with([](raw_command& r) { r.value_len = 0; })},
      {"del with a value", with([](raw_command& r) { r.op = 2; })},
      {"session with seq 0", with([](raw_command& r) { r.seq = 0; })},
      {"no session with seq 1", with([](raw_command& r) { r.client_id = 0; r.seq = 1; })},
  };
  for (const bad_case& c : cases) {
    CAPTURE(c.name);
    auto d = decode(c.bytes);
    REQUIRE_FALSE(d.has_value());
    CHECK(d.error() == make_error_code(errc::bad_command));
  }
  for (std::size_t n = 0; n < good.size(); ++n) {
    CAPTURE(n);
    CHECK_FALSE(decode(std::string_view(good).substr(0, n)).has_value());
  }
}

TEST_CASE("validate states the field rules encode relies on") {
  CHECK(raftkv::kv::validate(command{.key = "k"}).has_value());
  CHECK_FALSE(raftkv::kv::validate(command{.key = ""}).has_value());
  CHECK_FALSE(raftkv::kv::validate(command{.client_id = 1, .seq = 0, .key = "k"}).has_value());
  CHECK_FALSE(raftkv::kv::validate(command{.op = op_kind::del, .key = "k", .value = "v"}).has_value());
  CHECK_FALSE(raftkv::kv::validate(command{.op = static_cast<op_kind>(9), .key = "k"}).has_value());
  CHECK(raftkv::kv::validate(command{.key = ""}).error() ==
        make_error_code(errc::bad_command));
  CHECK(raftkv::kv::to_string(op_kind::put) == "put");
  CHECK(raftkv::kv::to_string(op_kind::del) == "del");
}

TEST_CASE("printable escapes control bytes and cuts long text") {
  CHECK(raftkv::kv::printable("plain") == "plain");
  CHECK(raftkv::kv::printable(std::string("a\x7f", 2)) == "a\\x7f");
  CHECK(raftkv::kv::printable("abcdef", 3) == "abc...");
  CHECK(raftkv::kv::printable("é", 32) == "é");  // UTF-8 passes through
}
