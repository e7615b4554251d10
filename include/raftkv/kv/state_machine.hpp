// raftkv/kv/state_machine.hpp: the replicated key-value state machine.
//
// Every replica applies the same committed entries in the same order and so
// reaches the same state: nothing here reads a clock, draws a random number or
// lets hash order reach a result or a snapshot (ordered maps throughout).
//
// Revisions (as in etcd's mvcc): the store has a revision, 0 when empty, that
// grows by one with every write that changes it: a put (also a successful
// compare-and-swap, also one that rewrites the same value) and a delete of a
// present key. A delete of an absent key and a failed compare-and-swap leave
// it alone. Each key carries the revision that created it, the revision that
// last modified it and how many puts it saw since its creation; a delete
// removes the key with its revisions, so a later put creates it afresh.
//
// Writes are exactly-once through client sessions (thesis §6.3): a session
// remembers its client's last applied seq and that write's result, so a retry
// of a committed write gets the original answer instead of being applied
// again. A session's activity is the log index of its last entry (applied,
// retried or stale write). Sessions end in two ways, both decided by log
// indexes alone, so the same on every replica:
//   - expiry: applying the entry at index i first drops every session whose
//     activity a has i - a > session_ttl_entries. A session thus survives
//     exactly session_ttl_entries entries without activity.
//   - eviction: opening a session in a full table drops the one idle the
//     longest (lowest activity).
// That client's next write fails with session_expired instead of risking a
// double apply. Only a client that keeps retrying its seq 1 after losing its
// session can be applied twice; clients avoid that by opening sessions with
// a fresh client id.
//
// Snapshot format, version 2 (little-endian, strings u32-length-prefixed):
//
//   4 bytes magic "RKVS", u8 version = snapshot_version (2)
//   u64 applied_index
//   u64 revision
//   u64 key_count, then per key in ascending byte order:
//     key, value, u64 create_revision, u64 mod_revision, u64 version
//   u64 session_count, then per session in ascending client_id order:
//     u64 client_id, u64 last_seq, u64 last_activity,
//     u8 status, u64 index, u64 revision, u64 previous_mod_revision,
//     u8 has_previous, [previous]                         (the cached result)
//   u32 CRC-32C of every byte before it
//
// restore() accepts exactly what serialize() produces, so restoring and
// serialising again gives the same bytes. Version 1 is refused.
// Pure: standard library, raftkv/core and raftkv/error.hpp only.
#pragma once

#include <raftkv/core/types.hpp>
#include <raftkv/error.hpp>
#include <raftkv/kv/command.hpp>
#include <raftkv/kv/detail/key_table.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace raftkv::kv {

namespace detail {
class reader;
}  // namespace detail

/// The version byte serialize() writes and restore() accepts.
inline constexpr std::uint8_t snapshot_version = 2;

/// How one log entry came out.
enum class apply_status : std::uint8_t {
  ok = 0,               ///< applied (or, for a retry, was applied earlier)
  not_found = 1,        ///< a delete of a key that did not exist; nothing changed
  bad_command = 2,      ///< the entry's bytes did not decode; nothing changed
  session_expired = 3,  ///< an unknown client sent seq != 1: its session expired or was evicted (§6.3)
  stale_request = 4,    ///< seq below the session's last: the client already moved on
  cas_failed = 5,       ///< the key's mod_revision was not the expected one; nothing changed
};

/// "ok", "not_found", "bad_command", "session_expired", "stale_request" or "cas_failed".
std::string_view to_string(apply_status s) noexcept;

/// The answer for the client whose command an entry carried.
struct apply_result {
  apply_status status = apply_status::ok;
  /// ok: the key's value before the write, if it had one (a put that
  /// replaced a value, every delete). Empty for every other status.
  std::optional<std::string> previous{};
  /// The key's mod_revision when the command was evaluated, 0 if absent: for
  /// ok the revision of `previous`, for cas_failed the current mod_revision
  /// that did not match, for not_found 0. 0 for the other statuses.
  std::uint64_t previous_mod_revision = 0;
  /// The store's revision right after the entry `index` was applied: for ok
  /// the revision this write created (a put's new mod_revision), otherwise
  /// the unchanged revision the answer holds at ("as of revision R").
  std::uint64_t revision = 0;
  core::index_t index = 0;  ///< the entry that took effect: the original one for a retry
  bool duplicate = false;   ///< a retry answered from the session; nothing was applied now

  friend bool operator==(const apply_result&, const apply_result&) = default;
};

/// One key with its value and revisions, as get() and list() return them
/// (etcd's mvccpb.KeyValue).
struct key_value {
  std::string key{};
  std::string value{};
  std::uint64_t create_revision = 0;  ///< revision of the put that created the key (since its last delete)
  std::uint64_t mod_revision = 0;     ///< revision of the last put to the key; >= create_revision
  std::uint64_t version = 0;          ///< puts since creation: 1 after the creating put
  friend bool operator==(const key_value&, const key_value&) = default;
};

/// Limits of one state machine. Must be the same on every replica, since it
/// decides which sessions are evicted and when they expire.
struct config {
  /// Client sessions kept; opening one more evicts the least recently active.
  std::size_t max_sessions = 10000;
  /// Log entries a session survives without activity (log time, not wall
  /// time); 0 = sessions never expire, only eviction ends them.
  std::uint64_t session_ttl_entries = 100000;

  /// errc::invalid_config unless max_sessions >= 1.
  result<void> validate() const;
  friend bool operator==(const config&, const config&) = default;
};

/// The key-value store and its client sessions, advanced by committed entries.
class state_machine {
 public:
  /// An empty store with nothing applied; `cfg` must validate (asserted).
  explicit state_machine(config cfg = {});

  /// Applies the command encoded in the entry at `index`. `index` must exceed
  /// applied_index() (asserted); it becomes applied_index() whatever the outcome.
  apply_result apply(core::index_t index, std::string_view data);
  /// Applies an already decoded command, as apply() does after decoding (a
  /// command that does not validate gives bad_command).
  apply_result apply(core::index_t index, command c);
  /// Records that the entry at `index` (a no-op or anything else without a
  /// command) was applied. `index` must exceed applied_index() (asserted).
  void apply_noop(core::index_t index);

  /// `key` with its value and revisions, if present, as of revision().
  std::optional<key_value> get(std::string_view key) const;
  /// Up to `limit` keys starting with `prefix`, with their values and
  /// revisions, in ascending byte order of key, as of revision().
  std::vector<key_value> list(std::string_view prefix, std::size_t limit) const;
  /// At most `limit` keys in byte order, skipping the first `offset` (for a
  /// scrolling view; linear in `offset`), values cut to `value_bytes_max`.
  std::vector<key_value> page(std::size_t offset, std::size_t limit,
                              std::size_t value_bytes_max = SIZE_MAX) const;
  /// The store's revision: the number of writes that changed it, 0 before
  /// any. Reads answer "as of" it.
  std::uint64_t revision() const { return revision_; }
  /// Number of keys.
  std::size_t size() const { return data_.size(); }
  /// Sum of the sizes of every key and value.
  std::uint64_t bytes() const { return bytes_; }
  /// The index of the last entry applied, 0 before any.
  core::index_t applied_index() const { return applied_index_; }
  /// Number of client sessions held (at most config::max_sessions, unless a
  /// restored snapshot held more: see restore()).
  std::size_t session_count() const { return sessions_.size(); }
  /// The limits this machine runs with.
  const config& cfg() const { return cfg_; }

  /// The whole state (keys, sessions, applied index) in the format above.
  std::string serialize() const;
  /// The state machine `data` holds, run with `cfg` (which must validate,
  /// asserted), or errc::bad_snapshot when `data` is truncated, corrupt
  /// (checksum), of an unknown version or breaks an invariant. Never asserts
  /// on the bytes. A snapshot with more sessions than cfg.max_sessions is kept
  /// whole; the excess is evicted as new sessions open. Sessions idle longer
  /// than cfg.session_ttl_entries are kept too, and expire at the next entry.
  /// `verify_checksum` false skips only the checksum, for bytes whose
  /// integrity was just proven otherwise (a snapshot file's own CRC, or an
  /// earlier restore() of the same bytes); every structural check still runs.
  static result<state_machine> restore(std::string_view data, config cfg = {}, bool verify_checksum = true);

  /// Same keys, values, revisions, sessions and applied index (the config aside).
  bool same_state(const state_machine& other) const;

 private:
  /// One client's session (thesis §6.3).
  struct session {
    std::uint64_t last_seq = 0;       ///< seq of the last applied write; >= 1 once opened
    /// Index of the last entry carrying a write of this client (applied,
    /// retried or stale); <= applied_index_ and unique across sessions, since
    /// each entry touches one session at most.
    core::index_t last_activity = 0;
    apply_result last_result{};       ///< answer to last_seq: ok, not_found or cas_failed; duplicate false
    friend bool operator==(const session&, const session&) = default;
  };
  using session_map = std::map<std::uint64_t, session>;


  /// Makes `index` the applied index (asserts it is past the current one)
  /// and drops the sessions that expire at it.
  void advance_to(core::index_t index);
  /// Performs the put or delete of `c` (already deduplicated) at `index`,
  /// if its compare-and-swap condition holds.
  apply_result execute(core::index_t index, command&& c);
  /// A new, empty session for `client_id` active at `index`, after evicting
  /// the least recently active sessions while the table is full.
  session_map::iterator open_session(std::uint64_t client_id, core::index_t index);
  /// Marks the session `it` active at `index` (the newest activity).
  void touch(session_map::iterator it, core::index_t index);
  /// restore() helpers: read the key or session section into `sm`; false
  /// when the bytes are short or break an invariant. read_session_result
  /// reads one cached result and checks that some write could produce it.
  static bool read_keys(detail::reader& r, state_machine& sm);
  static bool read_sessions(detail::reader& r, state_machine& sm);
  static bool read_session_result(detail::reader& r, const state_machine& sm, apply_result& out);

  config cfg_;  ///< fixed at construction
  /// The store. Invariant: keys are 1 ..= max_key_bytes bytes and values at
  /// most max_value_bytes; every record keeps its invariant. Updated only by
  /// execute() and restore().
  /// The keys. Invariant per key: 1 <= create_revision <= mod_revision <=
  /// revision_, and 1 <= version <= mod_revision - create_revision + 1.
  detail::key_table data_;
  std::uint64_t bytes_ = 0;          ///< sum of key and value sizes in data_; kept by execute()
  core::index_t applied_index_ = 0;  ///< last applied entry; only grows (advance_to())
  /// Writes that changed the store; only grows, by one per change (execute()).
  /// revision_ <= applied_index_, since each change takes one entry.
  std::uint64_t revision_ = 0;
  /// Sessions by client id (no_client never has one). Invariant: every
  /// last_activity <= applied_index_, and at most cfg_.max_sessions entries;
  /// with a session_ttl_entries of t != 0, applied_index_ - last_activity <= t
  /// (both unless restored from a snapshot taken with other limits).
  session_map sessions_;
  /// last_activity -> client id, one entry per session: the eviction order.
  /// Updated with sessions_ by advance_to(), open_session(), touch() and restore().
  std::map<core::index_t, std::uint64_t> by_activity_;
};

}  // namespace raftkv::kv
