// raftkv/kv/detail/key_table.hpp: the state machine's keys, in byte order,
// one heap block per key.
//
// A std::map<std::string, record> costs about 240 bytes per key of 9 bytes
// with a 100-byte value: a tree node, a std::string for the key and another
// for the value, each its own allocation once past the small-string buffer.
// Here a key is a single block holding the tree links (Boost.Intrusive's
// compact red-black hook: three words, the colour in a pointer's low bit),
// its revisions, then the key's and the value's bytes: about 176 bytes for
// the same key (docs/benchmarks.md, "Memory"). Header-only Boost, no IO: the
// kv layer stays pure.
//
// key_table owns its blocks: erase(), replace(), clear() and the destructor
// free them. Blocks are immutable apart from their revisions; a put that
// changes a value builds a new block and replace()s the old one in place
// (same key, so the order holds).
#pragma once

#include <raftkv/assert.hpp>

#include <boost/intrusive/set.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <new>
#include <string_view>
#include <utility>

namespace raftkv::kv::detail {

/// One key: tree links, revisions, then key and value bytes in one allocation.
class key_block
    : public boost::intrusive::set_base_hook<boost::intrusive::optimize_size<true>,
                                             boost::intrusive::link_mode<boost::intrusive::normal_link>> {
 public:
  std::uint64_t create_revision = 0;
  std::uint64_t mod_revision = 0;
  std::uint64_t version = 0;

  /// A new block; the caller bounds the sizes (max_key_bytes, max_value_bytes).
  static key_block* make(std::string_view key, std::string_view value, std::uint64_t create,
                         std::uint64_t mod, std::uint64_t version) {
    void* p = ::operator new(sizeof(key_block) + key.size() + value.size());
    auto* b = new (p) key_block(static_cast<std::uint32_t>(key.size()),
                                static_cast<std::uint32_t>(value.size()));
    b->create_revision = create;
    b->mod_revision = mod;
    b->version = version;
    if (!key.empty()) std::memcpy(b->bytes(), key.data(), key.size());
    if (!value.empty()) std::memcpy(b->bytes() + key.size(), value.data(), value.size());
    return b;
  }
  /// Frees a block made by make() (it must not be in a table).
  static void destroy(key_block* b) noexcept {
    b->~key_block();
    ::operator delete(static_cast<void*>(b));
  }

  std::string_view key() const { return {bytes(), key_size_}; }
  std::string_view value() const { return {bytes() + key_size_, value_size_}; }

 private:
  key_block(std::uint32_t key_size, std::uint32_t value_size) : key_size_(key_size), value_size_(value_size) {}
  const char* bytes() const { return reinterpret_cast<const char*>(this + 1); }
  char* bytes() { return reinterpret_cast<char*>(this + 1); }

  std::uint32_t key_size_;
  std::uint32_t value_size_;
};

/// Frees a block (the tree's disposer).
struct destroy_block {
  void operator()(key_block* b) const noexcept { key_block::destroy(b); }
};

/// A block's key, for the tree's ordering and lookups by std::string_view.
struct key_of_block {
  using type = std::string_view;
  std::string_view operator()(const key_block& b) const { return b.key(); }
};

/// The keys of a state machine, ascending by bytes, each block owned.
class key_table {
  using set_type = boost::intrusive::set<key_block, boost::intrusive::key_of_value<key_of_block>,
                                         boost::intrusive::constant_time_size<true>>;

 public:
  using iterator = set_type::iterator;
  using const_iterator = set_type::const_iterator;

  key_table() = default;
  ~key_table() { clear(); }
  key_table(const key_table& other) { copy_from(other); }
  key_table& operator=(const key_table& other) {
    if (this != &other) copy_from(other);
    return *this;
  }
  key_table(key_table&& other) noexcept { set_.swap(other.set_); }
  key_table& operator=(key_table&& other) noexcept {
    if (this != &other) {
      clear();
      set_.swap(other.set_);
    }
    return *this;
  }

  iterator begin() { return set_.begin(); }
  iterator end() { return set_.end(); }
  const_iterator begin() const { return set_.begin(); }
  const_iterator end() const { return set_.end(); }
  std::size_t size() const { return set_.size(); }
  bool empty() const { return set_.empty(); }

  iterator find(std::string_view key) { return set_.find(key); }
  const_iterator find(std::string_view key) const { return set_.find(key); }
  iterator lower_bound(std::string_view key) { return set_.lower_bound(key); }
  const_iterator lower_bound(std::string_view key) const { return set_.lower_bound(key); }

  /// Takes `b`, whose key sorts right before `pos` (asserted: not checked by the tree).
  iterator insert_before(const_iterator pos, key_block* b) {
    RAFTKV_ASSERT(pos == set_.end() || b->key() < pos->key(), "a key goes before a greater one");
    RAFTKV_ASSERT(pos == set_.begin() || std::prev(pos)->key() < b->key(), "a key goes after a smaller one");
    return set_.insert_before(pos, *b);
  }
  /// Puts `b` in place of `*pos` (same key, asserted) and frees the old block.
  iterator replace(iterator pos, key_block* b) {
    RAFTKV_ASSERT(pos->key() == b->key(), "a block is replaced by one with the same key");
    key_block& old = *pos;
    set_.replace_node(pos, *b);
    key_block::destroy(&old);
    return set_.iterator_to(*b);
  }
  /// Removes and frees `*pos`; the iterator after it.
  iterator erase(iterator pos) { return set_.erase_and_dispose(pos, destroy_block{}); }
  /// Removes and frees every block.
  void clear() { set_.clear_and_dispose(destroy_block{}); }

  friend bool operator==(const key_table& a, const key_table& b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](const key_block& x, const key_block& y) {
             return x.key() == y.key() && x.value() == y.value() &&
                    x.create_revision == y.create_revision && x.mod_revision == y.mod_revision &&
                    x.version == y.version;
           });
  }

 private:
  void copy_from(const key_table& other) {
    clear();
    for (const key_block& b : other) {
      set_.push_back(*key_block::make(b.key(), b.value(), b.create_revision, b.mod_revision, b.version));
    }
  }

  set_type set_;
};

}  // namespace raftkv::kv::detail
