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
//
// None of these is ever iterated into an output: they only answer lookups, so the engine's
// results do not depend on hash order or on addresses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <string_view>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace upline {

template <class T>
struct BigAllocator {
  using value_type = T;
  static constexpr std::size_t huge_page = std::size_t{2} << 20;

  BigAllocator() noexcept = default;
  template <class U>
  BigAllocator(const BigAllocator<U>&) noexcept {}

  T* allocate(std::size_t n) {
    if (n > std::numeric_limits<std::size_t>::max() / sizeof(T)) throw std::bad_array_new_length();
    const std::size_t bytes = n * sizeof(T);
    void* p = nullptr;
    if (bytes >= huge_page) {
      const std::size_t rounded = (bytes + huge_page - 1) / huge_page * huge_page;
      p = std::aligned_alloc(huge_page, rounded);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
      if (p) ::madvise(p, rounded, MADV_HUGEPAGE);  // advice only: failure changes nothing
#endif
    } else {
      p = std::malloc(bytes == 0 ? 1 : bytes);
    }
    if (!p) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t) noexcept { std::free(p); }

  template <class U>
  bool operator==(const BigAllocator<U>&) const noexcept { return true; }
};

template <class T>
using big_vector = std::vector<T, BigAllocator<T>>;

/// Append-only storage for strings of at most 255 bytes. Addresses never change.
class StringArena {
 public:
  static constexpr std::size_t block = std::size_t{1} << 20;

  std::string_view add(std::string_view s) {
    if (blocks_.empty() || used_ + s.size() > block) {
      blocks_.push_back(std::make_unique<char[]>(block));
      used_ = 0;
    }
    char* p = blocks_.back().get() + used_;
    if (!s.empty()) std::memcpy(p, s.data(), s.size());
    used_ += s.size();
    return {p, s.size()};
  }
  /// Bytes reserved (for memory accounting).
  std::size_t capacity() const noexcept { return blocks_.size() * block; }

 private:
  std::vector<std::unique_ptr<char[]>> blocks_;
  std::size_t used_ = 0;
};

/// A 64-bit hash of a short string (deterministic everywhere; only ever used for lookups).
inline std::uint64_t hash_key(std::string_view s) noexcept {
  std::uint64_t h = 0x9e3779b97f4a7c15ULL ^ (s.size() * 0xff51afd7ed558ccdULL);
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 29;
  }
  std::uint64_t tail = 0;
  for (std::size_t k = 0; i < s.size(); ++i, k += 8) tail |= std::uint64_t(static_cast<unsigned char>(s[i])) << k;
  h = (h ^ tail) * 0x94d049bb133111ebULL;
  h ^= h >> 31;
  h *= 0xbf58476d1ce4e5b9ULL;
  return h ^ (h >> 32);
}

/// String key → index (0 .. 2^32-2) of a record that holds the key. `KeyOf` is a callable
/// `std::string_view(std::uint32_t index)` giving back the key of a record: the index stores only
/// a 32-bit tag of the hash and the index, and compares keys through KeyOf on a tag match.
class KeyIndex {
 public:
  static constexpr std::uint32_t none = std::numeric_limits<std::uint32_t>::max();

  template <class KeyOf>
  std::uint32_t find(std::string_view key, const KeyOf& key_of) const noexcept {
    if (slots_.empty()) return none;
    const std::uint64_t h = hash_key(key);
    const std::uint32_t tag = static_cast<std::uint32_t>(h >> 32);
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      const std::uint64_t s = slots_[i];
      if (s == 0) return none;
      if (static_cast<std::uint32_t>(s >> 32) == tag && key_of(static_cast<std::uint32_t>(s) - 1) == key) return static_cast<std::uint32_t>(s) - 1;
    }
  }

  /// Inserts a key that is not present, for the record at `index`.
  template <class KeyOf>
  void insert(std::string_view key, std::uint32_t index, const KeyOf& key_of) {
    if ((size_ + 1) * 4 > slots_.size() * 3) grow(key_of);
    put(hash_key(key), index);
    ++size_;
  }

  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return slots_.size(); }
  /// Makes room for `n` keys without growing again.
  template <class KeyOf>
  void reserve(std::size_t n, const KeyOf& key_of) {
    std::size_t cap = 64;
    while (cap * 3 < n * 4) cap *= 2;
    if (cap > slots_.size()) rehash(cap, key_of);
  }

 private:
  void put(std::uint64_t h, std::uint32_t index) noexcept {
    std::size_t i = h & mask_;
    while (slots_[i] != 0) i = (i + 1) & mask_;
    slots_[i] = (h >> 32 << 32) | (std::uint64_t(index) + 1);
  }
  template <class KeyOf>
  void grow(const KeyOf& key_of) {
    rehash(slots_.empty() ? 64 : slots_.size() * 2, key_of);
  }
  template <class KeyOf>
  void rehash(std::size_t cap, const KeyOf& key_of) {
    big_vector<std::uint64_t> old = std::move(slots_);
    slots_.assign(cap, 0);
    mask_ = cap - 1;
    for (std::uint64_t s : old)
      if (s != 0) put(hash_key(key_of(static_cast<std::uint32_t>(s) - 1)), static_cast<std::uint32_t>(s) - 1);
  }

  big_vector<std::uint64_t> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

}  // namespace upline
