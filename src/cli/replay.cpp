// replay.cpp — `upline replay`: the conformance interface of SPEC §10.
//
// The events file is read whole into one buffer (with the padding the event reader wants after
// each line), each non-blank line goes through the text door, result lines are written through
// one reused buffer, and the dump is written once at the end.
#include "cli.hpp"

#include "upline/door.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace upline::cli {

namespace {

struct ReplayOptions {
  std::string plan, events, dump, effects;
};

// An output file ("-": standard output) written through a buffer; every failure names the path.
class Output {
 public:
  explicit Output(const std::string& path) : path_(path) {
    if (path == "-") {
      f_ = stdout;
      return;
    }
    f_ = std::fopen(path.c_str(), "wb");
    if (!f_) fail(exit_usage, path + ": cannot create: " + std::strerror(errno));
  }
  ~Output() {
    if (f_ && f_ != stdout) std::fclose(f_);
  }
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;
  void write(std::string_view s) {
    if (std::fwrite(s.data(), 1, s.size(), f_) != s.size()) fail(exit_usage, path_ + ": cannot write: " + std::strerror(errno));
  }
  void close() {
    const bool ok = std::fflush(f_) == 0 && (f_ == stdout || std::fclose(f_) == 0);
    if (f_ != stdout) f_ = nullptr;
    if (!ok) fail(exit_usage, path_ + ": cannot write: " + std::strerror(errno));
  }

 private:
  std::string path_;
  std::FILE* f_ = nullptr;
};

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

int replay(const ReplayOptions& o) {
  if (o.plan == "-" && o.events == "-") fail(exit_usage, "--plan and --events cannot both read standard input");
  Engine engine(load_plan(o.plan));
  const EventsFile file(o.events);
  const char* const events = file.data();
  const std::size_t size = file.size();

  std::unique_ptr<Output> effects;
  if (!o.effects.empty()) effects = std::make_unique<Output>(o.effects);
  LineDoor door(engine);
  std::string out;
  std::uint64_t seq = 0;
  for (std::size_t pos = 0; pos < size;) {
    const char* nl = static_cast<const char*>(std::memchr(events + pos, '\n', size - pos));
    const std::size_t end = nl ? static_cast<std::size_t>(nl - events) : size;
    const std::string_view line(events + pos, end - pos);
    pos = end + 1;
    if (blank_line(line)) continue;
    ++seq;
    if (file.padded(end)) door.apply_padded(line);
    else door.apply(line);  // the last line of a file that ends at a page boundary: copied
    if (effects) {
      door.append_result(out, seq);
      out += '\n';
      if (out.size() >= (1u << 20)) {
        effects->write(out);
        out.clear();
      }
    }
  }
  if (effects) {
    effects->write(out);
    effects->close();
  }
  out.clear();
  append_dump_json(out, engine.state());
  Output dump(o.dump);
  dump.write(out);
  dump.close();
  return exit_ok;
}

}  // namespace

void add_replay(CLI::App& app) {
  auto o = std::make_shared<ReplayOptions>();
  CLI::App* c = app.add_subcommand("replay", "apply a plan and an event stream; write the state (and effects)");
  set_usage(c, "upline replay --plan PLAN.json --events EVENTS.jsonl --dump STATE.json [--effects EFFECTS.jsonl]");
  c->description(
      "Applies one JSON event per line of EVENTS.jsonl (blank lines skipped) to an engine built from\n"
      "PLAN.json (a file, or a bundled plan: four-tier, deep), then writes the final state to\n"
      "STATE.json (SPEC §10). With --effects, also writes one line per event:\n"
      "{\"seq\":n,\"status\":\"ok\"|CODE,\"effects\":[...]}, plus \"message\" for a rejection.\n"
      "'-' as a path means standard input (events) or standard output (dump, effects).\n"
      "If PLAN.json is invalid nothing is written and the exit status is 1.");
  c->add_option("--plan", o->plan, "the plan: a file or a bundled name")->required()->type_name("PLAN.json");
  c->add_option("--events", o->events, "one JSON event per line ('-': standard input)")->required()->type_name("EVENTS.jsonl");
  c->add_option("--dump", o->dump, "where the final state goes ('-': standard output)")->required()->type_name("STATE.json");
  c->add_option("--effects", o->effects, "one result line per event ('-': standard output)")->type_name("EFFECTS.jsonl");
  set_body(c, [o] { return replay(*o); });
}

}  // namespace upline::cli
