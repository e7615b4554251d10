// raftkv/storage/snapshot_file.hpp: snapshot files of the state machine
// (bodies in storage/impl/snapshot_file.ipp).
//
// File `snap-<term 16 hex>-<index 16 hex>.snap`: a 44-byte header, then the
// data. Header, little-endian: magic "RKVSNAP1" (8 bytes), u32 version,
// u64 term, u64 index, u64 data length, u32 crc32c(data), u32 crc32c(the
// preceding 40 header bytes). Saved as `*.tmp`, fsynced, renamed, and the
// directory fsynced; the newest `kept` files stay.
#pragma once

#include <raftkv/core/types.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace raftkv::storage {

/// Bytes of a snapshot file's header.
inline constexpr std::size_t snapshot_header_bytes = 44;

/// `snap-<term>-<index>.snap`.
std::string snapshot_file_name(core::entry_id id);

/// Writes `s` into `dir` durably (tmp, fsync, rename, directory fsync) and
/// returns the file's path.
std::filesystem::path write_snapshot_file(const std::filesystem::path& dir, const core::snapshot& s);

/// Reads and verifies one snapshot file; throws storage_error naming the file
/// and the byte offset of the first problem (short, bad magic, bad CRC, a
/// header that disagrees with the file name).
core::snapshot read_snapshot_file(const std::filesystem::path& path);

/// Snapshot files in `dir`, newest (highest index, then term) first.
std::vector<std::filesystem::path> list_snapshot_files(const std::filesystem::path& dir);

/// Deletes all but the newest `kept` snapshot files and every stray `snap-*.tmp`.
/// Returns how many files it deleted.
std::size_t prune_snapshot_files(const std::filesystem::path& dir, std::size_t kept);

/// Loads the newest snapshot in `dir` (empty() when there is none). A corrupt
/// newest file is an error, never a silent fall-back to an older one.
core::snapshot load_newest_snapshot(const std::filesystem::path& dir);

}  // namespace raftkv::storage
