// raftkv/kv/command.hpp: a write to the key-value store, as it travels in a
// Raft log entry.
//
// Encoding, version 2 (integers little-endian, strings u32-length-prefixed):
//
//   u8  version    = command_version (2)
//   u8  op         = 1 put | 2 del
//   u64 client_id  0 = no session
//   u64 seq        0 when client_id is 0, >= 1 otherwise
//   u8  condition  0 = none | 1 = compare-and-swap on the key's mod_revision
//   u64 expected   the mod_revision the key must have (0 = must be absent);
//                  0 when condition is 0
//   u32 key_len    1 ..= max_key_bytes, then key_len bytes of key
//   u32 value_len  0 ..= max_value_bytes (0 for del), then value_len bytes
//
// Version 1 (no condition, no expected) is refused: nothing was deployed with
// it, and a log holding both would need two decoders forever.
//
// The encoding is canonical: decode accepts exactly the bytes encode produces
// for a valid command, so decode(encode(c)) == c and encode(decode(b)) == b.
// Pure: standard library and raftkv/error.hpp only.
#pragma once

#include <raftkv/error.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace raftkv::kv {

/// The version byte encode() writes and decode() accepts.
inline constexpr std::uint8_t command_version = 2;
/// Longest key a command may carry; empty keys are invalid too.
inline constexpr std::size_t max_key_bytes = 4096;
/// Longest value a command may carry (1 MiB).
inline constexpr std::size_t max_value_bytes = std::size_t{1} << 20;
/// Bytes of an encoded command besides its key and value.
inline constexpr std::size_t command_overhead_bytes = 1 + 1 + 8 + 8 + 1 + 8 + 4 + 4;
/// Longest encoded command: a bound for the layers that carry commands.
inline constexpr std::size_t max_command_bytes =
    command_overhead_bytes + max_key_bytes + max_value_bytes;

/// A client id that opens no session: its writes always apply (at-least-once).
inline constexpr std::uint64_t no_client = 0;

/// What a command does to its key.
enum class op_kind : std::uint8_t {
  put = 1,  ///< set key to value, creating it if absent
  del = 2,  ///< remove key
};

/// "put" or "del".
std::string_view to_string(op_kind k) noexcept;

/// One write, tagged with the client session that issued it (thesis §6.3):
/// `seq` numbers the client's writes 1, 2, ... so that a retried write is
/// recognised and answered from the session instead of applied twice.
///
/// With `expected` set the write is a compare-and-swap (etcd's Txn with a
/// ModRevision compare): it applies only if the key's mod_revision equals
/// `*expected`, where 0 means "the key is absent"; otherwise the answer is
/// apply_status::cas_failed and nothing changes. Both put and del take one.
struct command {
  std::uint64_t client_id = no_client;  ///< the session; no_client for none
  std::uint64_t seq = 0;                ///< the client's write number; 0 iff client_id is no_client
  op_kind op = op_kind::put;            ///< what to do with `key`
  std::string key{};                    ///< 1 ..= max_key_bytes bytes, any content
  std::string value{};                  ///< put: 0 ..= max_value_bytes bytes; del: empty
  std::optional<std::uint64_t> expected{};  ///< CAS condition on the key's mod_revision; none = unconditional

  friend bool operator==(const command&, const command&) = default;
};

/// `bytes` for people: control bytes as \xNN, cut to `max_bytes` (then "...").
std::string printable(std::string_view bytes, std::size_t max_bytes = 32);

/// `c` in words for people: `put greeting=hello`, `del a`, `put lock=me if absent`,
/// with control bytes escaped (\xNN) and key and value cut to `max_bytes`
/// each (marked with "..."). Session fields are left out.
std::string describe(const command& c, std::size_t max_bytes = 32);

/// Checks the field rules listed above; errc::bad_command when one fails.
/// Callers building commands from user input check here before encode().
result<void> validate(const command& c);

/// The version-2 bytes of `c`, which must validate (asserted).
std::string encode(const command& c);

/// The command in `bytes`, or errc::bad_command when they are truncated, have
/// trailing bytes, an unknown version, op or condition, a non-zero expected
/// without a condition, or fields that do not validate.
/// Never asserts: the bytes may be anything.
result<command> decode(std::string_view bytes);

}  // namespace raftkv::kv
