// examples/client_example.cpp: raftkv::client in a program of its own.
//
//   client_example [HOST:PORT,HOST:PORT,...]     (default: the three local nodes)
//
// Writes a key through whichever node is the leader, reads it back both ways,
// takes a lock with compare-and-swap and prints every request's hops. Exits 0
// when all of it worked, 1 otherwise (the failing answer's message on stderr).
#include <raftkv/client/client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdio>
#include <exception>
#include <string>

namespace rc = raftkv::client;

namespace {

/// Prints the trace of `a`; false (and its message) when it did not succeed.
bool report(const char* what, const rc::answer& a) {
  std::printf("%-8s %s\n", what, rc::format_trace(a.hops, a.elapsed_ms).c_str());
  if (!a.ok()) std::fprintf(stderr, "%s: %s (%s)\n", what, a.message.c_str(), rc::to_string(a.result));
  return a.ok();
}

boost::asio::awaitable<int> demo(rc::client c) {
  const rc::answer put = co_await c.put("greeting", "hello");
  if (!report("put", put)) co_return 1;
  const rc::answer get = co_await c.get("greeting");  // linearizable: sees the put
  if (!report("get", get)) co_return 1;
  const rc::answer stale = co_await c.get("greeting", rc::consistency::stale);
  if (!report("stale", stale)) co_return 1;
  std::printf("greeting = %s (mod revision %llu)\n", get.body["value"].get<std::string>().c_str(),
              static_cast<unsigned long long>(get.body["mod_revision"].get<std::uint64_t>()));
  // A lock: create it only if absent (expected mod revision 0).
  const rc::answer lock = co_await c.cas("example-lock", 0, "mine");
  if (lock.result == rc::outcome::cas_failed) {
    std::printf("lock     already held (mod revision %llu)\n",
                static_cast<unsigned long long>(lock.body.value("current_mod_revision", std::uint64_t{0})));
  } else if (!report("lock", lock)) {
    co_return 1;
  }
  const std::vector<rc::node_status> nodes = co_await c.status_all();
  for (const rc::node_status& n : nodes) {
    std::printf("%-22s %s\n", n.target.str().c_str(),
                n.reachable ? n.body.value("role", std::string("?")).c_str() : ("unreachable: " + n.error).c_str());
  }
  co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    rc::options opts;
    opts.peers = rc::parse_peer_list(argc > 1 ? argv[1] : "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003");
    boost::asio::io_context io;
    rc::client c(io.get_executor(), opts);
    int code = 1;
    boost::asio::co_spawn(io, demo(c), [&](std::exception_ptr e, int result) {
      if (e) std::rethrow_exception(e);
      code = result;
    });
    io.run();
    return code;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "client_example: %s\n", e.what());
    return 1;
  }
}
