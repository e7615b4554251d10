// raftkv/error.hpp: expected outcomes as values.
//
// Every layer reports outcomes a caller must handle (not the leader, no leader,
// a queue full, ...) as `raftkv::errc` wrapped in a `raftkv::result<T>`
// (Boost.System `result`), registered as an error-code enum the way Beast
// registers `http::error`. Bugs are RAFTKV_ASSERTs instead (assert.hpp).
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <type_traits>

namespace raftkv {

/// Outcomes a caller is expected to handle.
enum class errc {
  ok = 0,
  not_leader = 1,           ///< this node is not the leader; see the leader hint
  no_leader = 2,            ///< no leader is known right now; retry later
  transfer_in_progress = 3, ///< a leadership transfer is running; proposals wait
  proposal_dropped = 4,     ///< too many uncommitted entries; the proposal was not appended
  read_queue_full = 5,      ///< too many pending ReadIndex requests
  compacted = 6,            ///< the requested entries were compacted away
  unavailable = 7,          ///< the requested entries are not in the log (yet)
  unknown_peer = 8,         ///< the node id is not a member of the cluster
  already_leader = 9,       ///< the request makes no sense on the leader
  invalid_config = 10,      ///< a configuration value is out of range
  bad_message = 11,         ///< a message is malformed or not addressed to us
  read_dropped = 12,        ///< a ReadIndex request was abandoned (leadership changed)
  bad_command = 13,         ///< a KV command's bytes or fields are malformed (kv/command.hpp)
  bad_snapshot = 14,        ///< a KV snapshot is truncated, corrupt or of an unknown version
  snapshot_unreadable = 15, ///< the newest snapshot's data could not be read back from its file
};

/// The category naming raftkv's outcomes ("raftkv").
const boost::system::error_category& raftkv_category() noexcept;

/// Makes `e` an error_code of raftkv_category().
inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), raftkv_category()};
}

/// A value or an error_code.
template <class T>
using result = boost::system::result<T, boost::system::error_code>;

}  // namespace raftkv

template <>
struct boost::system::is_error_code_enum<raftkv::errc> : std::true_type {};
