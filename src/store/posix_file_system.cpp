// posix_file_system.cpp — the real FileSystem (file_system.hpp): POSIX calls, EINTR retried,
// every failure a StoreError naming the path and the errno text.
#include "upline/file_system.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace upline {

namespace {

[[noreturn]] void io_fail(const std::string& what, const std::string& path) {
  throw StoreError(StoreError::Kind::io, path + ": " + what + ": " + std::strerror(errno));
}

class PosixFileSystem final : public FileSystem {
 public:
  bool exists(const std::string& path) override {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
  }
  std::string read(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) io_fail("cannot open", path);
    std::string out;
    char buf[1 << 16];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        ::close(fd);
        io_fail("read error", path);
      }
      if (n == 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
  }
  int open_read(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) io_fail("cannot open", path);
    return fd;
  }
  std::size_t read_at(int fd, std::uint64_t offset, char* buf, std::size_t n) override {
    std::size_t got = 0;
    while (got < n) {
      ssize_t r = ::pread(fd, buf + got, n - got, static_cast<off_t>(offset + got));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) io_fail("read error", "fd " + std::to_string(fd));
      if (r == 0) break;
      got += static_cast<std::size_t>(r);
    }
    return got;
  }
  std::uint64_t file_size(int fd) override {
    struct stat st;
    if (::fstat(fd, &st) != 0) io_fail("cannot stat", "fd " + std::to_string(fd));
    return static_cast<std::uint64_t>(st.st_size);
  }
  std::vector<std::string> list(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (!d) io_fail("cannot list", dir);
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(std::move(n));
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
  }
  void make_dir(const std::string& path) override {
    if (::mkdir(path.c_str(), 0777) != 0 && errno != EEXIST) io_fail("cannot create directory", path);
  }
  int open_append(const std::string& path, bool create) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC | (create ? O_CREAT : 0), 0666);
    if (fd < 0) io_fail("cannot open for appending", path);
    return fd;
  }
  int create(const std::string& path) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) io_fail("cannot create", path);
    return fd;
  }
  void write(int fd, std::string_view data) override {
    while (!data.empty()) {
      ssize_t n = ::write(fd, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) io_fail("write error", "fd " + std::to_string(fd));
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  void sync(int fd) override {
    if (::fsync(fd) != 0) io_fail("fsync error", "fd " + std::to_string(fd));
  }
  void close(int fd) override { ::close(fd); }
  void truncate(const std::string& path, std::uint64_t size) override {
    if (::truncate(path.c_str(), static_cast<off_t>(size)) != 0) io_fail("cannot truncate", path);
  }
  void rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) io_fail("cannot rename to " + to, from);
  }
  void sync_dir(const std::string& dir) override {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) io_fail("cannot open directory", dir);
    if (::fsync(fd) != 0) {
      ::close(fd);
      io_fail("fsync error", dir);
    }
    ::close(fd);
  }
  void remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) io_fail("cannot remove", path);
  }
  int lock(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) io_fail("cannot open lock file", path);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      throw StoreError(StoreError::Kind::usage, path + ": the data directory is in use by another process");
    }
    return fd;
  }
};

}  // namespace

FileSystem& posix_file_system() {
  static PosixFileSystem fs;
  return fs;
}

}  // namespace upline
