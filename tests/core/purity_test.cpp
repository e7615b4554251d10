// The include rule of shared/STYLE.md: the core and the state machine are pure.
// At compile time (no IO library's macros leak in through the public headers)
// and by reading every header of those layers (only allowed includes).
#include <raftkv/core.hpp>
#include <raftkv/kv.hpp>

#if defined(BOOST_ASIO_VERSION) || defined(BOOST_BEAST_VERSION) || \
    defined(NLOHMANN_JSON_VERSION_MAJOR) || defined(NCURSES_VERSION)
#error "an IO library reached the pure core or kv layer through its headers"
#endif

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>

namespace fs = std::filesystem;

namespace {

// Standard headers that bring no clock, thread, file, socket or global randomness.
const std::set<std::string> allowed_std = {
    "algorithm", "array",   "cstddef", "cstdint",  "deque",       "functional", "limits",
    "map",       "memory",  "optional", "set",     "span",        "string",     "string_view",
    "type_traits", "utility", "vector", "unordered_map", "variant", "compare",  "iterator",
    "numeric",   "stdexcept", "cstring", "tuple",   "new",
};

bool allowed(const std::string& layer, const std::string& inc) {
  if (inc.starts_with("raftkv/" + layer + "/") || inc == "raftkv/" + layer + ".hpp") return true;
  if (inc == "raftkv/assert.hpp" || inc == "raftkv/error.hpp") return true;
  if (layer == "kv" && (inc.starts_with("raftkv/core/") || inc == "raftkv/core.hpp")) return true;
  if (inc == "boost/system/error_code.hpp" || inc == "boost/system/result.hpp") return true;
  // Checksums: Boost.CRC is header-only arithmetic, no IO.
  if (layer == "kv" && (inc == "raftkv/detail/crc32c.hpp" || inc == "boost/crc.hpp")) return true;
  // The key table's tree: header-only Boost.Intrusive, pointers only.
  if (layer == "kv" && inc == "boost/intrusive/set.hpp") return true;
  return allowed_std.count(inc) != 0;
}

}  // namespace

TEST_CASE("the core and kv layers include nothing that does IO") {
  const fs::path root = fs::path(RAFTKV_SOURCE_DIR) / "include" / "raftkv";
  const std::regex include_line(R"(^\s*#\s*include\s*[<"]([^>"]+)[>"])");
  std::size_t files = 0;
  for (const std::string layer : {"core", "kv"}) {
    if (!fs::exists(root / layer)) continue;
    for (const auto& f : fs::recursive_directory_iterator(root / layer)) {
      if (!f.is_regular_file()) continue;
      ++files;
      std::ifstream in(f.path());
      std::string line;
      while (std::getline(in, line)) {
        std::smatch m;
        if (!std::regex_search(line, m, include_line)) continue;
        CAPTURE(f.path().string());
        CAPTURE(line);
        CHECK(allowed(layer, m[1].str()));
      }
    }
  }
  CHECK(files >= 10);  // the walk really saw the core
}

TEST_CASE("the include checker rejects what it must") {
  CHECK_FALSE(allowed("core", "boost/asio.hpp"));
  CHECK_FALSE(allowed("core", "thread"));
  CHECK_FALSE(allowed("core", "chrono"));
  CHECK_FALSE(allowed("core", "random"));
  CHECK_FALSE(allowed("core", "raftkv/net/transport.hpp"));
  CHECK(allowed("core", "raftkv/core/log.hpp"));
  CHECK(allowed("kv", "raftkv/core/types.hpp"));
  CHECK(allowed("kv", "raftkv/kv/detail/codec.hpp"));
  CHECK_FALSE(allowed("kv", "chrono"));
  CHECK_FALSE(allowed("kv", "unordered_set"));
  CHECK_FALSE(allowed("kv", "raftkv/storage/wal.hpp"));
  CHECK_FALSE(allowed("core", "boost/intrusive/set.hpp"));
}
