// Helpers shared by the storage tests and the crash writer: temp dirs that
// remove themselves, deterministic entry and snapshot data, file surgery.
#pragma once

#include <raftkv/core/types.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace raftkv::storage::test {

namespace fs = std::filesystem;

/// A fresh directory under temp_directory_path(), removed on destruction.
class temp_dir {
 public:
  temp_dir() {
    static std::atomic<int> counter{0};
    std::random_device rd;
    path_ = fs::temp_directory_path() /
            ("raftkv-storage-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
             std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;  ///< exists until destruction
};

/// Entry data derived from term and index, so a checker can verify it.
inline std::string entry_data(core::term_t term, core::index_t index) {
  std::string s = "t" + std::to_string(term) + "i" + std::to_string(index) + ":";
  s.append((term * 31 + index * 17) % 150, static_cast<char>('a' + (term + index) % 26));
  return s;
}

inline core::entry make_entry(core::term_t term, core::index_t index) {
  return core::entry{.term = term, .index = index, .type = core::entry_type::normal,
                     .data = entry_data(term, index)};
}

/// Entries [first, last] of `term`.
inline std::vector<core::entry> make_entries(core::term_t term, core::index_t first, core::index_t last) {
  std::vector<core::entry> out;
  for (core::index_t i = first; i <= last; ++i) out.push_back(make_entry(term, i));
  return out;
}

/// Snapshot data derived from its last entry.
inline std::string snapshot_data(core::entry_id id) {
  return "snapshot t" + std::to_string(id.term) + " i" + std::to_string(id.index) + std::string(300, 's');
}

inline core::snapshot make_snapshot(core::term_t term, core::index_t index) {
  return core::snapshot{{term, index}, std::make_shared<const std::string>(snapshot_data({term, index}))};
}

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void spit(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// Copies the regular files of `from` into a new `to`.
inline void copy_dir(const fs::path& from, const fs::path& to) {
  fs::create_directories(to);
  for (const auto& e : fs::directory_iterator(from))
    if (e.is_regular_file()) fs::copy_file(e.path(), to / e.path().filename());
}

/// Files of `dir` whose names start with `prefix`, sorted.
inline std::vector<fs::path> files_with_prefix(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().starts_with(prefix)) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace raftkv::storage::test
