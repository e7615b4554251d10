// Compiles the storage layer's non-template bodies once (Beast's src.hpp pattern).
#include <raftkv/storage/impl/file.ipp>
#include <raftkv/storage/impl/wal_format.ipp>
#include <raftkv/storage/impl/wal.ipp>
#include <raftkv/storage/impl/wal_recovery.ipp>
#include <raftkv/storage/impl/snapshot_file.ipp>
#include <raftkv/storage/impl/data_dir.ipp>
#include <raftkv/storage/impl/disk.ipp>
#include <raftkv/storage/impl/writer.ipp>
