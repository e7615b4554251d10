// Fuzz target: the client HTTP API as a client reaches it, bytes on a TCP
// connection to a real single-node server in this process (host + http_api
// on an io thread, a temp data directory, loopback only). Each input is sent
// as is, the sending side is shut, and the answer read until the server
// closes. The server must answer or close, keep serving the next input, and
// never crash; after every input a plain GET /v1/status must still get 200.
#include "fuzz/fuzz_target.hpp"

#include <raftkv/server/host.hpp>
#include <raftkv/server/http_api.hpp>
#include <raftkv/server/options.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "support/raw_socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

namespace raftkv::fuzz {
namespace {

namespace asio = boost::asio;

std::uint16_t free_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

/// One server for the whole fuzzing run (never destroyed: libFuzzer exits).
struct server {
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard = asio::make_work_guard(io);
  std::unique_ptr<raftkv::server::host> node;
  std::unique_ptr<raftkv::server::http_api> api;
  std::thread thread;
  std::uint16_t port = 0;
  std::filesystem::path dir;

  server() {
    namespace fs = std::filesystem;
    const fs::path base = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    dir = base / ("raftkv-fuzz-http-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    raftkv::server::server_options o;
    o.id = 1;
    o.peers[1] = {"127.0.0.1", free_port()};
    o.data_dir = dir.string();
    o.headless = true;
    o.tick_ms = 5;
    o.request_timeout_ms = 500;
    o.max_body_bytes = 1 << 16;
    // The node's own log stays quiet, but for what says something failed.
    node = std::make_unique<raftkv::server::host>(io.get_executor(), o, [](std::string_view line) {
      if (line.find("failed") != std::string_view::npos || line.find("FATAL") != std::string_view::npos) {
        std::fprintf(stderr, "server: %.*s\n", static_cast<int>(line.size()), line.data());
      }
    });
    api = std::make_unique<raftkv::server::http_api>(
        io.get_executor(), *node, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = api->local_endpoint().port();
    node->start();
    api->start();
    thread = std::thread([this] { io.run(); });
    // Wait until the single node leads, so writes get answers, not 503s.
    for (int i = 0; i < 400 && exchange("GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n").find("\"role\":\"leader\"") ==
                                   std::string::npos;
         ++i) {
      ::usleep(5000);
    }
  }

  /// Sends `request`, shuts the sending side, returns everything read until
  /// the server closes (or 2 s of silence).
  std::string exchange(std::string_view request) const { return raftkv::test::raw_exchange(port, request, 2); }
};

server* running = nullptr;

/// At exit: the io thread stops before the process's statics go.
void stop_server() {
  if (running == nullptr) return;
  running->io.stop();
  running->thread.join();
  std::error_code ec;
  std::filesystem::remove_all(running->dir, ec);
}

server& the_server() {
  if (running == nullptr) {
    running = new server();  // never deleted: reachable until the process ends
    std::atexit(stop_server);
  }
  return *running;
}

}  // namespace

int http(const std::uint8_t* data, std::size_t size) {
  server& s = the_server();
  const std::string answer = s.exchange(std::string_view(reinterpret_cast<const char*>(data), size));
  // Whatever it was answered, an answer starts as HTTP does: HTTP/1.1, or
  // HTTP/1.0 for a request that said HTTP/1.0 (the server answers in the
  // request's version; the first fuzz finding was this check expecting 1.1).
  fuzz_check(answer.empty() || answer.starts_with("HTTP/1.1 ") || answer.starts_with("HTTP/1.0 "),
             "every answer is HTTP/1.x");
  // And the server still serves: a fresh connection for /v1/status is answered.
  const auto t0 = std::chrono::steady_clock::now();
  const std::string status = s.exchange("GET /v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  if (!status.starts_with("HTTP/1.1 200")) {
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "input answered with %zu bytes: %.200s\nthen /v1/status after %.0f ms: %zu bytes: %.300s\n",
                 answer.size(), answer.c_str(), ms, status.size(), status.c_str());
  }
  fuzz_check(status.starts_with("HTTP/1.1 200"), "the server answers /v1/status after any input");
  return 0;
}

}  // namespace raftkv::fuzz

RAFTKV_FUZZ_ENTRY(http)
