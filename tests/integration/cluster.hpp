// tests/integration/cluster.hpp: real raftkv-server processes on free loopback
// ports with temp data directories, and a small blocking HTTP client.
//
// Every server is started with fork + exec and killed (SIGKILL) and reaped by
// PID when its handle is destroyed, also when a check fails.
#pragma once

#include <nlohmann/json.hpp>

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <utility>
#include <string>
#include <vector>

namespace raftkv::itest {

/// One HTTP answer.
struct reply {
  int status = 0;  ///< 0 when the connection failed or timed out
  std::string body;
  std::map<std::string, std::string> headers;  ///< lower-case names
  nlohmann::json json() const;                 ///< the body as JSON (discarded value if not)
  std::string header(const std::string& lower_name) const;
};

/// A blocking HTTP/1.1 request to 127.0.0.1:port (no redirects followed).
reply http(std::uint16_t port, const std::string& method, const std::string& target,
           const std::string& body = "", const std::map<std::string, std::string>& headers = {},
           std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// Two free loopback ports p and p + 1000, n times (peer and API ports).
std::vector<std::uint16_t> free_peer_ports(std::size_t n);

/// A base port P with P..P+n-1 and P+1000..P+999+n free on 127.0.0.1 now.
std::uint16_t free_port_block(int n);

/// Polls `pred` every `every` until it holds or `limit` passes.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit = std::chrono::seconds(15),
                std::chrono::milliseconds every = std::chrono::milliseconds(20));

/// A three-node (or n-node) cluster of raftkv-server processes.
class cluster {
 public:
  /// Starts `n` servers with small timers; `extra` flags go to every server.
  explicit cluster(std::size_t n, std::vector<std::string> extra = {});
  ~cluster();
  cluster(const cluster&) = delete;
  cluster& operator=(const cluster&) = delete;

  std::size_t size() const { return ports_.size(); }
  std::uint16_t peer_port(std::uint64_t id) const { return ports_.at(id - 1); }
  std::uint16_t api_port(std::uint64_t id) const { return static_cast<std::uint16_t>(ports_.at(id - 1) + 1000); }
  bool running(std::uint64_t id) const { return pids_.at(id - 1) > 0; }
  /// The process of node `id` (0 when not running), for signals such as SIGSTOP.
  pid_t pid(std::uint64_t id) const { return pids_.at(id - 1); }

  /// Starts node `id` (again), with the same flags and data directory.
  /// A nonzero `file_size_limit` caps every file it writes (RLIMIT_FSIZE,
  /// SIGXFSZ ignored): writes past it fail with EFBIG, as on a full disk.
  void start(std::uint64_t id, std::uint64_t file_size_limit = 0);
  /// The exit status of node `id` if it has exited by itself (reaped then),
  /// nullopt while it runs.
  std::optional<int> exited(std::uint64_t id);
  /// SIGKILL and reap.
  void kill(std::uint64_t id);
  /// SIGTERM, then waits for the exit code (SIGKILL after 10 s).
  int terminate(std::uint64_t id);
  /// GET /v1/status of node `id` (discarded JSON when unreachable).
  nlohmann::json status(std::uint64_t id) const;
  /// Waits until every running node names the same leader; returns it (0 on timeout).
  std::uint64_t wait_for_leader(std::chrono::milliseconds limit = std::chrono::seconds(15)) const;
  /// The server's stderr so far (for failure messages).
  std::string log(std::uint64_t id) const;
  /// The --peers flag of this cluster.
  std::string peers_flag() const;
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::vector<std::uint16_t> ports_;
  std::vector<pid_t> pids_;
  std::vector<std::string> extra_;
  std::filesystem::path dir_;
};

/// The raftkv-server binary (RAFTKV_SERVER from meson).
std::string server_binary();

/// Runs the server binary with `args` to completion (for flag errors);
/// returns {exit code, stderr}.
std::pair<int, std::string> run_server_to_exit(const std::vector<std::string>& args,
                                               std::chrono::milliseconds limit = std::chrono::seconds(10));

/// What a program run to completion printed, and how it ended.
struct run_result {
  int code = -1;    ///< exit code; 128 + signal when killed by one; -1 when it overran its limit
  std::string out;  ///< its stdout
  std::string err;  ///< its stderr
};

/// Runs `binary` with `args`, `input` on its stdin, until it exits or `limit`
/// passes (then SIGKILL); always reaped.
run_result run_to_exit(const std::string& binary, const std::vector<std::string>& args, const std::string& input = "",
                       std::chrono::milliseconds limit = std::chrono::seconds(30));

/// The raftkv-client binary (RAFTKV_CLIENT from meson).
std::string client_binary();

}  // namespace raftkv::itest
