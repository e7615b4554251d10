// The linearizability checker of tests/lin/history.hpp.
#include "lin/history.hpp"

#include <algorithm>
#include <map>
#include <sstream>
#include <unordered_set>

namespace raftkv::lin {
namespace {

constexpr std::uint64_t unknown_revision = std::numeric_limits<std::uint64_t>::max();

/// A well-mixed 64-bit value of `x` (SplitMix64's finalizer).
std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
constexpr int absent = -1;

const char* kind_name(op_kind k) {
  switch (k) {
    case op_kind::get: return "get";
    case op_kind::put: return "put";
    case op_kind::del: return "delete";
    case op_kind::cas: return "cas";
  }
  return "?";
}

const char* result_name(op_result r) {
  switch (r) {
    case op_result::ok: return "ok";
    case op_result::not_found: return "not_found";
    case op_result::cas_failed: return "cas_failed";
    case op_result::unknown: return "unknown";
  }
  return "?";
}

/// The register model of one key and the search over its operations.
class key_checker {
 public:
  key_checker(const std::vector<const operation*>& ops, std::size_t state_limit)
      : ops_(ops), state_limit_(state_limit) {}

  key_verdict run() {
    key_verdict v;
    v.key = ops_.empty() ? "" : ops_.front()->key;
    v.operations = ops_.size();
    if (!learn(v.why)) return v;
    v.linearizable = search(v.why);
    return v;
  }

 private:
  /// Numbers the values written and learns each one's revision from the
  /// answers; false (with `why`) when the answers contradict each other.
  bool learn(std::string& why) {
    for (const operation* o : ops_) {
      if ((o->kind == op_kind::put || o->kind == op_kind::cas) && !value_ids_.count(o->value)) {
        value_ids_[o->value] = static_cast<int>(revisions_.size());
        revisions_.push_back(unknown_revision);
      }
    }
    auto teach = [&](const std::string& value, std::uint64_t rev, const operation& o) {
      auto it = value_ids_.find(value);
      if (it == value_ids_.end()) {
        why = "a read returned a value that was never written: " + describe(o);
        return false;
      }
      std::uint64_t& known = revisions_[static_cast<std::size_t>(it->second)];
      if (known != unknown_revision && known != rev) {
        why = "value '" + value + "' seen with mod_revision " + std::to_string(known) + " and " +
              std::to_string(rev) + ": " + describe(o);
        return false;
      }
      known = rev;
      auto [at, fresh] = revision_values_.emplace(rev, it->second);
      if (!fresh && at->second != it->second) {
        why = "revision " + std::to_string(rev) + " belongs to two different writes: " + describe(o);
        return false;
      }
      return true;
    };
    for (const operation* o : ops_) {
      if (o->result != op_result::ok) continue;
      if (o->kind == op_kind::get && !teach(o->out_value, o->out_revision, *o)) return false;
      if ((o->kind == op_kind::put || o->kind == op_kind::cas) && !teach(o->value, o->out_revision, *o)) return false;
    }
    return true;
  }

  std::uint64_t revision_of(int state) const {
    return state == absent ? 0 : revisions_[static_cast<std::size_t>(state)];
  }

  /// Whether a compare-and-swap expecting `expected` matches the key in `state`.
  bool matches(int state, std::uint64_t expected) const {
    if (state == absent) return expected == 0;
    if (expected == 0) return false;
    const std::uint64_t r = revision_of(state);
    if (r != unknown_revision) return r == expected;
    // This value's revision was never seen. If `expected` is the revision of
    // another write, it is not this one; an unheard-of revision could be.
    auto it = revision_values_.find(expected);
    return it == revision_values_.end() || it->second == state;
  }

  /// A write of `value` may follow `state`: revisions only grow.
  bool grows(int state, int value) const {
    const std::uint64_t before = revision_of(state);
    const std::uint64_t after = revision_of(value);
    return before == unknown_revision || after == unknown_revision || after > before;
  }

  /// The state after `o` applies in `state`, or nothing if `o` cannot
  /// take effect there with the answer it got.
  std::optional<int> step(int state, const operation& o) const {
    switch (o.kind) {
      case op_kind::get:
        if (o.result == op_result::not_found) return state == absent ? std::optional<int>(state) : std::nullopt;
        return state != absent && state == value_ids_.at(o.out_value) ? std::optional<int>(state) : std::nullopt;
      case op_kind::put: {
        const int v = value_ids_.at(o.value);
        return grows(state, v) ? std::optional<int>(v) : std::nullopt;
      }
      case op_kind::del:
        if (o.result == op_result::not_found) return state == absent ? std::optional<int>(state) : std::nullopt;
        return state != absent ? std::optional<int>(absent) : std::nullopt;  // ok or unknown
      case op_kind::cas: {
        if (o.result == op_result::cas_failed) {
          const std::uint64_t r = revision_of(state);
          const bool current_fits = r == unknown_revision || r == o.out_revision;
          return !matches(state, o.expected) && current_fits ? std::optional<int>(state) : std::nullopt;
        }
        const int v = value_ids_.at(o.value);
        return matches(state, o.expected) && grows(state, v) ? std::optional<int>(v) : std::nullopt;
      }
    }
    return std::nullopt;
  }

  /// Wing & Gong's search with Lowe's lifting: walk the invocations and
  /// completions in time order; an invocation may be linearized now if the
  /// model accepts it; a completion of an operation not yet linearized means
  /// this branch is dead, so undo the last choice and try the next one.
  bool search(std::string& why) {
    const std::size_t n = ops_.size();
    // Entries 1..2n: call of op i is 2i+1, its return 2i+2; 0 is the head.
    struct entry_ref {
      std::int64_t time;
      int order;  // calls before returns at equal times: the looser reading
      std::size_t id;
    };
    std::vector<entry_ref> order;
    std::size_t known = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const operation& o = *ops_[i];
      const bool unknown = o.result == op_result::unknown;
      known += unknown ? 0 : 1;
      order.push_back({o.call_ns, 0, 2 * i + 1});
      order.push_back({unknown ? std::numeric_limits<std::int64_t>::max() : o.return_ns, 1, 2 * i + 2});
    }
    std::stable_sort(order.begin(), order.end(), [](const entry_ref& a, const entry_ref& b) {
      return a.time != b.time ? a.time < b.time : a.order < b.order;
    });
    const std::size_t end = 2 * n + 1;  // the tail sentinel
    std::vector<std::size_t> next(2 * n + 2), prev(2 * n + 2);
    std::size_t last = 0;
    for (const entry_ref& e : order) {
      next[last] = e.id;
      prev[e.id] = last;
      last = e.id;
    }
    next[last] = end;
    prev[end] = last;
    auto unlink = [&](std::size_t e) {
      next[prev[e]] = next[e];
      prev[next[e]] = prev[e];
    };
    auto relink = [&](std::size_t e) {
      next[prev[e]] = e;
      prev[next[e]] = e;
    };

    // The cache holds a 128-bit Zobrist hash of (linearized set, state), kept
    // up to date in O(1) per step: a soak's keys have hundreds of thousands
    // of operations, and a copy of the set per configuration would not fit.
    // A collision could only prune a branch (a false "not linearizable"),
    // never let a bad history pass; at 2^-128 per pair it does not happen.
    std::vector<std::uint64_t> zob_a(n), zob_b(n);
    for (std::size_t i = 0; i < n; ++i) {
      zob_a[i] = splitmix(2 * i + 1);
      zob_b[i] = splitmix(2 * i + 2);
    }
    std::uint64_t set_a = 0, set_b = 0;
    struct pair_hash {
      std::size_t operator()(const std::pair<std::uint64_t, std::uint64_t>& p) const { return p.first; }
    };
    std::unordered_set<std::pair<std::uint64_t, std::uint64_t>, pair_hash> seen;
    auto config_key = [&](int state) {
      const auto s = static_cast<std::uint64_t>(static_cast<std::int64_t>(state) + 2);
      return std::pair<std::uint64_t, std::uint64_t>{set_a ^ splitmix(s * 0x100000001b3ULL),
                                                     set_b ^ splitmix(s + 0x9e3779b97f4a7c15ULL)};
    };
    struct frame {
      std::size_t op;
      int state_before;
    };
    std::vector<frame> stack;
    int state = absent;
    std::size_t linearized_known = 0;
    std::size_t best = 0;
    std::size_t stuck_at = n;  // the first known operation not placed, at the best depth

    std::size_t cur = next[0];
    while (true) {
      if (linearized_known == known) return true;
      const bool is_call = cur != end && cur % 2 == 1;
      if (is_call) {
        const std::size_t i = (cur - 1) / 2;
        const operation& o = *ops_[i];
        if (auto after = step(state, o)) {
          set_a ^= zob_a[i];
          set_b ^= zob_b[i];
          if (seen.insert(config_key(*after)).second) {
            if (seen.size() > state_limit_) {
              why = "undecided: more than " + std::to_string(state_limit_) + " configurations";
              return false;
            }
            stack.push_back({i, state});
            state = *after;
            if (o.result != op_result::unknown) ++linearized_known;
            unlink(2 * i + 1);
            unlink(2 * i + 2);
            cur = next[0];
            continue;
          }
          set_a ^= zob_a[i];
          set_b ^= zob_b[i];
        }
        cur = next[cur];
        continue;
      }
      if (cur != end && ops_[(cur - 2) / 2]->result == op_result::unknown) {
        cur = next[cur];  // an unknown write never has to have happened by any time
        continue;
      }
      // A completion of an operation not linearized yet (or the end): back up.
      if (linearized_known >= best) {
        best = linearized_known;
        stuck_at = cur == end ? n : (cur - 2) / 2;
      }
      if (stack.empty()) break;
      const frame f = stack.back();
      stack.pop_back();
      const operation& o = *ops_[f.op];
      if (o.result != op_result::unknown) --linearized_known;
      state = f.state_before;
      set_a ^= zob_a[f.op];
      set_b ^= zob_b[f.op];
      relink(2 * f.op + 2);
      relink(2 * f.op + 1);
      cur = next[2 * f.op + 1];
    }
    std::ostringstream out;
    out << "no order of the " << n << " operations explains every answer; at best " << best << " of the "
        << known << " answered ones fit";
    if (stuck_at < n) out << ", then this one could not: " << describe(*ops_[stuck_at]);
    why = out.str();
    return false;
  }

  const std::vector<const operation*>& ops_;
  std::size_t state_limit_;
  std::map<std::string, int> value_ids_;              ///< value -> state number
  std::vector<std::uint64_t> revisions_;              ///< state number -> mod_revision (or unknown)
  std::map<std::uint64_t, int> revision_values_;      ///< known revision -> state number
};

}  // namespace

std::string describe(const operation& op) {
  std::ostringstream out;
  out << "client " << op.client << " " << kind_name(op.kind) << "(" << op.key;
  if (op.kind == op_kind::cas) out << ", expected rev " << op.expected;
  if (op.kind == op_kind::put || op.kind == op_kind::cas) out << ", '" << op.value << "'";
  out << ") -> " << result_name(op.result);
  if (op.kind == op_kind::get && op.result == op_result::ok)
    out << " '" << op.out_value << "' rev " << op.out_revision;
  else if (op.result == op_result::ok && op.kind != op_kind::del)
    out << " rev " << op.out_revision;
  else if (op.result == op_result::cas_failed)
    out << " current rev " << op.out_revision;
  out << " [" << op.call_ns / 1000 << " us .. ";
  if (op.result == op_result::unknown)
    out << "?]";
  else
    out << op.return_ns / 1000 << " us]";
  return out.str();
}

verdict check(const std::vector<operation>& history, std::size_t state_limit) {
  std::map<std::string, std::vector<const operation*>> by_key;
  for (const operation& o : history) by_key[o.key].push_back(&o);
  verdict v;
  for (const auto& [key, ops] : by_key) {
    key_checker c(ops, state_limit);
    key_verdict kv = c.run();
    v.operations += kv.operations;
    for (const operation* o : ops) v.unknown += o->result == op_result::unknown ? 1 : 0;
    if (!kv.linearizable) ++v.violations;
    v.keys.push_back(std::move(kv));
  }
  return v;
}

std::vector<std::string> lost_writes(const std::vector<operation>& history,
                                     const std::vector<std::pair<std::string, std::optional<std::string>>>& finals) {
  std::vector<std::string> lost;
  for (const auto& [key, final_value] : finals) {
    std::vector<const operation*> writes;
    for (const operation& o : history) {
      const bool write = o.kind != op_kind::get && o.result != op_result::not_found && o.result != op_result::cas_failed;
      if (o.key == key && write) writes.push_back(&o);
    }
    for (const operation* w : writes) {
      if (w->result != op_result::ok) continue;  // only acknowledged writes are promised
      const bool is_final = w->kind == op_kind::del ? !final_value.has_value()
                                                    : final_value.has_value() && *final_value == w->value;
      if (is_final) continue;
      bool overwritable = false;
      for (const operation* other : writes) {
        if (other == w) continue;
        const bool before = other->result != op_result::unknown && other->return_ns < w->call_ns;
        overwritable |= !before;
      }
      if (!overwritable) lost.push_back(describe(*w));
    }
  }
  return lost;
}

}  // namespace raftkv::lin
