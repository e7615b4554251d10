// Fuzz target: WAL recovery (storage::wal::open) on segment files made of the
// input. The first two bytes choose where the input splits into two segments
// (a chain) or that it is one. Corruption must end in storage_error naming
// the file, never a crash, a hang or an assertion.
#include "fuzz/fuzz_target.hpp"

#include <raftkv/storage/detail/file.hpp>
#include <raftkv/storage/detail/wal_format.hpp>
#include <raftkv/storage/error.hpp>
#include <raftkv/storage/wal.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace raftkv::fuzz {
namespace {

namespace fs = std::filesystem;

fs::path scratch_dir() {
  const fs::path base = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
  static const fs::path dir = base / ("raftkv-fuzz-wal-" + std::to_string(::getpid()));
  return dir;
}

void spit(const fs::path& p, std::string_view bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

int wal(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const fs::path dir = scratch_dir();
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir);
  const std::size_t split = (std::size_t{data[0]} << 8 | data[1]);
  const std::string_view bytes(reinterpret_cast<const char*>(data + 2), size - 2);
  if (split == 0 || split >= bytes.size()) {
    spit(dir / storage::detail::segment_name(1, 1), bytes);
  } else {
    spit(dir / storage::detail::segment_name(1, 1), bytes.substr(0, split));
    spit(dir / storage::detail::segment_name(2, 1 + split % 7), bytes.substr(split));
  }
  storage::wal_options opts;
  opts.preallocate = false;
  opts.segment_bytes_max = 1 << 16;
  opts.record_bytes_max = 1 << 16;
  storage::wal_contents contents;
  try {
    storage::wal w = storage::wal::open(dir, opts, contents);
    // Recovered entries are consecutive; the hard state's commit is within them or 0.
    for (std::size_t i = 1; i < contents.entries.size(); ++i) {
      fuzz_check(contents.entries[i].index == contents.entries[i - 1].index + 1, "recovered entries are consecutive");
    }
  } catch (const storage::storage_error&) {
    // The expected answer to corruption.
  }
  fs::remove_all(dir, ec);
  return 0;
}

}  // namespace raftkv::fuzz

RAFTKV_FUZZ_ENTRY(wal)
