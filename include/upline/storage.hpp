// upline/storage.hpp — the containers behind the engine's big tables.
//
//   BigAllocator / big_vector  a std::allocator for arrays of millions of records: blocks of
//                              2 MiB and more are 2 MiB-aligned and, on Linux, advised to use
//                              transparent huge pages, which cuts page faults 512-fold and the
//                              TLB misses of random access (member records, hash slots).
//   StringArena                append-only storage for short strings (order ids, redemption
//                              refs): no allocation per string, stable addresses.
//   KeyIndex                   string key → record index, open addressing over 8-byte slots;
//                              the keys themselves live in the records (an arena), so the index
//                              costs about 11 bytes per key instead of a node per key.
//   CountMap                   a 32-bit count per 64-bit key, open addressing over 16-byte
//                              slots: no node per key, growth by doubling only.
//
// None of these is ever iterated into an output: they only answer lookups, so the engine's
// results do not depend on hash order or on addresses.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace upline {

/// The transparent huge page size of x86-64 and arm64 Linux: big tables are aligned to it.
inline constexpr std::size_t huge_page_bytes = std::size_t{2} << 20;

/// `bytes` of memory for a big table: blocks of 2 MiB and more are 2 MiB-aligned and advised to
/// use transparent huge pages. Release with std::free.
inline void* big_alloc(std::size_t bytes) {
  void* p = nullptr;
  if (bytes >= huge_page_bytes) {
    const std::size_t rounded = (bytes + huge_page_bytes - 1) / huge_page_bytes * huge_page_bytes;
    p = std::aligned_alloc(huge_page_bytes, rounded);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (p) ::madvise(p, rounded, MADV_HUGEPAGE);  // advice only: failure changes nothing
#endif
  } else {
    p = std::malloc(bytes == 0 ? 1 : bytes);
  }
  if (!p) throw std::bad_alloc();
  return p;
}

template <class T>
struct BigAllocator {
  using value_type = T;
  static constexpr std::size_t huge_page = huge_page_bytes;

  BigAllocator() noexcept = default;
  template <class U>
  BigAllocator(const BigAllocator<U>&) noexcept {}

  T* allocate(std::size_t n) {
    if (n > std::numeric_limits<std::size_t>::max() / sizeof(T)) throw std::bad_array_new_length();
    return static_cast<T*>(big_alloc(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t) noexcept { std::free(p); }

  template <class U>
  bool operator==(const BigAllocator<U>&) const noexcept { return true; }
};

template <class T>
using big_vector = std::vector<T, BigAllocator<T>>;

/// An append-only table of trivially copyable records in fixed 2 MiB chunks (after a first chunk
/// that grows from small, so that small engines stay small). Records never move: a table of N
/// records is written, and its pages faulted in, once — a doubling vector writes every record
/// about twice and faults in twice the memory, which on a virtual machine is most of the cost
/// of recording an order. Indexing costs a multiplication (division by a constant).
template <class T>
class chunked_vector {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);

 public:
  static constexpr std::size_t per_chunk = huge_page_bytes / sizeof(T);

  chunked_vector() = default;
  chunked_vector(chunked_vector&& o) noexcept
      : chunks_(std::move(o.chunks_)), size_(std::exchange(o.size_, 0)), first_cap_(std::exchange(o.first_cap_, 0)) {}
  chunked_vector& operator=(chunked_vector&& o) noexcept {
    if (this != &o) {
      release();
      chunks_ = std::move(o.chunks_);
      size_ = std::exchange(o.size_, 0);
      first_cap_ = std::exchange(o.first_cap_, 0);
    }
    return *this;
  }
  chunked_vector(const chunked_vector&) = delete;
  chunked_vector& operator=(const chunked_vector&) = delete;
  ~chunked_vector() { release(); }

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  T& operator[](std::size_t i) noexcept { return chunks_[i / per_chunk][i % per_chunk]; }
  const T& operator[](std::size_t i) const noexcept { return chunks_[i / per_chunk][i % per_chunk]; }

  void push_back(const T& value) {
    const T v = value;  // `value` may live in this table, which growing the first chunk moves
    *emplace() = v;
  }

  /// Appends a record and returns where to write it (the table grows, the record is then
  /// written by the caller: no copy through the stack).
  T* emplace() {
    T* slot;
    if (size_ < per_chunk) {
      if (size_ == first_cap_) grow_first(first_cap_ == 0 ? 16 : std::min(first_cap_ * 2, per_chunk));
      slot = chunks_[0] + size_;
    } else {
      const std::size_t c = size_ / per_chunk, off = size_ % per_chunk;
      if (off == 0 && c == chunks_.size()) chunks_.push_back(allocate(per_chunk));
      slot = chunks_[c] + off;
    }
    ++size_;
    return slot;
  }
  /// Appends `n` records, written by `write(T* dst, std::size_t count)` in contiguous runs (one
  /// per chunk they fall into), in order.
  template <class Write>
  void append(std::size_t n, Write&& write) {
    while (n > 0) {
      std::size_t run;
      T* dst;
      if (size_ < per_chunk) {
        if (size_ + n > first_cap_ && first_cap_ < per_chunk) grow_first(std::min(std::max(first_cap_ * 2, size_ + n), per_chunk));
        run = std::min(n, first_cap_ - size_);
        dst = chunks_[0] + size_;
      } else {
        const std::size_t c = size_ / per_chunk, off = size_ % per_chunk;
        if (off == 0 && c == chunks_.size()) chunks_.push_back(allocate(per_chunk));
        run = std::min(n, per_chunk - off);
        dst = chunks_[c] + off;
      }
      write(dst, run);
      size_ += run;
      n -= run;
    }
  }

  /// Sizes the first chunk for `n` records (more go to further chunks anyway).
  void reserve(std::size_t n) {
    if (n > first_cap_ && first_cap_ < per_chunk) grow_first(std::min(n, per_chunk));
  }

  /// Calls `f(const T* first, std::size_t count)` for the records in order, one contiguous run per
  /// chunk (bulk writes: a snapshot writes a table from its own memory).
  template <class F>
  void for_each_run(F&& f) const {
    for (std::size_t i = 0, c = 0; i < size_; ++c) {
      const std::size_t n = std::min(size_ - i, per_chunk);  // i is c × per_chunk
      f(static_cast<const T*>(chunks_[c]), n);
      i += n;
    }
  }

  class const_iterator {
   public:
    const_iterator(const chunked_vector* v, std::size_t i) noexcept : v_(v), i_(i) {}
    const T& operator*() const noexcept { return (*v_)[i_]; }
    const_iterator& operator++() noexcept {
      ++i_;
      return *this;
    }
    bool operator!=(const const_iterator& o) const noexcept { return i_ != o.i_; }

   private:
    const chunked_vector* v_;
    std::size_t i_;
  };
  const_iterator begin() const noexcept { return {this, 0}; }
  const_iterator end() const noexcept { return {this, size_}; }

 private:
  // A full chunk is exactly one huge page; a smaller first chunk is plain heap memory.
  static T* allocate(std::size_t cap) {
    return static_cast<T*>(big_alloc(cap == per_chunk ? huge_page_bytes : cap * sizeof(T)));
  }
  void grow_first(std::size_t cap) {
    T* fresh = allocate(cap);
    if (!chunks_.empty()) {
      std::memcpy(static_cast<void*>(fresh), chunks_[0], size_ * sizeof(T));
      std::free(chunks_[0]);
      chunks_[0] = fresh;
    } else {
      chunks_.push_back(fresh);
    }
    first_cap_ = cap;
  }
  void release() noexcept {
    for (T* c : chunks_) std::free(c);
    chunks_.clear();
    size_ = first_cap_ = 0;
  }

  std::vector<T*> chunks_;
  std::size_t size_ = 0;
  std::size_t first_cap_ = 0;  // capacity of chunks_[0]
};

/// Append-only storage for strings of at most 255 bytes. A string is named by its offset — block
/// number × 1 MiB + position in the block, a 64-bit number that a record can hold in 56 bits next
/// to the string's length — or equally by its address: neither ever changes. Blocks start small (a
/// small engine stays small) and double up to 1 MiB; a string never straddles two of them (but in
/// a block added whole by add_block()); they are not zeroed.
class StringArena {
 public:
  static constexpr int block_bits = 20;
  static constexpr std::size_t block = std::size_t{1} << block_bits;
  static constexpr std::size_t first_block = std::size_t{1} << 12;

  /// Stores `s`; returns its offset (at() gives its bytes back).
  std::uint64_t append(std::string_view s) {
    if (s.size() > 255) throw std::length_error("StringArena: a string of more than 255 bytes");
    if (blocks_.empty() || used_ + s.size() > size_) {
      const std::size_t size = next_;
      blocks_.push_back(allocate(size));
      capacity_ += size;
      size_ = size;
      used_ = 0;
      next_ = std::min(size * 2, block);
    }
    const std::uint64_t at = (std::uint64_t(blocks_.size() - 1) << block_bits) | used_;
    if (!s.empty()) std::memcpy(blocks_.back() + used_, s.data(), s.size());
    used_ += s.size();
    return at;
  }
  /// Stores `s`; returns it, at its lasting address.
  std::string_view add(std::string_view s) { return {at(append(s)), s.size()}; }
  /// The bytes of the string at `offset`.
  const char* at(std::uint64_t offset) const noexcept { return blocks_[offset >> block_bits] + (offset & (block - 1)); }

  /// `n` bytes in one block of their own, for the caller to fill: strings read back in bulk (a
  /// snapshot's order ids). Returns where to write them; `first` receives the offset of the first
  /// byte (byte k is at offset first + k). Later append()s go to further blocks.
  char* add_block(std::size_t n, std::uint64_t& first) {
    first = std::uint64_t(blocks_.size()) << block_bits;
    char* base = allocate(std::max<std::size_t>(n, 1));  // big: huge pages (big_alloc)
    for (std::size_t k = 0; k == 0 || k * block < n; ++k) blocks_.push_back(base + k * block);  // one per MiB of offsets
    capacity_ += std::max<std::size_t>(n, 1);
    size_ = used_ = 0;  // full: the next string starts a block
    next_ = std::clamp<std::size_t>(std::bit_ceil(std::max<std::size_t>(n, 1)), first_block, block);
    return base;
  }
  /// Bytes reserved (for memory accounting).
  std::size_t capacity() const noexcept { return capacity_; }

 private:
  struct Free {
    void operator()(char* p) const noexcept { std::free(p); }
  };
  char* allocate(std::size_t size) {
    owned_.reserve(owned_.size() + 1);  // first: if it throws, nothing leaks
    char* p = static_cast<char*>(big_alloc(size));
    owned_.emplace_back(p);
    return p;
  }

  std::vector<std::unique_ptr<char, Free>> owned_;
  std::vector<char*> blocks_;  // by offset >> block_bits (a block from add_block() spans several)
  std::size_t used_ = 0;
  std::size_t size_ = 0;                // of the last block
  std::size_t next_ = first_block;      // of the next block
  std::size_t capacity_ = 0;            // of all blocks
};

/// A 64-bit hash of a short string (deterministic everywhere; only ever used for lookups). Reads
/// the string in 8-byte words; a tail of 4..7 bytes in two overlapping 4-byte loads, of 1..3 bytes
/// byte by byte, so that it never reads outside the string.
inline std::uint64_t hash_key(std::string_view s) noexcept {
  const std::size_t n = s.size();
  const char* p = s.data();
  std::uint64_t h = 0x9e3779b97f4a7c15ULL ^ (n * 0xff51afd7ed558ccdULL);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 29;
  }
  std::uint64_t tail = 0;
  if (i < n) {
    if (n >= 8) {
      std::memcpy(&tail, p + n - 8, 8);  // the last 8 bytes, overlapping the loop's
    } else if (n >= 4) {
      std::uint32_t lo, hi;
      std::memcpy(&lo, p, 4);
      std::memcpy(&hi, p + n - 4, 4);
      tail = (std::uint64_t(hi) << 32) | lo;
    } else {
      tail = std::uint64_t(static_cast<unsigned char>(p[0])) | std::uint64_t(static_cast<unsigned char>(p[n / 2])) << 8 |
             std::uint64_t(static_cast<unsigned char>(p[n - 1])) << 16;
    }
  }
  h = (h ^ tail) * 0x94d049bb133111ebULL;
  h ^= h >> 31;
  h *= 0xbf58476d1ce4e5b9ULL;
  return h ^ (h >> 32);
}

/// String key → index (0 .. 2^32-2) of a record that holds the key. `KeyOf` is a callable
/// `std::string_view(std::uint32_t index)` giving back the key of a record: the index stores only
/// a 32-bit tag of the hash and the index, and compares keys through KeyOf on a tag match.
///
/// A key's home slot is its tag (the hash's top 32 bits) scaled to the table, so slots hold keys
/// in the order of their tags. Growing the table therefore needs no key and no random access: each
/// slot moves to about twice its position, in one sequential pass (a shop's history only grows,
/// and a rehash that read every key back would stall one purchase for a minute at 50M orders).
class KeyIndex {
 public:
  static constexpr std::uint32_t none = std::numeric_limits<std::uint32_t>::max();

  /// The index of the record whose key is `key`, or none; `h` is hash_key(key).
  template <class KeyOf>
  std::uint32_t find(std::string_view key, std::uint64_t h, const KeyOf& key_of) const noexcept {
    if (slots_.empty()) return none;
    const auto tag = static_cast<std::uint32_t>(h >> 32);
    for (std::size_t i = home(tag);; i = (i + 1) & mask_) {
      const std::uint64_t s = slots_[i];
      if (s == 0) return none;
      if (static_cast<std::uint32_t>(s >> 32) == tag && key_of(static_cast<std::uint32_t>(s) - 1) == key) return static_cast<std::uint32_t>(s) - 1;
    }
  }

  template <class KeyOf>
  std::uint32_t find(std::string_view key, const KeyOf& key_of) const noexcept {
    return find(key, hash_key(key), key_of);
  }

  /// Starts fetching the slot where a key with hash `h` would be found.
  void prefetch(std::uint64_t h) const noexcept {
    if (!slots_.empty()) __builtin_prefetch(&slots_[home(static_cast<std::uint32_t>(h >> 32))]);
  }

  /// Inserts a key that is not present, for the record at `index`; `h` is hash_key(key).
  void insert(std::uint64_t h, std::uint32_t index) {
    if ((size_ + 1) * 4 > slots_.size() * 3) rehash(slots_.empty() ? 64 : slots_.size() * 2);
    put((h >> 32 << 32) | (std::uint64_t(index) + 1));
    ++size_;
  }
  void insert(std::string_view key, std::uint32_t index) { insert(hash_key(key), index); }

  /// Inserts `key` (hash `h`) for the record at `index` unless a record with an equal key is
  /// present: then returns false and changes nothing (a table read back checks its keys so).
  template <class KeyOf>
  bool insert_unique(std::string_view key, std::uint64_t h, std::uint32_t index, const KeyOf& key_of) {
    if ((size_ + 1) * 4 > slots_.size() * 3) rehash(slots_.empty() ? 64 : slots_.size() * 2);
    const auto tag = static_cast<std::uint32_t>(h >> 32);
    std::size_t i = home(tag);
    for (std::uint64_t s; (s = slots_[i]) != 0; i = (i + 1) & mask_)
      if (static_cast<std::uint32_t>(s >> 32) == tag && key_of(static_cast<std::uint32_t>(s) - 1) == key) return false;
    slots_[i] = (h >> 32 << 32) | (std::uint64_t(index) + 1);  // the slot put() would choose
    ++size_;
    return true;
  }

  /// Indexes records 0 .. n-1 at once, record i's key having the hash `hash_of(i)`: for an index
  /// that is empty (a table read back in bulk). Returns false, leaving the index empty, if two
  /// records have equal keys (compared through `key_of`).
  ///
  /// Inserting key by key writes each at a random slot, and at 100M keys the table (1 GiB) is far
  /// beyond what the TLB maps: on a virtual machine, where a TLB miss walks two page tables, that
  /// took minutes. Instead the (tag, index) slots are radix-sorted by tag — three sequential passes
  /// — and laid out in one forward pass: a key goes to its home slot or just after the key before
  /// it. Every key then sits at or after its home with no free slot in between, which is all that
  /// find() and insert() need; keys with equal tags keep index order.
  template <class HashOf, class KeyOf>
  bool build_unique(std::size_t n, HashOf&& hash_of, const KeyOf& key_of) {
    if (size_ != 0) throw std::logic_error("KeyIndex::build_unique: the index is not empty");
    reserve(n);
    if (n == 0) return true;
    // The first n slots hold the unsorted values, `sorted` receives them after three passes.
    std::uint64_t* const a = slots_.data();
    for (std::size_t i = 0; i < n; ++i) a[i] = (hash_of(i) >> 32 << 32) | (std::uint64_t(i) + 1);
    big_vector<std::uint64_t> sorted(n);
    constexpr int shifts[3] = {32, 43, 54};
    constexpr std::uint64_t mask[3] = {0x7FF, 0x7FF, 0x3FF};
    std::vector<std::size_t> counts(3 * 2048, 0);
    for (std::size_t i = 0; i < n; ++i)
      for (int d = 0; d < 3; ++d) ++counts[d * 2048 + ((a[i] >> shifts[d]) & mask[d])];
    std::uint64_t* from = a;
    std::uint64_t* to = sorted.data();
    for (int d = 0; d < 3; ++d) {
      std::size_t* c = &counts[static_cast<std::size_t>(d) * 2048];
      std::size_t sum = 0;
      for (std::size_t b = 0; b < 2048; ++b) sum += std::exchange(c[b], sum);
      for (std::size_t i = 0; i < n; ++i) to[c[(from[i] >> shifts[d]) & mask[d]]++] = from[i];
      std::swap(from, to);
    }
    // Three passes: the sorted values are in `sorted`. Equal keys have equal tags: neighbours.
    for (std::size_t i = 1; i < n; ++i) {
      if ((from[i] >> 32) != (from[i - 1] >> 32)) continue;
      for (std::size_t j = i; j-- > 0 && (from[j] >> 32) == (from[i] >> 32);)
        if (key_of(static_cast<std::uint32_t>(from[j]) - 1) == key_of(static_cast<std::uint32_t>(from[i]) - 1)) {
          std::fill(slots_.begin(), slots_.end(), 0);
          return false;
        }
    }
    std::fill(slots_.begin(), slots_.begin() + static_cast<std::ptrdiff_t>(n), 0);
    std::size_t next = 0, i = 0;
    for (; i < n; ++i) {
      const std::size_t at = std::max(home(static_cast<std::uint32_t>(from[i] >> 32)), next);
      if (at >= slots_.size()) break;  // the rest wrap around to the front: probed in below
      slots_[at] = from[i];
      next = at + 1;
    }
    for (; i < n; ++i) put(from[i]);
    size_ = n;
    return true;
  }

  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return slots_.size(); }
  /// Makes room for `n` keys without growing again.
  void reserve(std::size_t n) {
    std::size_t cap = 64;
    while (cap * 3 < n * 4) cap *= 2;
    if (cap > slots_.size()) rehash(cap);
  }

 private:
  // The home slot of a tag: tag × capacity / 2^32, in 128 bits (the capacity reaches 2^33 near the
  // 2^32-key limit).
  std::size_t home(std::uint32_t tag) const noexcept {
    __extension__ typedef unsigned __int128 wide;
    return static_cast<std::size_t>((static_cast<wide>(tag) * slots_.size()) >> 32);
  }
  void put(std::uint64_t slot) noexcept {
    std::size_t i = home(static_cast<std::uint32_t>(slot >> 32));
    while (slots_[i] != 0) i = (i + 1) & mask_;
    slots_[i] = slot;
  }
  void rehash(std::size_t cap) {
    big_vector<std::uint64_t> old(cap, 0);  // allocated first: if it throws, nothing changed
    old.swap(slots_);
    mask_ = cap - 1;
    // In slot order, which is tag order except for a cluster that wrapped around the end: the
    // writes advance through the new table as the reads advance through the old one.
    for (std::uint64_t s : old)
      if (s != 0) put(s);
  }

  big_vector<std::uint64_t> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

/// A count for each 64-bit key (any key but ~0), every count starting at 0. Open addressing with
/// linear probing, at most 3/4 full; it grows by doubling, so that incrementing a count never
/// allocates but for that amortized growth. A key keeps its slot when its count returns to 0
/// (there is no erase), which keeps probing simple.
class CountMap {
 public:
  std::uint32_t get(std::uint64_t key) const noexcept {
    if (slots_.empty()) return 0;
    for (std::size_t i = slot(key);; i = (i + 1) & mask_) {
      if (slots_[i].key == key) return slots_[i].count;
      if (slots_[i].key == free) return 0;
    }
  }
  /// The count of `key`, made (at 0) when absent.
  std::uint32_t& operator[](std::uint64_t key) {
    if ((size_ + 1) * 4 > slots_.size() * 3) rehash(slots_.empty() ? 64 : slots_.size() * 2);
    std::size_t i = slot(key);
    for (; slots_[i].key != free; i = (i + 1) & mask_)
      if (slots_[i].key == key) return slots_[i].count;
    slots_[i].key = key;
    ++size_;
    return slots_[i].count;
  }
  /// Keys that have a slot.
  std::size_t size() const noexcept { return size_; }
  /// Bytes held (for memory accounting).
  std::size_t bytes() const noexcept { return slots_.capacity() * sizeof(Slot); }

 private:
  static constexpr std::uint64_t free = ~std::uint64_t{0};
  struct Slot {
    std::uint64_t key = free;
    std::uint32_t count = 0;
  };
  std::size_t slot(std::uint64_t key) const noexcept {
    key *= 0x9e3779b97f4a7c15ULL;  // Fibonacci hashing: the high bits mix every bit of the key
    return static_cast<std::size_t>(key >> 32 ^ key) & mask_;
  }
  void rehash(std::size_t cap) {
    big_vector<Slot> old(cap, Slot{});  // allocated first: if it throws, nothing changed
    old.swap(slots_);
    mask_ = cap - 1;
    for (const Slot& o : old) {
      if (o.key == free) continue;
      std::size_t i = slot(o.key);
      while (slots_[i].key != free) i = (i + 1) & mask_;
      slots_[i] = o;
    }
  }

  big_vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

}  // namespace upline
