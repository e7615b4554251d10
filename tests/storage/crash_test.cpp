// Crash test with real processes: starts crash_writer (fork + exec, stdout
// through a pipe), reads its acks, SIGKILLs it at a seeded random moment,
// then recovers a copy of the directory and checks that every acknowledged
// entry survived (or was superseded by a higher-term entry written later),
// that the log is consecutive with the right data, and that the hard state
// is sane. RAFTKV_CRASH_KILLS sets the number of kills (default 100),
// RAFTKV_CRASH_SEED replays one run.
#include <doctest/doctest.h>

#include <storage/support.hpp>

#include <raftkv/storage/disk.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <sstream>
#include <string>

namespace {

using namespace raftkv::storage;
using namespace raftkv::storage::test;
using raftkv::core::entry_id;
using raftkv::core::hard_state;
using raftkv::core::index_t;
using raftkv::core::term_t;

/// A running crash_writer; killed and reaped on destruction, also when a check fails.
class child {
 public:
  child(const std::string& exe, const fs::path& dir, std::uint64_t seed) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const std::string seed_text = std::to_string(seed);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::dup2(fds[1], STDOUT_FILENO);
      ::close(fds[0]);
      ::close(fds[1]);
      ::execl(exe.c_str(), exe.c_str(), dir.c_str(), seed_text.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[1]);
    fd_ = fds[0];
  }
  ~child() {
    kill_and_wait();
    if (fd_ >= 0) ::close(fd_);
  }
  child(const child&) = delete;
  child& operator=(const child&) = delete;

  /// The next line of output; nullopt at EOF or after 20 s of silence.
  std::optional<std::string> read_line() {
    for (;;) {
      const std::size_t nl = buf_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return line;
      }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20000) <= 0) return std::nullopt;
      char tmp[4096];
      const ssize_t n = ::read(fd_, tmp, sizeof tmp);
      if (n <= 0) return std::nullopt;
      buf_.append(tmp, static_cast<std::size_t>(n));
    }
  }

  /// SIGKILLs and reaps the child; returns its wait status (0 if already reaped).
  int kill_and_wait() {
    if (pid_ <= 0) return 0;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;   ///< running child, or -1 once reaped
  int fd_ = -1;      ///< read end of its stdout
  std::string buf_;  ///< bytes read but not yet returned as lines
};

/// What the writer has acknowledged.
struct acked {
  entry_id snap{};
  std::map<index_t, term_t> log{};  ///< acknowledged entries after snap
  hard_state hs{};

  void apply(const std::string& line) {
    std::istringstream in(line);
    std::string word, kind;
    in >> word >> kind;
    REQUIRE(word == "ack");
    if (kind == "append") {
      term_t t = 0;
      index_t first = 0, last = 0;
      in >> t >> first >> last >> hs.term >> hs.vote >> hs.commit;
      log.erase(log.lower_bound(first), log.end());
      for (index_t i = first; i <= last; ++i) log[i] = t;
    } else if (kind == "hard") {
      in >> hs.term >> hs.vote >> hs.commit;
    } else if (kind == "snapshot") {
      entry_id s;
      in >> s.term >> s.index;
      if (s.index > snap.index) snap = s;
    } else if (kind == "restore") {
      in >> snap.term >> snap.index;
      log.clear();
      hs = {snap.term, 0, snap.index};
    } else {
      FAIL("unknown ack: " << line);
    }
    REQUIRE_FALSE(in.fail());
  }
};

/// Recovers `dir` and checks it against what was acknowledged; returns the
/// recovered state as the new acknowledged baseline.
acked check_recovery(const fs::path& dir, const acked& m, std::map<std::string, int>& warnings) {
  options o;
  o.wal.segment_bytes_max = 4096;
  std::optional<disk> d;
  try {
    d.emplace(disk::open(dir, identity{"crash", 1}, o));
  } catch (const storage_error& e) {
    FAIL("recovery failed: " << e.what());
  }
  const recovered& r = d->recovered_state();
  for (const std::string& w : r.warnings)
    for (const char* kind : {"torn", "interrupted cut", "superseded", "restarts after", "term raised"})
      warnings[kind] += w.find(kind) != std::string::npos ? 1 : 0;
  const index_t s = r.snap.last.index;
  CHECK(s >= m.snap.index);
  if (s == m.snap.index) CHECK(r.snap.last.term == m.snap.term);
  if (s != 0) CHECK(*r.snap.data == snapshot_data(r.snap.last));
  std::map<index_t, term_t> got;
  term_t max_term = r.snap.last.term;
  for (std::size_t k = 0; k < r.entries.size(); ++k) {
    const auto& e = r.entries[k];
    CAPTURE(e.index);
    REQUIRE(e.index == s + 1 + k);
    CHECK(e.data == entry_data(e.term, e.index));
    got[e.index] = e.term;
    max_term = std::max(max_term, e.term);
  }
  const index_t last = r.entries.empty() ? s : r.entries.back().index;
  for (const auto& [i, t] : m.log) {
    if (i <= s) continue;
    CAPTURE(i);
    CAPTURE(t);
    auto it = got.find(i);
    if (it != got.end()) {
      CHECK(it->second >= t);  // equal, or replaced by a higher-term write in flight
      continue;
    }
    bool superseded = false;  // a shorter higher-term suffix replaced it
    for (const auto& [j, tj] : got) {
      auto mj = m.log.find(j);
      superseded |= mj != m.log.end() && tj > mj->second;
    }
    CHECK(superseded);
  }
  CHECK(r.hard.term >= m.hs.term);
  if (r.hard.term == m.hs.term) CHECK(r.hard.vote == m.hs.vote);
  CHECK(r.hard.commit >= m.hs.commit);
  CHECK(r.hard.commit <= last);
  CHECK(r.hard.term >= max_term);
  return acked{r.snap.last, got, r.hard};
}

std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

}  // namespace

TEST_CASE("acknowledged writes survive SIGKILL at random moments") {
  const char* exe = std::getenv("RAFTKV_CRASH_WRITER");
  REQUIRE_MESSAGE(exe != nullptr, "RAFTKV_CRASH_WRITER names the crash_writer executable");
  const std::uint64_t seed = env_or("RAFTKV_CRASH_SEED", std::random_device{}());
  const std::uint64_t kills = env_or("RAFTKV_CRASH_KILLS", 100);
  MESSAGE("crash test seed " << seed << " (replay with RAFTKV_CRASH_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  temp_dir t;
  const fs::path dir = t.path() / "node";
  acked model;
  std::map<std::string, int> warnings;  // recovery warnings by kind, for the summary
  std::uint64_t done = 0;
  std::uint64_t acks = 0;
  const auto start = std::chrono::steady_clock::now();
  const auto budget = std::chrono::seconds(50);
  for (; done < kills && std::chrono::steady_clock::now() - start < budget; ++done) {
    CAPTURE(done);
    {
      child c(exe, dir, rng());
      if (rng() % 8 != 0) {  // otherwise: kill at once, maybe during recovery
        const auto ready = c.read_line();
        REQUIRE_MESSAGE(ready == std::optional<std::string>("ready"), "crash_writer did not start");
        for (std::uint64_t n = rng() % 30; n > 0; --n) {
          const auto line = c.read_line();
          REQUIRE_MESSAGE(line.has_value(), "crash_writer stopped by itself");
          model.apply(*line);
          ++acks;
        }
      }
      const int status = c.kill_and_wait();
      CHECK((WIFSIGNALED(status) || status == 0));
    }
    if (!fs::exists(dir)) {
      // Killed before it created its data directory: nothing was acknowledged yet.
      CHECK(acks == 0);
      continue;
    }
    const fs::path copy = t.path() / ("check-" + std::to_string(done));
    copy_dir(dir, copy);  // the writer recovers the original; we check a byte-identical copy
    model = check_recovery(copy, model, warnings);
    fs::remove_all(copy);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MESSAGE(done << " kills, " << acks << " acks, last index " << (model.log.empty() ? model.snap.index : model.log.rbegin()->first)
                << ", " << secs << " s; recoveries that cut a torn tail " << warnings["torn"]
                << ", finished a cut " << warnings["interrupted cut"] << ", removed a superseded segment "
                << warnings["superseded"] << ", realigned after a snapshot " << warnings["restarts after"]
                << ", raised the term to the log's " << warnings["term raised"]);
  CHECK(done == kills);
  CHECK(acks > kills);
}
