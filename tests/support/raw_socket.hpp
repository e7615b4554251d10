// tests/support/raw_socket.hpp: bytes no HTTP client would send, over plain
// loopback TCP (header-only: the fuzz targets use it without test libraries).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <string_view>

namespace raftkv::test {

/// One try of connect_loopback() (may fail with EINTR).
inline int connect_loopback_once(std::uint16_t port, int timeout_s) {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{timeout_s, 0};
  ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    const int err = errno;
    ::close(s);
    errno = err;
    return -1;
  }
  return s;
}

// A signal (libFuzzer's once-a-second timer, for one) makes a socket call
// with a timeout set fail with EINTR even under SA_RESTART (signal(7)): every
// call here tries again then.

/// A TCP connection to 127.0.0.1:port (-1 when it fails, errno saying why),
/// whose reads give up after `timeout_s` seconds of silence.
inline int connect_loopback(std::uint16_t port, int timeout_s = 5) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int s = connect_loopback_once(port, timeout_s);
    if (s >= 0 || errno != EINTR) return s;
  }
  return -1;
}

/// Sends `bytes` on the connected socket `s`, shuts its sending side, and
/// returns everything read until the peer closes, a read times out, or
/// `max_bytes`; closes `s`.
inline std::string exchange_on(int s, std::string_view bytes, std::size_t max_bytes = std::size_t{1} << 22) {
  std::string got;
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(s, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the server may close early on a bad request
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(s, SHUT_WR);
  char buf[4096];
  while (got.size() < max_bytes) {
    const ssize_t n = ::recv(s, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  ::close(s);
  return got;
}

/// Sends `bytes`, shuts the sending side, and returns everything read until
/// the server closes, `timeout_s` seconds of silence pass, or `max_bytes`.
inline std::string raw_exchange(std::uint16_t port, std::string_view bytes, int timeout_s = 5,
                                std::size_t max_bytes = std::size_t{1} << 22) {
  const int s = connect_loopback(port, timeout_s);
  if (s < 0) return {};
  return exchange_on(s, bytes, max_bytes);
}

}  // namespace raftkv::test
