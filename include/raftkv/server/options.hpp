// raftkv/server/options.hpp: what a raftkv-server is told on its command line
// (bodies in server/impl/options.ipp, Boost.Program_options).
#pragma once

#include <raftkv/core/types.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>

namespace raftkv::server {

/// A host and port, as given on the command line.
struct host_port {
  std::string host;
  std::uint16_t port = 0;
  std::string str() const { return host + ":" + std::to_string(port); }
  friend bool operator==(const host_port&, const host_port&) = default;
};

/// Who may use the admin and fault routes (POST /v1/admin/...).
enum class admin_access {
  open,   ///< anyone who reaches the API (the default on a loopback address)
  token,  ///< requests with "Authorization: Bearer <admin_token>" (--admin-token)
  off,    ///< nobody: 403 (--no-admin; the default on any other address)
};

/// Every setting of one server node.
struct server_options {
  core::node_id id = 0;                        ///< this node (--id)
  std::map<core::node_id, host_port> peers;    ///< every member's peer address, this node included (--peers)
  std::optional<std::uint16_t> api_port;       ///< client HTTP port; default: our peer port + 1000
  std::string data_dir;                        ///< default ./data/node-<id>
  std::string cluster_id;                      ///< default: derived from --peers
  bool headless = false;                       ///< no TUI (also when stdin or stdout is not a terminal)
  std::string log_file;                        ///< empty: stderr
  int tick_ms = 100;                           ///< one Raft tick
  int heartbeat_ticks = 3;                     ///< leader heartbeat interval
  int election_ticks = 10;                     ///< election timeout drawn from [n, 2n) ticks
  std::uint64_t snapshot_entries = 10000;      ///< applied entries between snapshots
  std::uint64_t compact_keep = 1000;           ///< entries kept behind a snapshot
  std::uint64_t max_body_bytes = 1 << 20;      ///< HTTP request bodies above this get 413
  int request_timeout_ms = 5000;               ///< a write or read not done by then gets 504
  int delay_ms = 0;                            ///< incoming peer messages held this long from the start
  admin_access admin = admin_access::open;     ///< see admin_access; decided by parse_server_options
  std::string admin_token;                     ///< --admin-token (or RAFTKV_ADMIN_TOKEN); admin == token iff set
  std::size_t max_connections = 1024;          ///< open client HTTP connections; more are closed and counted

  /// This node's peer address.
  const host_port& self() const { return peers.at(id); }
  /// The client API port of `node` (its peer port + 1000; ours may be overridden).
  std::uint16_t api_port_of(core::node_id node) const;
};

/// The outcome of parsing: options, or text to print and an exit code
/// (0 for --help and --version, 2 for a usage error).
struct parse_exit {
  int code = 0;
  std::string text;
};
using parse_result = std::variant<server_options, parse_exit>;

/// Parses raftkv-server's command line. `stdout_is_tty` (true when stdin and
/// stdout are both terminals) decides the default of --headless.
parse_result parse_server_options(int argc, const char* const argv[], bool stdout_is_tty);

/// Parses "1=127.0.0.1:6001,2=127.0.0.1:6002"; throws std::invalid_argument
/// with a message naming the bad part.
std::map<core::node_id, host_port> parse_peers(const std::string& text);

/// Parses "127.0.0.1:7001"; throws std::invalid_argument.
host_port parse_host_port(const std::string& text);

/// Whether `host` names the loopback interface (localhost, 127.x.y.z, ::1).
bool is_loopback(const std::string& host);

}  // namespace raftkv::server
