// raftkv-server: one Raft node of the replicated key-value store.
//
// Peer traffic on the node's peer port, the client HTTP/JSON API on peer port
// + 1000. Headless: the log goes to stderr (or --log-file). The TUI arrives
// with the next issue. Exit codes: 0 after SIGINT/SIGTERM, 1 when the data
// directory cannot be used or the disk fails, 2 for bad flags or an unusable
// port.
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
#include <string>
#include <variant>

namespace {

using namespace raftkv;

/// Writes "2026-11-27T04:55:01.123Z node 1: text" lines to `out`.
server::log_sink make_logger(std::FILE* out, core::node_id id) {
  return [out, id](std::string_view line) {
    const auto now = std::chrono::system_clock::now();
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    std::fprintf(out, "%s.%03dZ node %llu: %.*s\n", stamp, static_cast<int>(ms), static_cast<unsigned long long>(id),
                 static_cast<int>(line.size()), line.data());
    std::fflush(out);
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
  const auto parsed = server::parse_server_options(argc, argv, ::isatty(STDOUT_FILENO) == 1);
  if (const auto* exit = std::get_if<server::parse_exit>(&parsed)) {
    std::fputs(exit->text.c_str(), exit->code == 0 ? stdout : stderr);
    return exit->code;
  }
  const server::server_options opts = std::get<server::server_options>(parsed);
  std::FILE* log_out = stderr;
  if (!opts.log_file.empty()) {
    log_out = std::fopen(opts.log_file.c_str(), "a");
    if (log_out == nullptr) {
      std::fprintf(stderr, "raftkv-server: cannot open --log-file %s\n", opts.log_file.c_str());
      return 2;
    }
  }
  const server::log_sink log = make_logger(log_out, opts.id);
  raise_fd_limit();
  int code = 0;
  try {
    boost::asio::io_context io(1);
    server::host node(io.get_executor(), opts, log);
    server::http_api api(io.get_executor(), node, node.api_endpoint());
    node.start();
    api.start();
    if (!opts.headless) log("the TUI arrives with a later version; running headless");
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& e, int sig) {
      if (e) return;
      log(std::string("received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ": stopping");
      api.stop();
      node.stop();
      io.stop();
    });
    node.on_fatal([&] {
      code = 1;
      api.stop();
      node.stop();
      io.stop();
    });
    io.run();
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
