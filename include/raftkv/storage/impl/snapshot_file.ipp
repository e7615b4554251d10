// Bodies for raftkv/storage/snapshot_file.hpp; compiled once by lib/storage.cpp.
#pragma once

#include <raftkv/storage/crc32c.hpp>
#include <raftkv/storage/detail/codec.hpp>
#include <raftkv/storage/detail/file.hpp>
#include <raftkv/storage/error.hpp>
#include <raftkv/storage/snapshot_file.hpp>

#include <algorithm>
#include <cstdio>
#include <optional>

namespace raftkv::storage {

namespace {

constexpr std::uint64_t snapshot_magic = 0x3150414E53564B52;  // "RKVSNAP1" little-endian
constexpr std::uint32_t snapshot_version = 1;

[[noreturn]] void throw_snapshot_corrupt(const std::filesystem::path& path, std::uint64_t offset,
                                         const std::string& what) {
  throw storage_error("snapshot file " + path.string() + ": " + what + " at byte offset " +
                      std::to_string(offset));
}

std::optional<core::entry_id> parse_snapshot_name(const std::string& name) {
  unsigned long long term = 0;
  unsigned long long index = 0;
  char tail[8] = {};
  if (name.size() != 5 + 16 + 1 + 16 + 5) return std::nullopt;
  if (std::sscanf(name.c_str(), "snap-%16llx-%16llx%5s", &term, &index, tail) != 3) return std::nullopt;
  if (std::string(tail) != ".snap") return std::nullopt;
  return core::entry_id{term, index};
}

}  // namespace

std::string snapshot_file_name(core::entry_id id) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "snap-%016llx-%016llx.snap", static_cast<unsigned long long>(id.term),
                static_cast<unsigned long long>(id.index));
  return buf;
}

std::filesystem::path write_snapshot_file(const std::filesystem::path& dir, const core::snapshot& s) {
  const std::string_view data = s.data ? std::string_view(*s.data) : std::string_view{};
  std::string out;
  out.reserve(snapshot_header_bytes);
  detail::put_u64(out, snapshot_magic);
  detail::put_u32(out, snapshot_version);
  detail::put_u64(out, s.last.term);
  detail::put_u64(out, s.last.index);
  detail::put_u64(out, data.size());
  detail::put_u32(out, crc32c(data));
  detail::put_u32(out, crc32c(out));
  std::filesystem::path path = dir / snapshot_file_name(s.last);
  detail::write_file_atomic(path, out, data);
  return path;
}

core::snapshot read_snapshot_file(const std::filesystem::path& path) {
  std::string bytes = detail::read_file(path);
  if (bytes.size() < snapshot_header_bytes)
    throw_snapshot_corrupt(path, bytes.size(), "short header (" + std::to_string(bytes.size()) + " bytes)");
  detail::byte_reader in{bytes};
  const std::uint64_t magic = in.u64();
  const std::uint32_t version = in.u32();
  const core::entry_id id{in.u64(), in.u64()};
  const std::uint64_t len = in.u64();
  const std::uint32_t data_crc = in.u32();
  const std::uint32_t header_crc = in.u32();
  if (magic != snapshot_magic) throw_snapshot_corrupt(path, 0, "bad magic");
  if (header_crc != crc32c(bytes.data(), 40)) throw_snapshot_corrupt(path, 40, "header CRC mismatch");
  if (version != snapshot_version)
    throw_snapshot_corrupt(path, 8, "unsupported version " + std::to_string(version));
  const auto named = parse_snapshot_name(path.filename().string());
  if (!named || !(*named == id)) throw_snapshot_corrupt(path, 12, "header does not match the file name");
  if (bytes.size() - snapshot_header_bytes != len)
    throw_snapshot_corrupt(path, std::min<std::uint64_t>(bytes.size(), snapshot_header_bytes + len),
                           "data length " + std::to_string(len) + " but the file holds " +
                               std::to_string(bytes.size() - snapshot_header_bytes));
  const std::string_view data = std::string_view(bytes).substr(snapshot_header_bytes);
  if (crc32c(data) != data_crc) throw_snapshot_corrupt(path, snapshot_header_bytes, "data CRC mismatch");
  // In place: a second copy of a large snapshot would double the peak memory.
  bytes.erase(0, snapshot_header_bytes);
  return core::snapshot{id, std::make_shared<const std::string>(std::move(bytes))};
}

std::vector<std::filesystem::path> list_snapshot_files(const std::filesystem::path& dir) {
  std::vector<std::pair<core::entry_id, std::filesystem::path>> found;
  for (const auto& p : detail::list_files(dir, "snap-", ".snap"))
    if (auto id = parse_snapshot_name(p.filename().string())) found.emplace_back(*id, p);
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return a.first.index != b.first.index ? a.first.index > b.first.index : a.first.term > b.first.term;
  });
  std::vector<std::filesystem::path> out;
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

std::size_t prune_snapshot_files(const std::filesystem::path& dir, std::size_t kept) {
  std::size_t removed = 0;
  const auto files = list_snapshot_files(dir);
  for (std::size_t k = kept; k < files.size(); ++k, ++removed) detail::remove_file(files[k]);
  for (const auto& p : detail::list_files(dir, "snap-", ".tmp")) {
    detail::remove_file(p);
    ++removed;
  }
  if (removed > 0) detail::sync_dir(dir);
  return removed;
}

core::snapshot load_newest_snapshot(const std::filesystem::path& dir) {
  const auto files = list_snapshot_files(dir);
  if (files.empty()) return {};
  return read_snapshot_file(files.front());
}

}  // namespace raftkv::storage
