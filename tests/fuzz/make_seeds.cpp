// Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/)
// from the library's own encoders, so the seeds are valid inputs the fuzzer
// mutates from. Usage: raftkv-fuzz-seeds DIR (scripts/fuzz.sh --seeds runs it).
#include <raftkv/core/types.hpp>
#include <raftkv/kv/command.hpp>
#include <raftkv/kv/state_machine.hpp>
#include <raftkv/net/frame.hpp>
#include <raftkv/storage/snapshot_file.hpp>
#include <raftkv/storage/wal.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace raftkv;

void spit(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<core::entry> entries(core::term_t term, core::index_t from, core::index_t to) {
  std::vector<core::entry> out;
  for (core::index_t i = from; i <= to; ++i) {
    out.push_back({.term = term, .index = i, .type = core::entry_type::normal,
                   .data = kv::encode(kv::command{.client_id = 7, .seq = i, .op = kv::op_kind::put,
                                                  .key = "k" + std::to_string(i % 5), .value = "v"})});
  }
  return out;
}

void frames(const fs::path& dir) {
  using core::message_type;
  const std::string hello = net::encode_hello({.cluster_id = "fuzz", .from = 2, .to = 1});
  std::vector<core::message> ms = {
      {.type = message_type::request_vote, .from = 2, .to = 1, .term = 3, .log_term = 2, .index = 9},
      {.type = message_type::append_entries, .from = 2, .to = 1, .term = 3, .log_term = 2, .index = 4,
       .commit = 4, .entries = entries(3, 5, 7)},
      {.type = message_type::append_entries_resp, .from = 1, .to = 2, .term = 3, .index = 7, .reject = true,
       .reject_hint = 5},
      {.type = message_type::heartbeat, .from = 2, .to = 1, .term = 3, .commit = 7, .context = 11},
      {.type = message_type::read_index, .from = 1, .to = 2, .term = 3, .context = 42},
      {.type = message_type::install_snapshot, .from = 2, .to = 1, .term = 3, .log_term = 3, .index = 20,
       .context = 0, .snapshot_size = 10, .chunk = "0123456789"},
  };
  std::string all = std::string(1, '\x07') + hello;  // first byte: the read size
  for (std::size_t i = 0; i < ms.size(); ++i) {
    const std::string f = net::encode(ms[i]);
    spit(dir / ("message-" + std::to_string(i)), std::string(1, static_cast<char>(i * 9)) + f);
    all += f;
  }
  spit(dir / "hello-then-messages", all);
  spit(dir / "hello-ok", std::string(1, '\x3f') + net::encode_hello_ok());
  spit(dir / "hello-refused", std::string(1, '\x01') + net::encode_hello_refused("wrong cluster"));
}

void wal(const fs::path& dir, const fs::path& scratch) {
  for (int variant = 0; variant < 2; ++variant) {
    const fs::path d = scratch / ("wal-" + std::to_string(variant));
    fs::remove_all(d);
    fs::create_directories(d);
    storage::wal_options o;
    o.preallocate = false;
    o.segment_bytes_max = variant == 0 ? (1 << 20) : 600;
    storage::wal_contents c;
    {
      storage::wal w = storage::wal::open(d, o, c);
      w.append(entries(1, 1, 6));
      w.set_hard_state({1, 1, 4});
      w.append(entries(2, 5, 9));  // a higher-term suffix replacing entries 5 and 6
      w.set_hard_state({2, 2, 8});
      w.sync();
    }
    std::vector<fs::path> segs;
    for (const auto& f : fs::directory_iterator(d)) {
      if (f.path().extension() == ".log") segs.push_back(f.path());
    }
    std::sort(segs.begin(), segs.end());
    std::string first = slurp(segs.front());
    if (variant == 0 || segs.size() < 2) {
      spit(dir / ("segment-" + std::to_string(variant)), std::string(2, '\0') + first);
    } else {
      const std::size_t split = first.size();
      std::string two = {static_cast<char>(split >> 8), static_cast<char>(split & 0xff)};
      spit(dir / "two-segments", two + first + slurp(segs[1]));
    }
  }
}

void snapshots(const fs::path& dir, const fs::path& scratch) {
  kv::state_machine sm;
  core::index_t i = 0;
  for (const char* k : {"a", "b", "c", "user/1"}) {
    ++i;
    sm.apply(i, kv::encode(kv::command{.client_id = 9, .seq = i, .op = kv::op_kind::put, .key = k, .value = "value"}));
  }
  sm.apply(++i, kv::encode(kv::command{.op = kv::op_kind::del, .key = "b"}));
  sm.apply(++i, kv::encode(kv::command{.client_id = 11, .seq = 1, .op = kv::op_kind::put, .key = "c", .value = "x",
                                       .expected = 3}));
  const std::string data = sm.serialize();
  spit(dir / "kv-state", std::string(1, '\0') + data);
  spit(dir / "kv-empty", std::string(1, '\0') + kv::state_machine().serialize());
  fs::create_directories(scratch);
  const fs::path file = storage::write_snapshot_file(scratch, {{3, 17}, std::make_shared<const std::string>(data)});
  spit(dir / "file", std::string(1, '\1') + slurp(file));
}

void http(const fs::path& dir) {
  const std::vector<std::pair<std::string, std::string>> reqs = {
      {"status", "GET /v1/status?log=5&keys=5&events=5 HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"put", "PUT /v1/kv/greeting HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"},
      {"put-json", "PUT /v1/kv/a%2Fb HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                   "17\r\n\r\n{\"value\":\"hello\"}"},
      {"put-session", "PUT /v1/kv/s HTTP/1.1\r\nHost: x\r\nX-Raftkv-Client: 42\r\nX-Raftkv-Seq: 1\r\n"
                      "Content-Length: 1\r\n\r\nv"},
      {"cas", "PUT /v1/kv/lock?cas=0 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nme"},
      {"get", "GET /v1/kv/greeting HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"get-stale", "GET /v1/kv/greeting?consistency=stale HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"list", "GET /v1/kv?prefix=g&limit=3 HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"delete", "DELETE /v1/kv/greeting?cas=3 HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"metrics", "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"chunked", "PUT /v1/kv/c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"},
      {"pipelined", "GET /v1/kv/a HTTP/1.1\r\nHost: x\r\n\r\nPUT /v1/kv/a HTTP/1.1\r\nHost: x\r\n"
                    "Content-Length: 1\r\n\r\n1GET /v1/kv/a HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"admin-snapshot", "POST /v1/admin/snapshot HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"bad-method", "PATCH /v1/kv/a HTTP/1.1\r\nHost: x\r\n\r\n"},
  };
  for (const auto& [name, r] : reqs) spit(dir / name, r);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: raftkv-fuzz-seeds DIR\n");
    return 2;
  }
  const fs::path out = argv[1];
  const fs::path scratch = fs::temp_directory_path() / ("raftkv-fuzz-seeds-" + std::to_string(::getpid()));
  frames(out / "frame");
  wal(out / "wal", scratch);
  snapshots(out / "snapshot", scratch);
  http(out / "http");
  fs::remove_all(scratch);
  std::printf("seeds written to %s\n", out.c_str());
  return 0;
}
