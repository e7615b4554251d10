// Bodies for raftkv/server/options.hpp; compiled once by lib/server.cpp.
#pragma once

#include <raftkv/server/options.hpp>

#include <boost/program_options.hpp>

#include <charconv>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

namespace raftkv::server {

namespace {

template <class T>
T parse_number(const std::string& text, const char* what) {
  T v{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) {
    throw std::invalid_argument(std::string("bad ") + what + " '" + text + "'");
  }
  return v;
}

/// FNV-1a of the peer list: nodes started with the same --peers agree on it.
std::string derived_cluster_id(const std::map<core::node_id, host_port>& peers) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const auto& [id, hp] : peers) {
    for (char c : std::to_string(id) + "=" + hp.str() + ",") {
      h ^= static_cast<unsigned char>(c);
      h *= 0x100000001b3ULL;
    }
  }
  char buf[24];
  std::snprintf(buf, sizeof buf, "c%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace

std::uint16_t server_options::api_port_of(core::node_id node) const {
  if (node == id && api_port) return *api_port;
  return static_cast<std::uint16_t>(peers.at(node).port + 1000);
}

host_port parse_host_port(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    throw std::invalid_argument("expected HOST:PORT, got '" + text + "'");
  }
  host_port hp;
  hp.host = text.substr(0, colon);
  const auto port = parse_number<unsigned>(text.substr(colon + 1), "port");
  if (port == 0 || port > 65535) throw std::invalid_argument("port out of range in '" + text + "'");
  hp.port = static_cast<std::uint16_t>(port);
  return hp;
}

std::map<core::node_id, host_port> parse_peers(const std::string& text) {
  std::map<core::node_id, host_port> out;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    if (part.empty()) continue;
    const auto eq = part.find('=');
    if (eq == std::string::npos) throw std::invalid_argument("expected ID=HOST:PORT, got '" + part + "'");
    const auto id = parse_number<core::node_id>(part.substr(0, eq), "node id");
    if (id == 0) throw std::invalid_argument("node ids start at 1, got '" + part + "'");
    if (!out.emplace(id, parse_host_port(part.substr(eq + 1))).second) {
      throw std::invalid_argument("node " + std::to_string(id) + " is listed twice");
    }
  }
  if (out.empty()) throw std::invalid_argument("--peers lists no node");
  return out;
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.starts_with("127.") || host == "::1";
}

parse_result parse_server_options(int argc, const char* const argv[], bool stdout_is_tty) {
  namespace po = boost::program_options;
  server_options o;
  std::string peers_text;
  int api_port = 0;
  bool no_admin = false;
  po::options_description desc(
      "raftkv-server: one Raft node of a replicated key-value store.\n\n"
      "Example (three terminals):\n"
      "  raftkv-server --id 1 --peers 1=127.0.0.1:6001,2=127.0.0.1:6002,3=127.0.0.1:6003\n"
      "  (node 1 talks Raft on 6001 and serves the HTTP API on 7001)\n\nOptions");
  desc.add_options()
      ("help,h", "show this help and exit")
      ("version", "show the version and exit")
      ("id", po::value(&o.id)->required(), "this node's id (one of --peers)")
      ("peers", po::value(&peers_text)->required(), "every node: ID=HOST:PORT,... (Raft peer ports)")
      ("api-port", po::value(&api_port), "client HTTP port (default: peer port + 1000)")
      ("data-dir", po::value(&o.data_dir), "data directory (default: ./data/node-<id>)")
      ("cluster-id", po::value(&o.cluster_id), "cluster name recorded in the data directory (default: derived from --peers)")
      ("headless", po::bool_switch(&o.headless), "no TUI; log to stderr (default when stdin or stdout is not a terminal)")
      ("log-file", po::value(&o.log_file), "write the log here instead of stderr")
      ("tick-ms", po::value(&o.tick_ms)->default_value(100), "milliseconds per Raft tick")
      ("heartbeat-ticks", po::value(&o.heartbeat_ticks)->default_value(3), "leader heartbeat interval, in ticks")
      ("election-ticks", po::value(&o.election_ticks)->default_value(10), "election timeout, in ticks (randomized up to twice this)")
      ("snapshot-entries", po::value(&o.snapshot_entries)->default_value(10000), "applied entries between snapshots, at least (a large store also waits until the writes since the last snapshot amount to a quarter of its size)")
      ("compact-keep", po::value(&o.compact_keep)->default_value(1000), "log entries kept behind a snapshot")
      ("max-body-bytes", po::value(&o.max_body_bytes)->default_value(1 << 20), "largest HTTP request body")
      ("request-timeout-ms", po::value(&o.request_timeout_ms)->default_value(5000), "a request not answered by then gets 504")
      ("delay-ms", po::value(&o.delay_ms)->default_value(0), "hold incoming peer messages this long from the start (slow motion; 0..60000)")
      ("admin-token", po::value(&o.admin_token), "require 'Authorization: Bearer TOKEN' on the admin and fault routes (/v1/admin/...); also read from RAFTKV_ADMIN_TOKEN")
      ("no-admin", po::bool_switch(&no_admin), "turn the admin and fault routes off (403). Without either flag they are open on a loopback address and off on any other")
      ("max-connections", po::value(&o.max_connections)->default_value(1024), "open client HTTP connections at most (1..65536); more are closed at once and counted");
  try {
    po::variables_map vm;
    po::store(po::parse_command_line(argc, argv, desc), vm);
    if (vm.count("help") != 0) {
      std::ostringstream s;
      s << desc << "\n";
      return parse_exit{0, s.str()};
    }
    if (vm.count("version") != 0) return parse_exit{0, "raftkv-server 0.1.0\n"};
    po::notify(vm);
    o.peers = parse_peers(peers_text);
    if (o.peers.count(o.id) == 0) {
      throw std::invalid_argument("--id " + std::to_string(o.id) + " is not one of --peers");
    }
    if (vm.count("api-port") != 0) {
      if (api_port <= 0 || api_port > 65535) throw std::invalid_argument("--api-port out of range");
      o.api_port = static_cast<std::uint16_t>(api_port);
    } else if (o.self().port > 65535 - 1000) {
      throw std::invalid_argument("peer port " + std::to_string(o.self().port) +
                                  " + 1000 is not a port; give --api-port");
    }
    if (o.tick_ms < 1) throw std::invalid_argument("--tick-ms must be at least 1");
    if (o.heartbeat_ticks < 1 || o.election_ticks <= o.heartbeat_ticks) {
      throw std::invalid_argument("need 1 <= --heartbeat-ticks < --election-ticks");
    }
    if (o.delay_ms < 0 || o.delay_ms > 60000) throw std::invalid_argument("--delay-ms must be in 0..60000");
    if (o.request_timeout_ms < 1) throw std::invalid_argument("--request-timeout-ms must be positive");
    if (o.max_connections < 1 || o.max_connections > 65536) throw std::invalid_argument("--max-connections must be in 1..65536");
    if (o.admin_token.empty()) {
      if (const char* env = std::getenv("RAFTKV_ADMIN_TOKEN"); env != nullptr) o.admin_token = env;
    }
    if (no_admin && !o.admin_token.empty()) throw std::invalid_argument("--no-admin and --admin-token exclude each other");
    if (!o.admin_token.empty() && o.admin_token.size() < 8) throw std::invalid_argument("--admin-token must be at least 8 characters");
    o.admin = no_admin ? admin_access::off
            : !o.admin_token.empty() ? admin_access::token
            : is_loopback(o.self().host) ? admin_access::open
                                         : admin_access::off;
    if (o.data_dir.empty()) o.data_dir = "./data/node-" + std::to_string(o.id);
    if (o.cluster_id.empty()) o.cluster_id = derived_cluster_id(o.peers);
    if (!stdout_is_tty) o.headless = true;
  } catch (const std::exception& e) {
    return parse_exit{2, std::string("raftkv-server: ") + e.what() + " (try --help)\n"};
  }
  return o;
}

}  // namespace raftkv::server
