// Tests of the peer transport (net/transport.hpp): transports and raw sockets
// on 127.0.0.1 in one io_context. No sleeps: every wait runs the io_context
// until a condition holds, with a deadline.
#include <raftkv/net/transport.hpp>

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace net = raftkv::net;
using tcp = asio::ip::tcp;
using raftkv::core::entry;
using raftkv::core::entry_type;
using raftkv::core::message;
using raftkv::core::message_type;
using raftkv::core::node_id;
using namespace std::chrono_literals;

const auto loopback = asio::ip::make_address("127.0.0.1");

/// Runs `ioc` until `done()` holds or `limit` passed; true if it held.
bool run_until(asio::io_context& ioc, const std::function<bool()>& done,
               std::chrono::milliseconds limit = 5s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= end) return false;
    if (ioc.stopped()) ioc.restart();
    ioc.run_for(2ms);
  }
  return true;
}

/// A loopback port nothing listens on (bound, read, closed).
tcp::endpoint unused_endpoint(asio::io_context& ioc) {
  tcp::acceptor a(ioc, tcp::endpoint(loopback, 0));
  return a.local_endpoint();
}

/// A transport with what it delivered and logged.
struct node {
  std::vector<message> got{};
  std::vector<std::string> logs{};
  std::unique_ptr<net::transport> t{};

  bool logged(std::string_view part) const {
    for (const auto& l : logs) {
      if (l.find(part) != std::string::npos) return true;
    }
    return false;
  }
  net::peer_stats peer(node_id id) const { return t->stats().peers.at(id); }
};

/// Nodes sharing one io_context.
struct cluster {
  asio::io_context ioc{};
  std::map<node_id, std::unique_ptr<node>> nodes{};

  /// Base configuration of node `id`: loopback, port 0, logs and deliveries captured.
  net::transport_config config(node_id id, node* n, std::string cluster_id = "c1") {
    net::transport_config c;
    c.self = id;
    c.cluster_id = std::move(cluster_id);
    c.listen = tcp::endpoint(loopback, 0);
    c.reconnect_initial = 10ms;
    c.reconnect_max = 100ms;
    c.seed = id;
    c.log = [n](std::string_view l) { n->logs.emplace_back(l); };
    c.on_message = [n](message m) { n->got.push_back(std::move(m)); };
    return c;
  }

  /// Adds node `id` with `cfg` (from config()) and starts it.
  node& add(node_id id, const std::function<void(net::transport_config&)>& tweak = {}) {
    auto n = std::make_unique<node>();
    auto cfg = config(id, n.get());
    if (tweak) tweak(cfg);
    n->t = std::make_unique<net::transport>(ioc.get_executor(), std::move(cfg));
    n->t->start();
    return *nodes.emplace(id, std::move(n)).first->second;
  }

  /// Tells every node where every other one listens.
  void wire() {
    for (auto& [a, na] : nodes) {
      for (auto& [b, nb] : nodes) {
        if (a != b) na->t->set_peer(b, nb->t->local_endpoint());
      }
    }
  }

  node& operator[](node_id id) { return *nodes.at(id); }

  /// Stops every node; true if every coroutine then finished in time.
  bool stop_all() {
    for (auto& [id, n] : nodes) n->t->stop();
    if (ioc.stopped()) ioc.restart();
    const auto end = std::chrono::steady_clock::now() + 5s;
    while (!ioc.stopped() && std::chrono::steady_clock::now() < end) ioc.run_for(10ms);
    return ioc.stopped();
  }
};

message msg(message_type type, node_id from, node_id to, std::uint64_t index = 0) {
  message m;
  m.type = type;
  m.from = from;
  m.to = to;
  m.term = 3;
  m.index = index;
  return m;
}

/// A raw client socket speaking to a transport by hand.
struct raw_client {
  explicit raw_client(asio::io_context& ioc, tcp::endpoint ep) : socket(ioc) { socket.connect(ep); }

  void write(const std::string& bytes) { asio::write(socket, asio::buffer(bytes)); }

  /// Reads until the peer closes (true) or `limit` passes (false); the bytes
  /// read before the close are in `received`.
  bool closed_by_peer(asio::io_context& ioc, std::chrono::milliseconds limit = 5s) {
    bool done = false;
    boost::system::error_code result;
    std::function<void()> read_more = [&] {
      socket.async_read_some(asio::buffer(buf), [&](boost::system::error_code ec, std::size_t n) {
        received.append(buf.data(), n);
        if (ec) {
          result = ec;
          done = true;
        } else {
          read_more();
        }
      });
    };
    read_more();
    const bool ok = run_until(ioc, [&] { return done; }, limit);
    if (!ok) {
      socket.close();
      run_until(ioc, [&] { return done; }, 1s);
    }
    return ok;
  }

  tcp::socket socket;
  std::array<char, 4096> buf{};
  std::string received{};
};

}  // namespace

TEST_CASE("transports exchange messages both ways, entries and snapshot chunks included") {
  cluster c;
  c.add(1);
  c.add(2);
  c.add(3);
  c.wire();

  message append = msg(message_type::append_entries, 1, 2, 10);
  append.entries = {entry{3, 11, entry_type::noop, ""}, entry{3, 12, entry_type::normal, "put x"},
                    entry{3, 13, entry_type::normal, std::string(100000, 'v')}};
  message chunk = msg(message_type::install_snapshot, 1, 3, 50);
  chunk.context = 4096;
  chunk.snapshot_size = 1 << 20;
  chunk.chunk = std::string(4096, 's');
  CHECK(c[1].t->send(append));
  CHECK(c[1].t->send(chunk));
  CHECK(c[2].t->send(msg(message_type::append_entries_resp, 2, 1, 13)));
  CHECK(c[3].t->send(msg(message_type::install_snapshot_resp, 3, 1, 50)));
  for (std::uint64_t i = 0; i < 200; ++i) CHECK(c[2].t->send(msg(message_type::heartbeat, 2, 3, i)));

  REQUIRE(run_until(c.ioc, [&] {
    return c[1].got.size() == 2 && c[2].got.size() == 1 && c[3].got.size() == 201;
  }));
  CHECK(c[2].got[0] == append);
  CHECK(c[1].got.size() == 2);
  bool chunk_seen = false;
  for (std::size_t i = 0, hb = 0; i < c[3].got.size(); ++i) {
    if (c[3].got[i].type == message_type::install_snapshot) {
      CHECK(c[3].got[i] == chunk);
      chunk_seen = true;
    } else {
      CAPTURE(i);
      CHECK(c[3].got[i].index == hb++);  // one connection per peer: order kept
    }
  }
  CHECK(chunk_seen);

  const auto s1 = c[1].t->stats();
  CHECK(s1.peers.at(2).connected);
  CHECK(s1.peers.at(2).sent == 1);
  CHECK(s1.peers.at(2).bytes_out > 100000);
  CHECK(s1.peers.at(2).received == 1);
  CHECK(s1.sent_by_type[static_cast<std::size_t>(message_type::install_snapshot)] == 1);
  CHECK(s1.received_by_type[static_cast<std::size_t>(message_type::install_snapshot_resp)] == 1);
  CHECK(c[3].peer(2).received == 200);
  CHECK(c[3].peer(2).inbound_connections == 1);
  CHECK(c[1].logged("connected to node 2"));

  CHECK(c.stop_all());
  CHECK_FALSE(c[1].t->send(msg(message_type::heartbeat, 1, 2)));
}

TEST_CASE("a peer started later is reached after reconnecting") {
  cluster c;
  const tcp::endpoint later = unused_endpoint(c.ioc);
  auto& n1 = c.add(1, [&](auto& cfg) { cfg.peers[2] = later; });
  CHECK(n1.t->send(msg(message_type::request_vote, 1, 2, 7)));
  REQUIRE(run_until(c.ioc, [&] { return n1.peer(2).reconnects >= 2; }));
  CHECK_FALSE(n1.peer(2).connected);
  CHECK_FALSE(n1.peer(2).last_error.empty());
  CHECK(n1.logged("cannot reach node 2"));

  auto& n2 = c.add(2, [&](auto& cfg) {
    cfg.listen = later;
    cfg.peers[1] = n1.t->local_endpoint();
  });
  REQUIRE(run_until(c.ioc, [&] { return n2.got.size() == 1; }));
  CHECK(n2.got[0] == msg(message_type::request_vote, 1, 2, 7));
  CHECK(n1.peer(2).connected);
  CHECK(c.stop_all());
}

TEST_CASE("a listen address in use throws a system_error naming it") {
  cluster c;
  auto& n1 = c.add(1);
  const auto ep = n1.t->local_endpoint();
  net::transport_config cfg = c.config(2, &n1);
  cfg.listen = ep;
  net::transport t2(c.ioc.get_executor(), cfg);
  try {
    t2.start();
    FAIL("start() did not throw");
  } catch (const boost::system::system_error& e) {
    CHECK(std::string(e.what()).find("127.0.0.1:" + std::to_string(ep.port())) != std::string::npos);
  }
  CHECK(c.stop_all());
}

TEST_CASE("handshakes from another cluster, an unknown node or for another node are refused") {
  cluster c;
  auto& n1 = c.add(1, [](auto& cfg) { cfg.peers[2] = tcp::endpoint(loopback, 1); });
  const auto ep1 = n1.t->local_endpoint();
  auto& other = c.add(2, [&](auto& cfg) {
    cfg.cluster_id = "c2";
    cfg.peers[1] = ep1;
  });
  auto& stranger = c.add(9, [&](auto& cfg) { cfg.peers[1] = ep1; });
  auto& misdialed = c.add(2 + 1000, [&](auto& cfg) { cfg.self = 2; cfg.peers[5] = ep1; });
  CHECK(other.t->send(msg(message_type::heartbeat, 2, 1)));
  CHECK(stranger.t->send(msg(message_type::heartbeat, 9, 1)));
  CHECK(misdialed.t->send(msg(message_type::heartbeat, 2, 5)));

  REQUIRE(run_until(c.ioc, [&] { return n1.t->stats().refused >= 3; }));
  CHECK(n1.logged("cluster 'c2', this node is in cluster 'c1'"));
  CHECK(n1.logged("unknown node id 9"));
  CHECK(n1.logged("this is node 1, not node 5"));
  REQUIRE(run_until(c.ioc, [&] {
    return other.peer(1).last_error.starts_with("refused: ") &&
           stranger.peer(1).last_error.starts_with("refused: ") &&
           misdialed.peer(5).last_error.starts_with("refused: ");
  }));
  CHECK(stranger.logged("unknown node id 9"));
  CHECK_FALSE(other.peer(1).connected);
  CHECK(n1.got.empty());
  CHECK(n1.peer(2).inbound_connections == 0);
  CHECK(c.stop_all());
}

TEST_CASE("malformed input closes that connection; the node keeps serving") {
  cluster c;
  auto& n1 = c.add(1, [](auto& cfg) {
    cfg.peers[3] = tcp::endpoint(loopback, 1);
    cfg.handshake_timeout = 200ms;
    cfg.max_frame_bytes = 1 << 16;
  });
  auto& n2 = c.add(2);
  c.wire();
  const auto ep1 = n1.t->local_endpoint();
  const std::string hello3 = net::encode_hello({net::protocol_version, "c1", 3, 1});

  struct row {
    const char* name;
    std::string bytes;
    const char* logged;
  };
  std::string huge_length("\xff\xff\xff\x7f\x04\x01", 6);
  std::string unknown_type = net::encode(msg(message_type::heartbeat, 3, 1));
  unknown_type[4] = 9;
  std::string truncated = net::encode(msg(message_type::heartbeat, 3, 1));
  truncated[0] = static_cast<char>(truncated[0] - 1);  // one byte short of its payload
  const std::vector<row> rows = {
      {"HTTP instead of hello", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "before hello"},
      {"oversized length after hello", hello3 + huge_length, "frame larger than the maximum"},
      {"unknown frame type", hello3 + unknown_type, "unknown frame type"},
      {"checksum of a shortened payload", hello3 + truncated + "\0\0\0\0", "checksum"},
      {"message from another node", hello3 + net::encode(msg(message_type::heartbeat, 2, 1)),
       "message from 2 to 1"},
      {"a second hello", hello3 + hello3, "frame type not expected"},
  };
  std::uint64_t malformed = 0;
  for (const auto& r : rows) {
    CAPTURE(r.name);
    raw_client raw(c.ioc, ep1);
    raw.write(r.bytes);
    CHECK(raw.closed_by_peer(c.ioc));
    CHECK(n1.logged(r.logged));
    CHECK(n1.t->stats().closed_malformed == ++malformed);
    CHECK(n1.got.empty());
    // The node still serves its real peer.
    const std::size_t before = n1.got.size();
    CHECK(n2.t->send(msg(message_type::heartbeat, 2, 1, malformed)));
    CHECK(run_until(c.ioc, [&] { return n1.got.size() == before + 1; }));
    n1.got.clear();
  }

  SUBCASE("a silent or slow client is dropped at the handshake timeout") {
    raw_client silent(c.ioc, ep1);
    raw_client slow(c.ioc, ep1);
    slow.write(hello3.substr(0, 7));
    CHECK(silent.closed_by_peer(c.ioc, 3s));
    CHECK(slow.closed_by_peer(c.ioc, 3s));
    CHECK(n1.logged("before hello: timed out"));
  }
  SUBCASE("another protocol version is refused by name") {
    raw_client raw(c.ioc, ep1);
    raw.write(net::encode_hello({2, "c1", 3, 1}));
    CHECK(raw.closed_by_peer(c.ioc));
    net::frame_decoder d;
    d.feed(raw.received);
    auto f = d.next();
    REQUIRE(f.has_value());
    REQUIRE(f->has_value());
    CHECK(net::decode_hello_refused(**f).value() == "protocol version 2, this node speaks 1");
  }
  SUBCASE("a well-behaved raw peer is answered hello_ok and heard") {
    raw_client raw(c.ioc, ep1);
    raw.write(hello3 + net::encode(msg(message_type::timeout_now, 3, 1)));
    REQUIRE(run_until(c.ioc, [&] { return n1.got.size() == 1; }));
    CHECK(n1.got[0].type == message_type::timeout_now);
    CHECK(n1.peer(3).inbound_connections == 1);
  }
  CHECK(c.stop_all());
}

TEST_CASE("a full queue drops and counts") {
  cluster c;
  const tcp::endpoint nowhere = unused_endpoint(c.ioc);
  SUBCASE("by messages") {
    auto& n1 = c.add(1, [&](auto& cfg) {
      cfg.peers[2] = nowhere;
      cfg.queue_messages_max = 10;
    });
    int accepted = 0;
    for (int i = 0; i < 15; ++i) accepted += n1.t->send(msg(message_type::heartbeat, 1, 2)) ? 1 : 0;
    CHECK(accepted == 10);
    CHECK(n1.peer(2).dropped_queue_full == 5);
    CHECK(n1.peer(2).queued == 10);
  }
  SUBCASE("by bytes, but one frame always fits an empty queue") {
    auto& n1 = c.add(1, [&](auto& cfg) {
      cfg.peers[2] = nowhere;
      cfg.queue_bytes_max = 1000;
    });
    message big = msg(message_type::install_snapshot, 1, 2);
    big.chunk = std::string(1500, 'x');
    message mid = msg(message_type::install_snapshot, 1, 2);
    mid.chunk = std::string(400, 'x');
    CHECK(n1.t->send(big));
    CHECK_FALSE(n1.t->send(mid));
    CHECK(n1.peer(2).dropped_queue_full == 1);
    CHECK(n1.peer(2).queued == 1);
  }
  SUBCASE("invalid sends: unknown peer, ourselves, a foreign sender, oversized") {
    auto& n1 = c.add(1, [&](auto& cfg) {
      cfg.peers[2] = nowhere;
      cfg.max_frame_bytes = 1000;
    });
    message big = msg(message_type::install_snapshot, 1, 2);
    big.chunk = std::string(1000, 'x');
    CHECK_FALSE(n1.t->send(msg(message_type::heartbeat, 1, 7)));
    CHECK_FALSE(n1.t->send(msg(message_type::heartbeat, 1, 1)));
    CHECK_FALSE(n1.t->send(msg(message_type::heartbeat, 4, 2)));
    CHECK_FALSE(n1.t->send(big));
    CHECK(n1.t->stats().dropped_invalid == 4);
    CHECK(n1.logged("larger than max_frame_bytes"));
  }
  CHECK(c.stop_all());
}

TEST_CASE("fault hooks") {
  cluster c;
  auto& n1 = c.add(1);
  auto& n2 = c.add(2);
  c.wire();
  // Both outbound connections up before faults are switched.
  REQUIRE(run_until(c.ioc, [&] { return n1.peer(2).connected && n2.peer(1).connected; }));
  // Sends a read_index and waits until it is delivered: everything sent
  // before it on that connection has been delivered (or dropped) by then.
  const auto marker = [&](node& from, node_id f, node& to, node_id t) {
    const auto markers = [&] {
      return std::count_if(to.got.begin(), to.got.end(),
                           [](const message& m) { return m.type == message_type::read_index; });
    };
    const auto before = markers();
    REQUIRE(from.t->send(msg(message_type::read_index, f, t, 999)));
    REQUIRE(run_until(c.ioc, [&] { return markers() == before + 1; }));
  };

  SUBCASE("cut in one direction only") {
    n1.t->cut(2, net::direction::out, true);
    CHECK(n1.t->faults().cut_out == std::set<node_id>{2});
    CHECK_FALSE(n1.t->send(msg(message_type::heartbeat, 1, 2)));
    CHECK(n1.peer(2).dropped_fault_out == 1);
    marker(n2, 2, n1, 1);  // the other direction still works
    n1.t->cut(2, net::direction::out, false);
    marker(n1, 1, n2, 2);
    CHECK(n2.got.size() == 1);  // only the marker: the cut message never left

    n1.t->cut(2, net::direction::in, true);
    CHECK(n2.t->send(msg(message_type::heartbeat, 2, 1)));
    REQUIRE(run_until(c.ioc, [&] { return n1.peer(2).dropped_fault_in == 1; }));
    marker(n1, 1, n2, 2);
    n1.t->cut(2, net::direction::both, false);
    CHECK(n1.t->faults() == net::fault_settings{});
    n1.got.clear();
    marker(n2, 2, n1, 1);
    CHECK(n1.got.size() == 1);
  }
  SUBCASE("isolate drops everything in and out") {
    n1.t->isolate(true);
    CHECK(n1.t->faults().isolated);
    CHECK_FALSE(n1.t->send(msg(message_type::heartbeat, 1, 2)));
    CHECK(n2.t->send(msg(message_type::heartbeat, 2, 1)));
    REQUIRE(run_until(c.ioc, [&] { return n1.peer(2).dropped_fault_in == 1; }));
    CHECK(n1.got.empty());
    n1.t->isolate(false);
    marker(n1, 1, n2, 2);
    marker(n2, 2, n1, 1);
    CHECK(n2.got.size() == 1);
    CHECK(n1.got.size() == 1);
  }
  SUBCASE("drop_per_mille 1000 drops all, 500 about half, 0 none") {
    n1.t->drop_per_mille(1000);
    int accepted = 0;
    for (int i = 0; i < 100; ++i) accepted += n1.t->send(msg(message_type::heartbeat, 1, 2)) ? 1 : 0;
    CHECK(accepted == 0);
    CHECK(n1.peer(2).dropped_fault_out == 100);
    n1.t->drop_per_mille(500);
    for (int i = 0; i < 1000; ++i) accepted += n1.t->send(msg(message_type::heartbeat, 1, 2)) ? 1 : 0;
    CHECK(accepted > 400);
    CHECK(accepted < 600);
    n1.t->drop_per_mille(0);
    marker(n1, 1, n2, 2);
    CHECK(n2.got.size() == static_cast<std::size_t>(accepted) + 1);
  }
  SUBCASE("delay holds arriving messages, a bounded number of them") {
    n2.t->delay(150ms);
    CHECK(n2.t->faults().delay == 150ms);
    const auto sent_at = std::chrono::steady_clock::now();
    CHECK(n1.t->send(msg(message_type::heartbeat, 1, 2, 1)));
    REQUIRE(run_until(c.ioc, [&] { return n2.peer(1).received == 1; }));
    CHECK(n2.got.empty());
    CHECK(n2.t->stats().held == 1);
    REQUIRE(run_until(c.ioc, [&] { return n2.got.size() == 1; }));
    CHECK(std::chrono::steady_clock::now() - sent_at >= 150ms);
    CHECK(n2.t->stats().held == 0);
  }
  SUBCASE("delay drops beyond delay_held_max") {
    c.nodes.erase(2);
    auto& n3 = c.add(3, [](auto& cfg) { cfg.delay_held_max = 2; });
    c.wire();
    n3.t->delay(10s);
    for (std::uint64_t i = 0; i < 5; ++i) CHECK(n1.t->send(msg(message_type::heartbeat, 1, 3, i)));
    REQUIRE(run_until(c.ioc, [&] { return n3.peer(1).received == 5; }));
    CHECK(n3.t->stats().held == 2);
    CHECK(n3.t->stats().dropped_delay_full == 3);
    CHECK(n3.got.empty());
  }
  CHECK(c.stop_all());
}
