// raftkv/storage/detail/file.hpp: thin POSIX file helpers that throw
// storage_error naming the path and the failed call (bodies in
// storage/impl/file.ipp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace raftkv::storage::detail {

/// Throws storage_error "<what> <path>: <strerror(err)>".
[[noreturn]] void throw_errno(std::string_view what, const std::filesystem::path& path, int err);

/// An owned file descriptor. Moves only; the destructor closes it.
class file {
 public:
  file() = default;
  /// open(2) with O_CLOEXEC added; throws on failure.
  static file open(const std::filesystem::path& path, int flags, unsigned mode = 0644);
  file(file&& other) noexcept;
  file& operator=(file&& other) noexcept;
  file(const file&) = delete;
  file& operator=(const file&) = delete;
  ~file();

  bool is_open() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  const std::filesystem::path& path() const { return path_; }

  /// Writes all of `bytes` at the file offset (retrying short writes and EINTR).
  void write_all(std::string_view bytes);
  /// fdatasync(2).
  void sync_data();
  /// fsync(2).
  void sync_all();
  /// ftruncate(2) to `size` bytes.
  void truncate(std::uint64_t size);
  /// fallocate(2): reserves `bytes` from offset 0 (the file reads as zeros up
  /// to there). False when the file system cannot (the file is unchanged).
  bool preallocate(std::uint64_t bytes) noexcept;
  /// Closes now (close errors are reported: they can carry a deferred write error).
  void close();

 private:
  int fd_ = -1;                    ///< -1 when closed
  std::filesystem::path path_{};   ///< the path it was opened with, for messages
};

/// The whole content of `path`.
std::string read_file(const std::filesystem::path& path);
/// fsync(2) on directory `dir`, making creations, renames and unlinks in it durable.
void sync_dir(const std::filesystem::path& dir);
/// unlink(2); a missing file is not an error.
void remove_file(const std::filesystem::path& path);
/// Writes `bytes` to `path` atomically and durably: `path`.tmp, fsync, rename,
/// fsync of the directory.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);
/// The same for a file made of `head` then `body`, without joining them
/// (a snapshot's header and its data: no second copy of the data).
void write_file_atomic(const std::filesystem::path& path, std::string_view head, std::string_view body);
/// Regular files in `dir` whose names start with `prefix` and end with `suffix`.
std::vector<std::filesystem::path> list_files(const std::filesystem::path& dir,
                                              std::string_view prefix, std::string_view suffix);

}  // namespace raftkv::storage::detail
