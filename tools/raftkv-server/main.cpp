// raftkv-server: one Raft node of the replicated key-value store.
//
// Peer traffic on the node's peer port, the client HTTP/JSON API on peer port
// + 1000. On a terminal it draws the TUI (screen_loop.hpp) and writes its log
// to --log-file, by default <data-dir>/server.log; headless (--headless, or
// stdout not a terminal) the log goes to stderr or --log-file. Exit codes: 0
// after q, SIGINT or SIGTERM, 1 when the data directory cannot be used or the
// disk fails, 2 for bad flags or an unusable port.
#include "screen_loop.hpp"

#include <raftkv/server/host.hpp>
#include <raftkv/server/http_api.hpp>
#include <raftkv/storage/error.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

namespace {

using namespace raftkv;

/// Where log lines go. Lines logged while no target is set (the TUI's log
/// file could not be opened, or is not open yet) are kept, the newest
/// max_pending of them, and written once a target is set, or to stderr when
/// the process ends without one.
struct log_target {
  static constexpr std::size_t max_pending = 1000;
  std::mutex m;
  std::FILE* out = nullptr;           ///< guarded by m; not owned when stderr
  bool owned = false;
  std::deque<std::string> pending;    ///< guarded by m; at most max_pending, newest last
  std::size_t dropped = 0;            ///< guarded by m; pending lines pushed out
  ~log_target() {
    if (out == nullptr && (!pending.empty() || dropped != 0)) set(stderr, false);
    if (owned && out != nullptr) std::fclose(out);
  }
  void write(const std::string& line) {
    std::lock_guard lock(m);
    if (out == nullptr) {
      if (pending.size() == max_pending) pending.pop_front(), ++dropped;
      pending.push_back(line);
      return;
    }
    std::fputs(line.c_str(), out);
    std::fflush(out);
  }
  void set(std::FILE* f, bool own) {
    std::lock_guard lock(m);
    if (owned && out != nullptr) std::fclose(out);
    out = f;
    owned = own;
    if (dropped != 0) std::fprintf(out, "(%zu earlier log lines were not kept)\n", dropped);
    for (const std::string& line : pending) std::fputs(line.c_str(), out);
    pending.clear();
    dropped = 0;
    std::fflush(out);
  }
};

/// Writes "2026-11-27T04:55:01.123Z node 1: text" lines to `target`.
server::log_sink make_logger(std::shared_ptr<log_target> target, core::node_id id) {
  return [target, id](std::string_view line) {
    const auto now = std::chrono::system_clock::now();
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    char head[64];
    std::snprintf(head, sizeof head, "%s.%03dZ node %llu: ", stamp, static_cast<int>(ms),
                  static_cast<unsigned long long>(id));
    target->write(head + std::string(line) + "\n");
  };
}

}  // namespace

/// Raises the soft limit on open files to the hard one: every HTTP client
/// holds a descriptor, and running out must not starve the WAL.
static void raise_fd_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &lim);
  }
}

int main(int argc, char** argv) {
  const auto parsed = server::parse_server_options(argc, argv, ::isatty(STDOUT_FILENO) == 1 && ::isatty(STDIN_FILENO) == 1);
  if (const auto* exit = std::get_if<server::parse_exit>(&parsed)) {
    std::fputs(exit->text.c_str(), exit->code == 0 ? stdout : stderr);
    return exit->code;
  }
  const server::server_options opts = std::get<server::server_options>(parsed);
  auto target = std::make_shared<log_target>();
  if (!opts.log_file.empty()) {
    std::FILE* f = std::fopen(opts.log_file.c_str(), "a");
    if (f == nullptr) {
      std::fprintf(stderr, "raftkv-server: cannot open --log-file %s\n", opts.log_file.c_str());
      return 2;
    }
    target->set(f, true);
  } else if (opts.headless) {
    target->set(stderr, false);
  }
  const server::log_sink log = make_logger(target, opts.id);
  raise_fd_limit();
  int code = 0;
  try {
    boost::asio::io_context io(1);
    server::host node(io.get_executor(), opts, log);
    server::http_api api(io.get_executor(), node, node.api_endpoint());
    node.start();
    if (opts.delay_ms > 0) node.delay(std::chrono::milliseconds(opts.delay_ms));
    api.start();
    auto stop_all = [&] {
      api.stop();
      node.stop();
      io.stop();
    };
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& e, int sig) {
      if (e) return;
      log(std::string("received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ": stopping");
      stop_all();
    });
    node.on_fatal([&] {
      code = 1;
      stop_all();
    });
    bool drawn = false;
    if (!opts.headless) {
      std::string log_path = opts.log_file;
      if (log_path.empty()) {
        // The data directory exists now (the node opened it).
        log_path = (std::filesystem::path(opts.data_dir) / "server.log").string();
        std::FILE* f = std::fopen(log_path.c_str(), "a");
        if (f != nullptr) {
          target->set(f, true);
        } else {
          log_path = "the terminal after the TUI ends";  // kept in memory (bounded) until then
        }
      }
      drawn = server_tool::run_screen(io, node, [&] {
        log("quit from the TUI: stopping");
        stop_all();
      });
      if (!drawn) {
        if (opts.log_file.empty()) target->set(stderr, false);
        log("cannot start the terminal UI (is TERM set?); running headless");
      } else {
        if (node.fatal_error()) std::fprintf(stderr, "raftkv-server: %s\n", node.fatal_error()->c_str());
        std::fprintf(stderr, "raftkv-server: node %llu stopped; its log is in %s\n",
                     static_cast<unsigned long long>(opts.id), log_path.c_str());
        if (log_path.starts_with("the terminal")) target->set(stderr, false);
      }
    }
    if (!drawn) io.run();
  } catch (const storage::storage_error& e) {
    std::fprintf(stderr, "raftkv-server: %s\n", e.what());
    return 1;
  } catch (const boost::system::system_error& e) {
    // Boost appends the source location ("[system:98 at .../file.hpp:161:5 in
    // function ...]"); users need the sentence, not the library's internals.
    std::string what = e.what();
    if (const auto at = what.find(" [system:"); at != std::string::npos) what.erase(at);
    std::fprintf(stderr, "raftkv-server: %s\n", what.c_str());
    return 2;
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "raftkv-server: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "raftkv-server: %s\n", e.what());
    return 1;
  }
  if (code == 0) log("stopped cleanly");
  return code;
}
