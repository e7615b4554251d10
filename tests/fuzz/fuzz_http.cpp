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

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

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

  server() {
    namespace fs = std::filesystem;
    const fs::path base = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    const fs::path dir = base / ("raftkv-fuzz-http-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    raftkv::server::server_options o;
    o.id = 1;
    o.peers[1] = {"127.0.0.1", free_port()};
    o.data_dir = dir.string();
    o.headless = true;
    o.tick_ms = 5;
    o.request_timeout_ms = 500;
    o.max_body_bytes = 1 << 16;
    node = std::make_unique<raftkv::server::host>(io.get_executor(), o, [](std::string_view) {});
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
  std::string exchange(std::string_view request) const {
    const int s = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{2, 0};
    ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    std::string got;
    if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      std::size_t sent = 0;
      while (sent < request.size()) {
        const ssize_t n = ::send(s, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;  // the server may close early on a bad request
        sent += static_cast<std::size_t>(n);
      }
      ::shutdown(s, SHUT_WR);
      char buf[4096];
      while (true) {
        const ssize_t n = ::recv(s, buf, sizeof buf, 0);
        if (n <= 0) break;
        got.append(buf, static_cast<std::size_t>(n));
        if (got.size() > (1u << 22)) break;
      }
    }
    ::close(s);
    return got;
  }
};

server& the_server() {
  static server* s = new server();
  return *s;
}

}  // namespace

int http(const std::uint8_t* data, std::size_t size) {
  server& s = the_server();
  const std::string answer = s.exchange(std::string_view(reinterpret_cast<const char*>(data), size));
  // Whatever it was answered, an answer starts as HTTP does.
  fuzz_check(answer.empty() || answer.starts_with("HTTP/1.1 "), "every answer is HTTP/1.1");
  // And the server still serves.
  const std::string status = s.exchange("GET /v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  fuzz_check(status.starts_with("HTTP/1.1 200"), "the server answers /v1/status after any input");
  return 0;
}

}  // namespace raftkv::fuzz

RAFTKV_FUZZ_ENTRY(http)
