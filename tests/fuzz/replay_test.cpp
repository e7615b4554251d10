// Runs every fuzz target (tests/fuzz/fuzz_*.cpp) on each file of its seed
// corpus (tests/fuzz/corpus/<target>/) and of its regressions
// (tests/fuzz/regressions/<target>/: inputs that once crashed it, kept after
// the fix). A target aborts on a broken invariant, so a crash here is a
// failure; in the ASan/UBSan build of the test command, so is any memory error.
#include "fuzz/fuzz_target.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using target_fn = int (*)(const std::uint8_t*, std::size_t);

std::size_t replay(const std::string& name, target_fn fn) {
  std::size_t files = 0;
  for (const char* kind : {"corpus", "regressions"}) {
    const fs::path dir = fs::path(RAFTKV_SOURCE_DIR) / "tests" / "fuzz" / kind / name;
    if (!fs::exists(dir)) continue;
    std::vector<fs::path> paths;
    for (const auto& f : fs::directory_iterator(dir)) {
      if (f.is_regular_file()) paths.push_back(f.path());
    }
    std::sort(paths.begin(), paths.end());
    for (const fs::path& p : paths) {
      std::ifstream in(p, std::ios::binary);
      const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
      CAPTURE(p.string());
      CHECK(fn(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()) == 0);
      ++files;
    }
  }
  return files;
}

}  // namespace

TEST_CASE("fuzz corpora replay: frame decoder") { CHECK(replay("frame", raftkv::fuzz::frame) >= 5); }
TEST_CASE("fuzz corpora replay: WAL reader") { CHECK(replay("wal", raftkv::fuzz::wal) >= 2); }
TEST_CASE("fuzz corpora replay: snapshot readers") { CHECK(replay("snapshot", raftkv::fuzz::snapshot) >= 3); }
TEST_CASE("fuzz corpora replay: HTTP API") { CHECK(replay("http", raftkv::fuzz::http) >= 10); }
