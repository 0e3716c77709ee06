// crash_loop.cpp — kill the real CLI with SIGKILL again and again while it applies a long stream.
//
//   upline_crash_loop UPLINE_CLI [KILLS [SEED [MEMBERS PURCHASES]]]
//
// Generates a stream (upline::Simulation plus rejections of every sort), then loops: runs
// `upline apply --data DIR --events REST.jsonl --sync every|group [--snapshot-every N]` as a child
// process, reads its acknowledgements ({"seq":n,"status":…}, printed only once durable) from a pipe,
// and kills it with SIGKILL after a random number of acknowledgements or a random number of
// microseconds (seeded upline::Rng: the same seed gives the same plan of kills). After each kill it
// recovers the directory in this process — Store::open, or every other time the read-only rebuild(),
// which leaves a torn tail for the next child to truncate — and checks:
//   - the recovered last_seq is at least every acknowledged seq (nothing acknowledged is lost),
//     and never goes backwards between kills;
//   - each acknowledgement's status is the one an in-memory engine gives that event;
//   - the recovered digest equals an in-memory replay of the first last_seq events;
// then continues with the events after last_seq. At the end the digest equals an uninterrupted
// in-memory run over the whole stream, and verify() passes. Prints
//   crash-loop: N kills, M events, ok
// Local processes only (fork/exec and a pipe); no network.
#include "support.hpp"

#include "upline/journal.hpp"
#include "upline/door.hpp"
#include "upline/store.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <poll.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

using namespace upline;
using upline::testing::Replayer;
using upline::testing::Stream;
using upline::testing::TempDir;

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "crash-loop: FAILED: %s\n", why.c_str());
  std::exit(1);
}

struct Child {
  pid_t pid = -1;
  int out = -1;  // read end of its stdout
};

Child spawn(const std::vector<std::string>& argv, const std::string& stderr_path) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) die(std::string("pipe: ") + std::strerror(errno));
  const pid_t pid = ::fork();
  if (pid < 0) die(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::dup2(fds[1], 1);
    const int err = ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (err >= 0) ::dup2(err, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  return Child{pid, fds[0]};
}

// What a child run did.
struct ChildRun {
  std::vector<std::pair<std::uint64_t, std::string>> acks;  // (seq, status)
  bool killed = false;
  int exit_code = -1;  // when it exited on its own
};

enum class KillBy { acks, micros, never };

ChildRun run_child(const Child& c, KillBy by, std::uint64_t limit) {
  using clock = std::chrono::steady_clock;
  ChildRun o;
  const auto deadline = clock::now() + std::chrono::microseconds(by == KillBy::micros ? limit : 0);
  std::string buf;
  bool open = true;
  auto kill_now = [&] {
    if (!o.killed) {
      ::kill(c.pid, SIGKILL);
      o.killed = true;
    }
  };
  if (by == KillBy::acks && limit == 0) kill_now();
  while (open) {
    int timeout = -1;
    if (by == KillBy::micros && !o.killed) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
      if (left <= 0) {
        kill_now();
      } else {
        timeout = static_cast<int>(left);
      }
    }
    pollfd p{c.out, POLLIN, 0};
    const int r = ::poll(&p, 1, timeout);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die(std::string("poll: ") + std::strerror(errno));
    if (r == 0) continue;  // the deadline: the loop kills
    char chunk[4096];
    const ssize_t n = ::read(c.out, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      open = false;
      break;
    }
    buf.append(chunk, static_cast<std::size_t>(n));
    std::size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos) {
      const std::string line = buf.substr(0, nl);
      buf.erase(0, nl + 1);
      unsigned long long seq = 0;
      char status[64] = {0};
      if (std::sscanf(line.c_str(), "{\"seq\":%llu,\"status\":\"%63[a-z_]\"}", &seq, status) != 2) die("a line that is not an ack: " + line);
      // An ack read after the kill was printed before it: it counts like any other. (A line cut
      // short by the kill — stdout reaches the pipe in 4 KiB writes — was never acknowledged.)
      o.acks.emplace_back(seq, status);
      if (by == KillBy::acks && o.acks.size() >= limit) kill_now();
    }
  }
  ::close(c.out);
  int st = 0;
  while (::waitpid(c.pid, &st, 0) < 0)
    if (errno != EINTR) die(std::string("waitpid: ") + std::strerror(errno));
  if (WIFEXITED(st)) {
    o.exit_code = WEXITSTATUS(st);
    o.killed = false;  // it finished (or failed) before the signal landed
    if (!buf.empty()) die("a partial line at the end of the child's output: " + buf);
  } else if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)) {
    die("the child ended in an unexpected way (status " + std::to_string(st) + ")");
  }
  return o;
}

void write_rest(const std::string& path, const Stream& s, std::size_t from) {
  std::string text;
  for (std::size_t i = from; i < s.lines.size(); ++i) {
    text += s.lines[i];
    text += '\n';
  }
  upline::testing::write_file(path, text);
}

std::string tail_of_all(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec) ? upline::testing::read_file(path) : std::string();
}

std::string tail_of(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return {};
  const std::string all = upline::testing::read_file(path);
  return all.size() > 2000 ? all.substr(all.size() - 2000) : all;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s UPLINE_CLI [KILLS [SEED [MEMBERS PURCHASES]]]\n", argv[0]);
    return 2;
  }
  const std::string cli = argv[1];
  const std::uint64_t kills_wanted = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 150;
  const std::uint64_t seed = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1;
  const std::uint64_t members = argc > 5 ? std::strtoull(argv[4], nullptr, 10) : 250;
  const std::uint64_t purchases = argc > 5 ? std::strtoull(argv[5], nullptr, 10) : 2000;
  if (!std::filesystem::exists(cli)) die("no CLI at " + cli);
  std::signal(SIGPIPE, SIG_IGN);

  const Stream s = upline::testing::make_stream(members, purchases, seed);
  const std::size_t total = s.lines.size();
  const std::string uninterrupted = upline::testing::replay_digest(s.plan, s.lines, total);

  TempDir t("upline-crash-loop");
  const std::string dir = t / "data", plan = t / "plan.json", rest = t / "rest.jsonl", errlog = t / "stderr.log";
  upline::testing::write_file(plan, s.plan);

  Rng rng(seed * 1'000'003 + 17);
  Replayer ref(s.plan);  // advanced to `last` as the run goes
  std::uint64_t last = 0, kills = 0, runs = 0, torn_seen = 0, snapshots_used = 0, killed_before_create = 0, max_run_acks = 0;
  std::uint64_t group_runs = 0, by_acks = 0, by_time = 0, torn_made = 0;
  bool finishing = false;

  while (true) {
    ++runs;
    if (runs > kills_wanted * 4 + 100) die("too many runs without finishing the stream");
    const bool group = !finishing && runs % 2 == 0;
    group_runs += group;
    std::vector<std::string> args = {cli, "apply", "--data", dir, "--events", rest, "--sync", group ? "group" : "every"};
    if (!holds_store(dir)) {
      args.push_back("--plan");
      args.push_back(plan);
    }
    if (runs % 3 == 0) {
      args.push_back("--snapshot-every");
      args.push_back(std::to_string(50 + rng.below(250)));
    }
    // Small journal segments, so that kills land around every roll-over, and background
    // snapshots every few segments, so that kills land while a snapshot child is writing.
    args.push_back("--segment-bytes");
    args.push_back(std::to_string(4096 + rng.below(8192)));
    args.push_back("--snapshot-bytes");
    args.push_back(std::to_string(runs % 2 == 0 ? 16384 + rng.below(32768) : 0));
    write_rest(rest, s, last);

    // When to kill: after a number of acks that spreads the stream over the kills still wanted, or
    // after a number of microseconds (which also lands in start-up, recovery and group batches).
    KillBy by = KillBy::never;
    std::uint64_t limit = 0;
    if (!finishing) {
      const std::uint64_t left_kills = kills_wanted > kills ? kills_wanted - kills : 1;
      const std::uint64_t per_kill = (total - last) / left_kills;
      if (!group && rng.chance(2, 3)) {
        by = KillBy::acks;
        limit = rng.below(2 * per_kill + 2);
        ++by_acks;
      } else {
        by = KillBy::micros;
        limit = rng.below(group ? 40'000 : 25'000);
        ++by_time;
      }
    }
    const Child c = spawn(args, errlog);
    const ChildRun o = run_child(c, by, limit);

    // Every ack is the next seq, with the status an in-memory engine gives that event.
    std::uint64_t expect = last + 1, acked = last;
    for (const auto& [seq, status] : o.acks) {
      if (seq != expect) die("ack for seq " + std::to_string(seq) + " where " + std::to_string(expect) + " was due (run " + std::to_string(runs) + ")");
      if (seq > total) die("ack for seq " + std::to_string(seq) + " beyond the stream");
      if (status != code_name(s.codes[seq - 1]))
        die("seq " + std::to_string(seq) + " acknowledged as " + status + ", expected " + std::string(code_name(s.codes[seq - 1])));
      acked = seq;
      ++expect;
    }
    max_run_acks = std::max<std::uint64_t>(max_run_acks, o.acks.size());
    if (o.killed) {
      ++kills;
    } else if (o.exit_code != 0) {
      die("the child exited with " + std::to_string(o.exit_code) + " (run " + std::to_string(runs) + "):\n" + tail_of(errlog));
    } else if (acked != total) {
      die("the child finished without acknowledging the whole stream (" + std::to_string(acked) + " of " + std::to_string(total) + ")");
    }

    // Recover in this process and check.
    std::uint64_t recovered = 0;
    std::string digest;
    if (!std::filesystem::exists(dir + "/journal")) {
      // Killed before the store was created (the journal appears by an atomic rename).
      if (acked != 0) die("acknowledged events but there is no journal");
      ++killed_before_create;
    } else if (rng.chance(1, 2)) {
      try {
        auto store = Store::open(dir, StoreOptions{Durability::none});
        recovered = store->last_seq();
        digest = store->engine().digest();
        torn_seen += store->recovery().torn_tail;
        snapshots_used += !store->recovery().snapshot.empty();
      } catch (const StoreError& e) {
        die(std::string("Store::open after kill ") + std::to_string(kills) + ": " + e.what());
      }
    } else {
      try {
        Engine e = rebuild(dir, std::nullopt, &recovered);
        digest = e.digest();
      } catch (const StoreError& e) {
        die(std::string("rebuild after kill ") + std::to_string(kills) + ": " + e.what());
      }
    }
    if (recovered < acked)
      die("lost acknowledged events: acknowledged up to seq " + std::to_string(acked) + ", recovered " + std::to_string(recovered));
    if (recovered < last) die("the recovered sequence went backwards: " + std::to_string(last) + " → " + std::to_string(recovered));
    if (recovered > total) die("recovered more events than the stream has");
    for (std::uint64_t i = last; i < recovered; ++i) ref.apply(s.lines[i]);
    last = recovered;
    if (last > 0 && digest != ref.digest())
      die("after kill " + std::to_string(kills) + " the state at seq " + std::to_string(last) + " has digest " + digest + ", a replay " + ref.digest());

    if (!o.killed) break;  // the stream is done
    if (kills >= kills_wanted) finishing = true;

    // A SIGKILL rarely cuts a write() short, so now and then make the torn write ourselves: the
    // first part of the next record, as a crash in the middle of appending it would leave. It
    // was never acknowledged; the next child (or this process) must truncate it.
    if (last < total && holds_store(dir) && rng.chance(1, 5)) {
      const Segment tail = journal_segments(posix_file_system(), dir).back();
      const std::string image = upline::testing::read_file(tail.path);
      const JournalScan scan = scan_segments(posix_file_system(), {tail}, tail.first_seq);
      if (scan.end == JournalScan::End::clean && scan.last_seq == last) {
        std::string payload;
        const ParsedEvent parsed = parse_event(s.lines[last]);
        if (const auto* e = std::get_if<Event>(&parsed)) encode_record_payload(payload, last + 1, s.codes[last], e, {});
        else encode_record_payload(payload, last + 1, s.codes[last], nullptr, s.lines[last]);
        std::string record;
        frame_record(record, payload, scan.chain);
        upline::testing::write_file(tail.path, image + record.substr(0, 1 + rng.below(record.size() - 1)));
        ++torn_made;
      }
    }
  }

  // The end: everything there, the same digest as an uninterrupted run, and verify agrees.
  auto store = Store::open(dir, StoreOptions{Durability::none});
  if (store->last_seq() != total) die("the store ends at seq " + std::to_string(store->last_seq()) + " of " + std::to_string(total));
  if (store->engine().digest() != uninterrupted) die("final digest " + store->engine().digest() + " differs from an uninterrupted run's " + uninterrupted);
  store.reset();
  const Verification v = verify(dir);
  if (!v.ok) {
    std::string lines;
    for (const auto& l : v.lines) lines += l + "\n";
    die("verify failed:\n" + lines);
  }
  // Torn tails the children truncated (they report them on standard error).
  std::uint64_t torn_by_children = 0;
  {
    const std::string log = tail_of_all(errlog);
    for (std::size_t p = log.find("torn tail"); p != std::string::npos; p = log.find("torn tail", p + 1)) ++torn_by_children;
  }
  std::printf("crash-loop: %llu runs (%llu group), %llu set to end after a number of acks and %llu after a time; %llu torn writes made, "
              "%llu truncated by a child and %llu in-process; %llu in-process recoveries from a snapshot, %llu kills before the store existed, "
              "up to %llu acks per run, %zu events rejected\n",
              static_cast<unsigned long long>(runs), static_cast<unsigned long long>(group_runs), static_cast<unsigned long long>(by_acks),
              static_cast<unsigned long long>(by_time), static_cast<unsigned long long>(torn_made), static_cast<unsigned long long>(torn_by_children),
              static_cast<unsigned long long>(torn_seen), static_cast<unsigned long long>(snapshots_used),
              static_cast<unsigned long long>(killed_before_create), static_cast<unsigned long long>(max_run_acks), s.rejected());
  std::printf("crash-loop: %llu kills, %zu events, ok\n", static_cast<unsigned long long>(kills), total);
  return 0;
}
