// bench/storage_bench.cpp: the durability figures in docs/benchmarks.md.
//
//   1. the disk's raw fsync latency: append 4 KiB, fdatasync, repeated;
//   2. group commit under a proposal burst: a one-node replica whose writes
//      run on a storage::sync_thread while proposals keep arriving, from 1,
//      16 or 256 closed-loop clients or open loop; reports entries per sync
//      and syncs per second;
//   3. start-up: a data directory holding a snapshot that covers 1,000,000
//      entries (1,000,000 keys) plus 100,000 entries in the WAL; time from
//      replica::open() to the state machine having applied the commit index.
//
// Not a test: it asserts nothing about speed, it measures and prints. Run it
// on the disk you care about (--dir); a tmpfs makes fsync free.
#include <raftkv/kv/command.hpp>
#include <raftkv/server/replica.hpp>
#include <raftkv/storage/writer.hpp>

#include <boost/program_options.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace po = boost::program_options;
using namespace raftkv;
using clock_type = std::chrono::steady_clock;

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

std::string key_of(std::uint64_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "key-%012llu", static_cast<unsigned long long>(i));
  return buf;  // 16 bytes
}

std::string put(std::uint64_t i, std::size_t value_bytes) {
  return kv::encode(kv::command{.op = kv::op_kind::put,
                                .key = key_of(i),
                                .value = std::string(value_bytes, static_cast<char>('a' + i % 26))});
}

void raw_fsync(const fs::path& dir, int rounds) {
  const fs::path file = dir / "fsync-probe";
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot create " + file.string());
  const std::string block(4096, 'x');
  std::vector<double> lat;
  for (int i = 0; i < rounds; ++i) {
    const auto t0 = clock_type::now();
    if (::write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size()) || ::fdatasync(fd) != 0) {
      ::close(fd);
      throw std::runtime_error("write/fdatasync failed on " + file.string());
    }
    lat.push_back(ms_since(t0));
  }
  ::close(fd);
  fs::remove(file);
  std::printf("raw fsync (4 KiB append + fdatasync, %d rounds): median %.3f ms, p90 %.3f ms, p99 %.3f ms"
              " -> at most %.0f syncs/s one after another\n",
              rounds, percentile(lat, 0.5), percentile(lat, 0.9), percentile(lat, 0.99),
              1000.0 / percentile(lat, 0.5));
}

server::replica_options one_node(const fs::path& dir) {
  server::replica_options o;
  o.raft.id = 1;
  o.raft.voters = {1};
  o.raft.record_events = false;
  o.data_dir = dir;
  o.cluster_id = "bench";
  o.snapshot_entries = 0;  // measure the WAL alone
  o.snapshot_bytes = 0;
  return o;
}

void settle(server::replica& r) {
  while (auto c = r.begin()) {
    r.write(c->job);
    r.finish(*c);
  }
}

/// `n` proposals with at most `clients` of them unapplied at a time (each
/// client waits for its write before sending the next), or as many as the
/// core admits when `clients` is 0.
void burst(const fs::path& dir, std::uint64_t n, std::size_t value_bytes, std::uint64_t clients) {
  auto rep = server::replica::open(one_node(dir));
  (void)rep->raft().campaign();
  settle(*rep);
  if (rep->raft().state() != core::role::leader) throw std::runtime_error("the one node did not lead");
  const auto syncs0 = rep->disk_stats().wal.syncs;
  storage::sync_thread disk(4);
  std::atomic<bool> written{false};
  std::optional<server::cycle> cur;
  std::vector<double> batch;
  std::uint64_t proposed = 0, applied = 0, refused = 0;
  const auto t0 = clock_type::now();
  while (applied < n) {
    while (proposed < n && (clients == 0 || proposed < applied + clients)) {
      if (!rep->raft().propose(put(proposed, value_bytes))) {
        ++refused;  // too many uncommitted entries: the bound pushes back
        break;
      }
      ++proposed;
    }
    if (!cur) {
      cur = rep->begin();
      if (cur) {
        written.store(false, std::memory_order_relaxed);
        server::cycle* c = &*cur;
        server::replica* r = rep.get();
        if (!disk.try_submit([c, r, &written] {
              r->write(c->job);
              written.store(true, std::memory_order_release);
            })) {
          throw std::runtime_error("sync_thread queue full");
        }
      }
    } else if (written.load(std::memory_order_acquire)) {
      if (!cur->job.batch.entries.empty()) batch.push_back(static_cast<double>(cur->job.batch.entries.size()));
      applied += rep->finish(*cur).applied.size();
      cur.reset();
    } else {
      std::this_thread::yield();
    }
  }
  const double ms = ms_since(t0);
  const auto syncs = rep->disk_stats().wal.syncs - syncs0;
  const std::string who = clients == 0 ? std::string("open loop: as fast as the core admits")
                                       : std::to_string(clients) + " clients, one write outstanding each";
  std::printf("proposal burst (%llu puts of %zu-byte values, %s; one node, writes on a sync thread): %.0f ms,"
              " %.0f entries/s; %llu syncs = %.0f syncs/s; entries per sync: mean %.1f, median %.0f,"
              " max %.0f; proposals refused by the uncommitted bound: %llu\n",
              static_cast<unsigned long long>(n), value_bytes, who.c_str(), ms,
              static_cast<double>(n) * 1000.0 / ms,
              static_cast<unsigned long long>(syncs), static_cast<double>(syncs) * 1000.0 / ms,
              static_cast<double>(n) / static_cast<double>(std::max<std::uint64_t>(syncs, 1)),
              percentile(batch, 0.5), percentile(batch, 1.0), static_cast<unsigned long long>(refused));
}

void build_startup_dir(const fs::path& dir, std::uint64_t snap_entries, std::uint64_t wal_entries) {
  kv::state_machine sm;
  for (std::uint64_t i = 1; i <= snap_entries; ++i) sm.apply(i, put(i, 32));
  auto data = std::make_shared<const std::string>(sm.serialize());
  const core::snapshot snap{{1, snap_entries}, data};
  auto d = storage::disk::open(dir, {"bench", 1}, {});
  d.write({.restored = snap, .hard = core::hard_state{1, 1, snap_entries}});
  const std::uint64_t last = snap_entries + wal_entries;
  for (std::uint64_t first = snap_entries + 1; first <= last; first += 10000) {
    storage::write_batch b;
    for (std::uint64_t i = first; i < std::min(first + 10000, last + 1); ++i) {
      b.entries.push_back(core::entry{.term = 1, .index = i, .data = put(i, 32)});
    }
    b.hard = core::hard_state{1, 1, b.entries.back().index};
    d.write(b);
  }
  std::printf("start-up data: snapshot of %llu keys (%.1f MB) through index %llu, %llu entries in the WAL\n",
              static_cast<unsigned long long>(sm.size()), static_cast<double>(data->size()) / 1e6,
              static_cast<unsigned long long>(snap_entries), static_cast<unsigned long long>(wal_entries));
}

void startup(const fs::path& dir, std::uint64_t snap_entries, std::uint64_t wal_entries, int runs) {
  build_startup_dir(dir, snap_entries, wal_entries);
  std::vector<double> open_ms, total_ms;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = clock_type::now();
    auto rep = server::replica::open(one_node(dir));
    open_ms.push_back(ms_since(t0));
    settle(*rep);
    total_ms.push_back(ms_since(t0));
    if (rep->state().applied_index() != snap_entries + wal_entries) {
      throw std::runtime_error("start-up did not apply up to the commit index");
    }
  }
  std::printf("start-up (%d runs): open+recover median %.0f ms (min %.0f), ready to serve (applied to"
              " commit) median %.0f ms (min %.0f, max %.0f)\n",
              runs, percentile(open_ms, 0.5), percentile(open_ms, 0.0), percentile(total_ms, 0.5),
              percentile(total_ms, 0.0), percentile(total_ms, 1.0));
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description desc("raftkv storage benchmark");
  std::string dir_arg;
  std::uint64_t burst_n = 0, snap_n = 0, wal_n = 0;
  int runs = 0, fsync_rounds = 0;
  desc.add_options()("help,h", "show this help")(
      "dir", po::value(&dir_arg)->default_value(""), "scratch directory on the disk to measure (default: a new one under the system temp dir)")(
      "fsync-rounds", po::value(&fsync_rounds)->default_value(500), "raw fsync samples")(
      "burst", po::value(&burst_n)->default_value(100000), "proposals in the burst")(
      "startup-snapshot", po::value(&snap_n)->default_value(1000000), "entries (keys) behind the snapshot")(
      "startup-wal", po::value(&wal_n)->default_value(100000), "entries in the WAL after it")(
      "runs", po::value(&runs)->default_value(5), "start-up repetitions");
  try {
    po::variables_map vm;
    po::store(po::parse_command_line(argc, argv, desc), vm);
    if (vm.count("help") != 0) {
      std::cout << desc << "\n";
      return 0;
    }
    po::notify(vm);
    const fs::path base = dir_arg.empty()
                              ? fs::temp_directory_path() / ("raftkv-bench-" + std::to_string(::getpid()))
                              : fs::path(dir_arg);
    fs::create_directories(base);
    std::printf("scratch directory: %s\n", base.c_str());
    raw_fsync(base, fsync_rounds);
    for (std::uint64_t clients : {std::uint64_t{1}, std::uint64_t{16}, std::uint64_t{256}, std::uint64_t{0}}) {
      const std::uint64_t n = clients == 1 ? std::min<std::uint64_t>(burst_n, 2000) : burst_n;
      burst(base / ("burst-" + std::to_string(clients)), n, 100, clients);
      fs::remove_all(base / ("burst-" + std::to_string(clients)));
    }
    startup(base / "startup", snap_n, wal_n, runs);
    fs::remove_all(base / "startup");
    if (dir_arg.empty()) fs::remove_all(base);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "raftkv-storage-bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
