// files.hpp — internal: copying a file through the FileSystem seam, in bounded memory, made durable
// under a temporary name and then renamed (archive.cpp, backup.cpp).
#pragma once

#include "upline/file_system.hpp"

#include <algorithm>
#include <cstdint>
#include <string>

namespace upline::detail {

/// A file open for reading, closed when it goes out of scope.
struct ReadFile {
  FileSystem& fs;
  int fd;
  ReadFile(FileSystem& f, const std::string& path) : fs(f), fd(f.open_read(path)) {}
  ReadFile(const ReadFile&) = delete;
  ReadFile& operator=(const ReadFile&) = delete;
  ~ReadFile() {
    try {
      fs.close(fd);
    } catch (...) {
    }
  }
};

/// Copies the first `limit` bytes of `from` (all of it when it is shorter) to `to`: written to
/// `to`.tmp, fsynced, renamed; the directory's fsync is the caller's. Returns the bytes copied.
inline std::uint64_t copy_durably(FileSystem& fs, const std::string& from, const std::string& to, std::uint64_t limit = UINT64_MAX) {
  const int in = fs.open_read(from);
  std::uint64_t copied = 0;
  try {
    const std::uint64_t size = std::min(fs.file_size(in), limit);
    const int out = fs.create(to + ".tmp");
    try {
      std::string buf(std::size_t{1} << 20, '\0');
      while (copied < size) {
        const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size - copied));
        const std::size_t got = fs.read_at(in, copied, buf.data(), want);
        if (got == 0) break;  // the file shrank meanwhile: what was there is copied
        fs.write(out, std::string_view(buf.data(), got));
        copied += got;
      }
      fs.sync(out);
    } catch (...) {
      fs.close(out);
      fs.remove(to + ".tmp");
      throw;
    }
    fs.close(out);
    fs.rename(to + ".tmp", to);
  } catch (...) {
    fs.close(in);
    throw;
  }
  fs.close(in);
  return copied;
}

/// Whether two files hold the same bytes (streamed).
inline bool same_bytes(FileSystem& fs, const std::string& a, const std::string& b) {
  ReadFile fa(fs, a), fb(fs, b);
  bool same = fs.file_size(fa.fd) == fs.file_size(fb.fd);
  std::string x(std::size_t{1} << 20, '\0'), y(x.size(), '\0');
  for (std::uint64_t off = 0; same;) {
    const std::size_t n = fs.read_at(fa.fd, off, x.data(), x.size());
    const std::size_t m = fs.read_at(fb.fd, off, y.data(), y.size());
    if (n != m || x.compare(0, n, y, 0, m) != 0) same = false;
    if (n == 0) break;
    off += n;
  }
  return same;
}

}  // namespace upline::detail
