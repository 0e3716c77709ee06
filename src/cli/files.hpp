// files.hpp — internal: an events file (JSON Lines) as bytes the event reader can read in place,
// and an output file written through a buffer; shared by `upline replay` and `upline whatif`.
#pragma once

#include "cli.hpp"

#include "upline/door.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <string_view>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace upline::cli {

// An output file ("-": standard output) written through a buffer; every failure names the path.
// `replace`: written under PATH.tmp and renamed over PATH only by commit(), so that a command that
// fails leaves PATH as it was (the temporary file is removed); for a path that exists and is not a
// regular file (a device, a pipe) it writes in place.
class Output {
 public:
  explicit Output(const std::string& path, bool replace = false) : path_(path) {
    if (path == "-") {
      f_ = stdout;
      return;
    }
    struct stat st {};
    if (replace && (::stat(path.c_str(), &st) != 0 || S_ISREG(st.st_mode))) tmp_ = path + ".tmp";
    const std::string& open_path = tmp_.empty() ? path : tmp_;
    f_ = std::fopen(open_path.c_str(), "wb");
    if (!f_) fail(exit_usage, path + ": cannot create: " + std::strerror(errno));
  }
  ~Output() {
    if (f_ && f_ != stdout) std::fclose(f_);
    if (!tmp_.empty()) std::remove(tmp_.c_str());  // not committed
  }
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;
  void write(std::string_view s) {
    if (std::fwrite(s.data(), 1, s.size(), f_) != s.size()) fail(exit_usage, path_ + ": cannot write: " + std::strerror(errno));
  }
  /// Flushes and closes; a failure (a full disk) is reported now.
  void finish() {
    if (!f_) return;
    const bool ok = std::fflush(f_) == 0 && (f_ == stdout || std::fclose(f_) == 0);
    if (f_ != stdout) f_ = nullptr;
    if (!ok) fail(exit_usage, path_ + ": cannot write: " + std::strerror(errno));
  }
  /// Puts a `replace` output in place (nothing otherwise).
  void commit() {
    if (tmp_.empty()) return;
    if (std::rename(tmp_.c_str(), path_.c_str()) != 0) fail(exit_usage, path_ + ": cannot write: " + std::strerror(errno));
    tmp_.clear();
  }
  void close() {
    finish();
    commit();
  }

 private:
  std::string path_, tmp_;
  std::FILE* f_ = nullptr;
};

/// Whether two paths name the same existing file (device and inode), e.g. an output that would
/// overwrite an input.
inline bool same_file(const std::string& a, const std::string& b) {
  if (a == "-" || b == "-") return false;
  struct stat sa {}, sb {};
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

// The events file's bytes: mapped when it is a regular file (no copy, no fresh memory), read
// whole otherwise (standard input, a pipe). `readable` is how far bytes may be read: the mapping
// ends at a page boundary, past the file's last byte; a read buffer keeps its padding.
class EventsFile {
 public:
  explicit EventsFile(const std::string& path) {
    if (path != "-") {
      check_file(path);
      const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      struct stat st {};
      if (fd >= 0 && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        size_ = static_cast<std::size_t>(st.st_size);
        void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        if (p != MAP_FAILED) {
          map_ = static_cast<const char*>(p);
          const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
          readable_ = (size_ + page - 1) / page * page;
          ::madvise(p, size_, MADV_SEQUENTIAL);
        }
      }
      if (fd >= 0) ::close(fd);
      if (map_) return;
    }
    buffer_ = read_file(path, EventReader::padding);
    size_ = buffer_.size();
    readable_ = size_ + EventReader::padding;
  }
  ~EventsFile() {
    if (map_) ::munmap(const_cast<char*>(map_), size_);
  }
  EventsFile(const EventsFile&) = delete;
  EventsFile& operator=(const EventsFile&) = delete;

  const char* data() const noexcept { return map_ ? map_ : buffer_.data(); }
  std::size_t size() const noexcept { return size_; }
  /// Whether `padding` bytes after [0, end) may be read.
  bool padded(std::size_t end) const noexcept { return end + EventReader::padding <= readable_; }

 private:
  const char* map_ = nullptr;
  std::string buffer_;
  std::size_t size_ = 0, readable_ = 0;
};

/// Calls `line(seq, text, padded)` for each non-blank line of `file` in order, seq counting from 1
/// (the sequence numbers of `upline replay --effects`); `padded` says whether EventReader::padding
/// bytes after it may be read (EventReader::read_padded). Stops when `line` returns false.
template <class Line>
void for_each_line(const EventsFile& file, Line&& line) {
  const char* const events = file.data();
  const std::size_t size = file.size();
  std::uint64_t seq = 0;
  for (std::size_t pos = 0; pos < size;) {
    const char* nl = static_cast<const char*>(std::memchr(events + pos, '\n', size - pos));
    const std::size_t end = nl ? static_cast<std::size_t>(nl - events) : size;
    const std::string_view text(events + pos, end - pos);
    pos = end + 1;
    if (blank_line(text)) continue;
    if (!line(++seq, text, file.padded(end))) return;
  }
}

}  // namespace upline::cli
