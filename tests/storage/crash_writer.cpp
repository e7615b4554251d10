// The process the crash test kills: opens a data directory, then forever
// writes batches (appends, higher-term suffix replacements, hard states, own
// snapshots with compaction, snapshots "from the leader"), one sync each,
// printing one "ack ..." line after each sync. Usage: crash_writer DIR SEED.
// Entry and snapshot data derive from term and index (support.hpp).
#include <storage/support.hpp>

#include <raftkv/storage/disk.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <random>
#include <vector>

namespace {

using namespace raftkv::storage;
using namespace raftkv::storage::test;
using raftkv::core::hard_state;
using raftkv::core::index_t;
using raftkv::core::term_t;

/// The writer's view of its log.
struct log_model {
  index_t snap_index = 0;
  term_t snap_term = 0;
  std::vector<term_t> terms{};  ///< terms[k] is the term of entry snap_index + 1 + k
  hard_state hs{};

  index_t last() const { return snap_index + terms.size(); }
  term_t term_at(index_t i) const { return i == snap_index ? snap_term : terms[i - snap_index - 1]; }
};

void ack(const char* line) {
  std::fputs(line, stdout);
  std::fflush(stdout);
}

void step(disk& d, log_model& m, std::mt19937_64& rng) {
  char line[200];
  const unsigned r = static_cast<unsigned>(rng() % 100);
  const index_t floor = std::max(m.hs.commit, m.snap_index);
  if (m.hs.term == 0) m.hs.term = 1;
  if (r < 55 || m.last() == 0) {
    const index_t first = m.last() + 1;
    const index_t last = first + rng() % 30;
    for (index_t i = first; i <= last; ++i) m.terms.push_back(m.hs.term);
    m.hs.commit += rng() % (m.last() - m.hs.commit + 1);
    d.write({.hard = m.hs, .entries = make_entries(m.hs.term, first, last)});
    std::snprintf(line, sizeof line, "ack append %llu %llu %llu %llu %llu %llu\n",
                  (unsigned long long)m.hs.term, (unsigned long long)first, (unsigned long long)last,
                  (unsigned long long)m.hs.term, (unsigned long long)m.hs.vote,
                  (unsigned long long)m.hs.commit);
  } else if (r < 72 && m.last() > floor) {
    const index_t from = floor + 1 + rng() % (m.last() - floor);
    const index_t last = from + rng() % 20;
    m.hs = {m.hs.term + 1, 1 + rng() % 3, m.hs.commit};
    m.terms.resize(from - m.snap_index - 1);
    for (index_t i = from; i <= last; ++i) m.terms.push_back(m.hs.term);
    d.write({.hard = m.hs, .entries = make_entries(m.hs.term, from, last)});
    std::snprintf(line, sizeof line, "ack append %llu %llu %llu %llu %llu %llu\n",
                  (unsigned long long)m.hs.term, (unsigned long long)from, (unsigned long long)last,
                  (unsigned long long)m.hs.term, (unsigned long long)m.hs.vote,
                  (unsigned long long)m.hs.commit);
  } else if (r < 80) {
    m.hs = {m.hs.term + 1, 1 + rng() % 3, m.hs.commit};
    d.write({.hard = m.hs});
    std::snprintf(line, sizeof line, "ack hard %llu %llu %llu\n", (unsigned long long)m.hs.term,
                  (unsigned long long)m.hs.vote, (unsigned long long)m.hs.commit);
  } else if (r < 93) {
    if (m.hs.commit <= m.snap_index) return;
    const index_t i = m.hs.commit;
    d.save_snapshot(make_snapshot(m.term_at(i), i));
    d.compact(i);
    std::snprintf(line, sizeof line, "ack snapshot %llu %llu\n", (unsigned long long)m.term_at(i),
                  (unsigned long long)i);
  } else {
    const term_t t = m.hs.term + 1;
    const index_t i = m.last() + 1 + rng() % 10;
    m.hs = {t, 0, i};
    d.write({.restored = make_snapshot(t, i), .hard = m.hs});
    m.snap_index = i;
    m.snap_term = t;
    m.terms.clear();
    std::snprintf(line, sizeof line, "ack restore %llu %llu\n", (unsigned long long)t, (unsigned long long)i);
  }
  ack(line);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: crash_writer DIR SEED\n");
    return 2;
  }
  try {
    options o;
    o.wal.segment_bytes_max = 4096;
    disk d = disk::open(argv[1], identity{"crash", 1}, o);
    const recovered& r = d.recovered_state();
    log_model m;
    m.snap_index = r.snap.last.index;
    m.snap_term = r.snap.last.term;
    for (const auto& e : r.entries) m.terms.push_back(e.term);
    m.hs = r.hard;
    std::mt19937_64 rng(std::strtoull(argv[2], nullptr, 10));
    ack("ready\n");
    for (;;) step(d, m, rng);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "crash_writer: %s\n", e.what());
    return 1;
  }
}
