// tests/kv/kv_support.hpp: small helpers shared by the kv tests: encoded
// commands in one call and a deterministic workload generator.
#pragma once

#include <raftkv/kv.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace raftkv::kv::test {

/// The encoded put of `key` = `value` by `client` as its write number `seq`.
inline std::string put(std::uint64_t client, std::uint64_t seq, std::string key, std::string value) {
  return encode(command{.client_id = client, .seq = seq, .op = op_kind::put, .key = std::move(key),
                        .value = std::move(value)});
}

/// The encoded delete of `key` by `client` as its write number `seq`.
inline std::string del(std::uint64_t client, std::uint64_t seq, std::string key) {
  return encode(command{.client_id = client, .seq = seq, .op = op_kind::del, .key = std::move(key)});
}

/// The encoded compare-and-swap put of `key` = `value`: only if the key's
/// mod_revision is `expected` (0: only if absent).
inline std::string cas_put(std::uint64_t client, std::uint64_t seq, std::string key, std::string value,
                           std::uint64_t expected) {
  return encode(command{.client_id = client, .seq = seq, .op = op_kind::put, .key = std::move(key),
                        .value = std::move(value), .expected = expected});
}

/// The encoded compare-and-swap delete of `key`: only if its mod_revision is `expected`.
inline std::string cas_del(std::uint64_t client, std::uint64_t seq, std::string key, std::uint64_t expected) {
  return encode(command{.client_id = client, .seq = seq, .op = op_kind::del, .key = std::move(key),
                        .expected = expected});
}

/// A seeded mix of puts, deletes, compare-and-swaps (on absence or on a
/// revision that sometimes matches), retries, stale and expired writes and
/// garbage from `clients` clients over a small key space, as log entry data
/// (an empty string stands for a no-op entry). Same seed, same entries.
inline std::vector<std::string> workload(std::uint64_t seed, std::size_t n, std::uint64_t clients) {
  std::uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
  auto next = [&x](std::uint64_t bound) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x % bound;
  };
  std::vector<std::uint64_t> seq(clients + 1, 0);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t client = next(clients + 1);  // 0 = no session
    const std::string key = "key" + std::to_string(next(20));
    const std::uint64_t kind = next(10);
    std::uint64_t s = 0;
    if (client != 0) {
      if (kind == 0 && seq[client] > 0) {
        s = seq[client];  // a retry
      } else if (kind == 1 && seq[client] > 1) {
        s = seq[client] - 1;  // a stale write
      } else {
        s = ++seq[client];
      }
    }
    // A small revision: at times a key's mod_revision early in the workload.
    const std::uint64_t expected = next(3) == 0 ? 0 : next(i + 1);
    if (kind == 2) {
      out.push_back(del(client, s, key));
    } else if (kind == 5) {
      out.push_back(cas_put(client, s, key, "c" + std::to_string(i), expected));
    } else if (kind == 6 && i % 3 == 0) {
      out.push_back(cas_del(client, s, key, expected));
    } else if (kind == 3 && i % 7 == 0) {
      out.push_back("garbage" + std::to_string(i));
    } else if (kind == 4 && i % 5 == 0) {
      out.push_back("");
    } else {
      out.push_back(put(client, s, key, "v" + std::to_string(i)));
    }
  }
  return out;
}

/// Applies `entries` to `sm` at indexes after its applied index, empty
/// entries as no-ops. Returns the results of the command entries.
inline std::vector<apply_result> apply_all(state_machine& sm, const std::vector<std::string>& entries) {
  std::vector<apply_result> results;
  for (const std::string& e : entries) {
    const core::index_t index = sm.applied_index() + 1;
    if (e.empty()) {
      sm.apply_noop(index);
    } else {
      results.push_back(sm.apply(index, e));
    }
  }
  return results;
}

}  // namespace raftkv::kv::test
