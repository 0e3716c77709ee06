// upline/file_system.hpp — the seam between a data directory and the operating system.
//
// Store, the journal and snapshots do all their I/O through FileSystem, so that tests can inject
// write and fsync failures or a full disk (tests/test_store_faults.cpp). posix_file_system() is
// the real one (src/store/posix_file_system.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace upline {

/// An I/O failure or a damaged data directory. The message names the file and, for damage, the
/// offset and the sequence number.
class StoreError : public std::runtime_error {
 public:
  enum class Kind { io, corrupt, usage };
  StoreError(Kind k, const std::string& msg) : std::runtime_error(msg), kind_(k) {}
  Kind kind() const noexcept { return kind_; }

 private:
  Kind kind_;
};

/// The seam between the store and the operating system, so that tests can inject write and fsync
/// failures or a full disk. Every method throws StoreError(io) on failure.
class FileSystem {
 public:
  virtual ~FileSystem() = default;
  virtual bool exists(const std::string& path) = 0;
  virtual std::string read(const std::string& path) = 0;
  /// Opens an existing file for reading; returns a descriptor (close it with close()).
  virtual int open_read(const std::string& path) = 0;
  /// Reads up to `n` bytes at `offset`; returns how many were read (fewer only at the end).
  virtual std::size_t read_at(int fd, std::uint64_t offset, char* buf, std::size_t n) = 0;
  /// The size in bytes of an open file.
  virtual std::uint64_t file_size(int fd) = 0;
  virtual std::vector<std::string> list(const std::string& dir) = 0;  // file names, sorted
  virtual void make_dir(const std::string& path) = 0;
  /// Opens for appending (creating it if `create`); returns a descriptor.
  virtual int open_append(const std::string& path, bool create) = 0;
  /// Creates a new file for writing (truncating one that exists).
  virtual int create(const std::string& path) = 0;
  virtual void write(int fd, std::string_view data) = 0;  // all bytes, or throws
  virtual void sync(int fd) = 0;
  virtual void close(int fd) = 0;
  virtual void truncate(const std::string& path, std::uint64_t size) = 0;
  virtual void rename(const std::string& from, const std::string& to) = 0;
  virtual void sync_dir(const std::string& dir) = 0;
  virtual void remove(const std::string& path) = 0;
  /// Takes an exclusive advisory lock on `path` for this process's lifetime (or throws).
  virtual int lock(const std::string& path) = 0;
};

/// The real file system (POSIX).
FileSystem& posix_file_system();

}  // namespace upline
