// Compiles the Raft core's non-template bodies once (Beast's src.hpp pattern).
#include <raftkv/core/impl/election.ipp>
#include <raftkv/core/impl/log.ipp>
#include <raftkv/core/impl/node.ipp>
#include <raftkv/core/impl/progress.ipp>
#include <raftkv/core/impl/read_index.ipp>
#include <raftkv/core/impl/replication.ipp>
#include <raftkv/core/impl/snapshot.ipp>
#include <raftkv/core/impl/storage.ipp>
#include <raftkv/core/impl/transfer.ipp>
