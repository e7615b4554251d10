// tests/lin/history.hpp: a recorded history of key-value operations and a
// linearizability checker for it (Wing & Gong's search with Lowe's
// just-in-time lifting and a cache of visited configurations, as Porcupine and
// Knossos do it), written for raftkv's API.
//
// Each key is checked on its own (linearizability is compositional, Herlihy &
// Wing §3.3). The model of one key is a register whose state is the value it
// holds (or none). Every put writes a value no other put writes, so a value
// names the write that made it, and its mod_revision is a fact about that
// write: the checker learns value -> revision from every answer that shows
// one (a put's "revision", a read's "mod_revision"), and a compare-and-swap
// is judged against the revision of the value the key holds at that point.
//
// Outcomes: an operation with a definite answer took effect exactly once
// between its invocation and its completion. A write without one (a timeout,
// outcome_unknown) may have taken effect at any point after its invocation, or
// never: it is "unknown" and may stay unlinearized. A read without an answer
// is left out (it changes nothing).
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace raftkv::lin {

enum class op_kind { get, put, del, cas };

/// How an operation ended, as the client saw it.
enum class op_result {
  ok,          ///< get: found; put/del/cas: applied
  not_found,   ///< get: no such key; del: nothing to delete (nothing changed)
  cas_failed,  ///< cas: the key's mod_revision was not the expected one (nothing changed)
  unknown,     ///< a write with no definite answer: applied once or never
};

/// One operation on one key.
struct operation {
  int client = 0;
  std::string key{};
  op_kind kind = op_kind::get;
  std::string value{};               ///< put/cas: the value written (unique across the history)
  std::uint64_t expected = 0;        ///< cas: the expected mod_revision (0: the key is absent)
  std::int64_t call_ns = 0;          ///< invocation, on one monotonic clock
  std::int64_t return_ns = 0;        ///< completion; ignored when the result is unknown
  op_result result = op_result::ok;
  std::string out_value{};           ///< get ok: the value read
  std::uint64_t out_revision = 0;    ///< get ok: mod_revision; put/cas ok: the new revision;
                                     ///< cas_failed: the current mod_revision (0: absent)
};

/// What check() found for one key.
struct key_verdict {
  std::string key{};
  bool linearizable = false;
  std::size_t operations = 0;   ///< operations on this key that were checked
  std::string why;              ///< when not linearizable: what broke, in words
};

/// What check() found for a whole history.
struct verdict {
  std::vector<key_verdict> keys;
  std::size_t operations = 0;   ///< every operation checked
  std::size_t unknown = 0;      ///< writes without a definite answer among them
  std::size_t violations = 0;   ///< keys whose history is not linearizable
  bool ok() const { return violations == 0; }
};

/// Checks a history (operations on any keys, in any order). `state_limit`
/// bounds the configurations visited per key; a key that exceeds it counts as
/// a violation ("undecided") rather than passing unchecked.
verdict check(const std::vector<operation>& history, std::size_t state_limit = 5'000'000);

/// Acknowledged writes whose effect is missing from the end: for each key,
/// the writes (put, cas, del) answered ok that neither left the key's final
/// value nor could have been overwritten by another write (one that did not
/// complete before they were invoked). `finals` maps a key to its final
/// value (nullopt: absent). Returns one line per lost write.
std::vector<std::string> lost_writes(const std::vector<operation>& history,
                                     const std::vector<std::pair<std::string, std::optional<std::string>>>& finals);

/// One line describing `op` (for failure messages).
std::string describe(const operation& op);

}  // namespace raftkv::lin
