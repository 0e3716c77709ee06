// data.cpp — the data-directory commands: apply, status, dump, verify, export, snapshot.
#include "cli.hpp"

#include "until.hpp"
#include "upline/door.hpp"
#include "upline/store.hpp"
#include "upline/store_open.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <poll.h>

namespace upline::cli {

namespace {

const char* const about_data =
    "A data directory holds a durable engine: a journal of every submitted event (accepted and\n"
    "rejected, numbered from 1) and snapshots of the state. Opening it recovers from the newest\n"
    "snapshot plus the journal; a torn tail is truncated and reported on standard error, corruption\n"
    "refuses (exit 1). docs/DURABILITY.md has the formats.";

struct DataOptions {
  std::string data, plan, events, sync = "every", dump, until, archive, to, period_from;
  std::uint64_t snapshot_every = 0, snapshot_bytes = default_snapshot_bytes, from = 1, until_seq = 0, segment_bytes = default_segment_bytes;
  std::int64_t member = 0;
  bool has_until_seq = false;
};

void print_recovery(const Recovery& r) {
  for (const auto& n : r.notes) std::fprintf(stderr, "upline: %s\n", n.c_str());
}

int apply(const DataOptions& o) {
  StoreOptions options;
  const auto d = parse_durability(o.sync);
  if (!d) fail(exit_usage, "--sync: \"" + o.sync + "\" is not every, group or none");
  options.durability = *d;
  options.snapshot_every = o.snapshot_every;
  options.segment_bytes = o.segment_bytes;
  options.snapshot_bytes = o.snapshot_bytes;
  // One rule for every door (store_open.hpp): --plan creates DIR; for an existing DIR it may be
  // omitted, and if given must be the plan DIR was created with.
  std::optional<Plan> plan;
  if (!o.plan.empty()) plan = load_plan(o.plan);
  else if (!holds_store(o.data)) fail(exit_usage, o.data + " holds no store yet: give --plan PLAN.json to create it");
  std::unique_ptr<Store> store = open_or_create_store(o.data, plan ? &*plan : nullptr, options);
  print_recovery(store->recovery());
  std::ifstream file;
  std::istream* in = &std::cin;
  if (o.events != "-") {
    check_file(o.events);
    file.open(o.events, std::ios::binary);
    if (!file) fail(exit_usage, o.events + ": cannot open: " + std::strerror(errno));
    in = &file;
  }
  const std::size_t batch = options.durability == Durability::every ? 1 : 512;
  std::vector<Submitted> acks;
  std::string line;
  auto acknowledge = [&] {
    store->commit();
    for (const Submitted& s : acks) std::printf("{\"seq\":%llu,\"status\":\"%s\"}\n", static_cast<unsigned long long>(s.seq), std::string(code_name(s.code)).c_str());
    std::fflush(stdout);
    acks.clear();
  };
  // On a pipe or terminal, a group is also closed whenever no more input is waiting, so that a
  // client that waits for its acknowledgement before sending more never waits forever.
  auto input_waiting = [&] {
    if (in != &std::cin || std::cin.rdbuf()->in_avail() > 0) return true;
    pollfd p{0, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
  };
  while (std::getline(*in, line)) {
    if (!blank_line(line)) {
      acks.push_back(store->submit(line));
      acks.back().effects.clear();
    }
    if (acks.size() >= batch || (!acks.empty() && !input_waiting())) acknowledge();
  }
  acknowledge();
  return exit_ok;
}

int status(const DataOptions& o) {
  auto store = Store::open(o.data, StoreOptions{Durability::none});
  print_recovery(store->recovery());
  const Engine& e = store->engine();
  const Recovery& r = store->recovery();
  std::printf("data      %s\n", store->dir().c_str());
  std::printf("last seq  %llu\n", static_cast<unsigned long long>(store->last_seq()));
  std::printf("applied   %llu, rejected %llu\n", static_cast<unsigned long long>(e.applied()), static_cast<unsigned long long>(e.rejected()));
  std::printf("members   %zu, orders %zu\n", e.member_count(), e.order_count());
  std::printf("clock     %lld\n", static_cast<long long>(e.clock()));
  std::printf("digest    %s\n", store->digest().c_str());
  if (r.snapshot.empty()) std::printf("snapshot  none (replayed %llu records from the genesis)\n", static_cast<unsigned long long>(r.replayed));
  else
    std::printf("snapshot  %s (sequence %llu, then %llu records replayed)\n", r.snapshot.c_str(), static_cast<unsigned long long>(r.snapshot_seq),
                static_cast<unsigned long long>(r.replayed));
  return exit_ok;
}

// --until of dump and rank-card: no bound when empty.
std::optional<Until> until_option(const std::string& text) {
  if (text.empty()) return std::nullopt;
  const std::optional<Until> until = parse_until(text);
  if (!until) fail(exit_usage, "--until: \"" + text + "\" is not a sequence number, @MS, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[.mmm]Z");
  return until;
}

int dump(const DataOptions& o) {
  const std::optional<Until> until = until_option(o.until);
  std::uint64_t last = 0;
  Engine e = rebuild(o.data, until, &last, nullptr, o.archive);
  const std::string state = dump_json(e);
  if (o.dump == "-") {
    std::cout << state << std::flush;
  } else {
    std::ofstream out(o.dump, std::ios::binary | std::ios::trunc);
    out << state;
    if (!out) fail(exit_usage, o.dump + ": cannot write: " + std::strerror(errno));
  }
  std::fprintf(stderr, "upline dump: state as of sequence %llu, digest %s\n", static_cast<unsigned long long>(last), e.digest().c_str());
  return exit_ok;
}

int rank_card(const DataOptions& o) {
  const std::optional<Until> until = until_option(o.until);
  const Engine e = rebuild(o.data, until, nullptr, nullptr, o.archive);
  const State& s = e.state();
  const std::uint32_t m = s.members.find(o.member);
  if (m == no_member) fail(exit_usage, "--member: member " + std::to_string(o.member) + " is unknown");
  std::string out;
  append_rank_card_json(out, s, m);
  out += '\n';
  std::fwrite(out.data(), 1, out.size(), stdout);
  return exit_ok;
}

int statement(const DataOptions& o) {
  std::optional<Time> from, until;
  if (!o.period_from.empty() && !(from = parse_statement_time(o.period_from))) fail(exit_usage, statement_time_fault("--from", o.period_from));
  if (!o.until.empty() && !(until = parse_statement_time(o.until))) fail(exit_usage, statement_time_fault("--until", o.until));
  try {
    check_statement_period(from, until);
  } catch (const std::invalid_argument& e) {
    fail(exit_usage, std::string("--") + e.what());
  }
  const Statement st = member_statement(o.data, o.member, from, until, nullptr, o.archive);
  if (!st.known) fail(exit_usage, "--member: member " + std::to_string(o.member) + " is unknown");
  std::string out;
  append_statement_json(out, st);
  out += '\n';
  std::fwrite(out.data(), 1, out.size(), stdout);
  return exit_ok;
}

int verify_dir(const DataOptions& o) {
  const Verification v = verify(o.data, nullptr, o.archive);
  for (const auto& l : v.lines) std::printf("%s\n", l.c_str());
  std::printf("%s\n", v.ok ? "verify: ok" : "verify: FAILED");
  return v.ok ? exit_ok : exit_invalid;
}

int export_dir(const DataOptions& o) {
  auto write = [](std::string_view piece) {
    if (std::fwrite(piece.data(), 1, piece.size(), stdout) != piece.size())
      fail(exit_usage, std::string("standard output: write error: ") + std::strerror(errno));
  };
  export_journal(o.data, o.from, o.has_until_seq ? std::optional<std::uint64_t>(o.until_seq) : std::nullopt, write, nullptr, o.archive);
  if (std::fflush(stdout) != 0) fail(exit_usage, std::string("standard output: write error: ") + std::strerror(errno));
  return exit_ok;
}

int archive(const DataOptions& o) {
  const Archived a = archive_journal(o.data, o.to);
  if (a.oldest_snapshot.empty()) {
    std::printf("nothing archived: %s has no snapshot that loads, so recovery needs its whole journal\n", o.data.c_str());
    return exit_ok;
  }
  if (a.moved.empty()) {
    std::printf("nothing archived: every segment before the oldest snapshot, %s, is archived already or still being written\n",
                a.oldest_snapshot.c_str());
    return exit_ok;
  }
  for (const auto& n : a.moved) std::printf("archived  %s\n", n.c_str());
  std::printf("%zu segments (%llu bytes, sequences up to %llu) moved to %s; the oldest snapshot is %s\n", a.moved.size(),
              static_cast<unsigned long long>(a.bytes), static_cast<unsigned long long>(a.through_seq), o.to.c_str(), a.oldest_snapshot.c_str());
  return exit_ok;
}

int backup_dir(const DataOptions& o) {
  const BackupResult b = backup(o.data, o.to);
  for (const auto& n : b.notes) std::fprintf(stderr, "upline backup: %s\n", n.c_str());
  std::printf("backup    %s\n", o.to.c_str());
  std::printf("last seq  %llu\n", static_cast<unsigned long long>(b.seq));
  std::printf("digest    %s\n", b.digest.c_str());
  std::printf("copied    %s, %zu journal segments, %llu bytes\n", b.snapshot.empty() ? "no snapshot" : b.snapshot.c_str(), b.segments,
              static_cast<unsigned long long>(b.bytes));
  return exit_ok;
}

int snapshot(const DataOptions& o) {
  auto store = Store::open(o.data);
  print_recovery(store->recovery());
  const std::string name = store->snapshot();
  std::printf("%s (sequence %llu, digest %s)\n", name.c_str(), static_cast<unsigned long long>(store->last_seq()), store->engine().digest().c_str());
  return exit_ok;
}

// A data command with --data DIR.
CLI::App* command(CLI::App& app, const char* name, const char* summary, const char* usage, const char* description,
                  const std::shared_ptr<DataOptions>& o) {
  CLI::App* c = app.add_subcommand(name, summary);
  set_usage(c, usage);
  c->description(std::string(description) + "\n\n" + about_data);
  c->add_option("--data", o->data, "the data directory")->required()->type_name("DIR");
  return c;
}

}  // namespace

void add_data_commands(CLI::App& app) {
  auto o = std::make_shared<DataOptions>();
  CLI::App* c = command(app, "apply", "create or open DIR, append events durably, acknowledge each",
                        "upline apply --data DIR [--plan PLAN.json] --events EVENTS.jsonl [--sync every|group|none]\n"
                        "                    [--snapshot-every N] [--snapshot-bytes N] [--segment-bytes N]",
                        "Creates DIR from PLAN.json on first use (a file or a bundled name), appends the events of\n"
                        "EVENTS.jsonl ('-': standard input) and prints {\"seq\":n,\"status\":\"ok\"|CODE} for each only once\n"
                        "it is durable: --sync every (fsync per event, the default), group (one fsync per batch of up to\n"
                        "512 events, or whenever no more input is waiting), none (no fsync; for tests).",
                        o);
  c->add_option("--plan", o->plan, "the plan of a new directory: a file or a bundled name")->type_name("PLAN.json");
  c->add_option("--events", o->events, "one JSON event per line ('-': standard input)")->required()->type_name("EVENTS.jsonl");
  c->add_option("--sync", o->sync, "every, group or none (default every)");
  c->add_option("--snapshot-every", o->snapshot_every, "write a snapshot after every N events (default 0: never)")->check(count_in(0, UINT64_MAX));
  c->add_option("--snapshot-bytes", o->snapshot_bytes, "write a snapshot in the background after N journal bytes (default 134217728; 0: never)")
      ->check(count_in(0, UINT64_MAX));
  c->add_option("--segment-bytes", o->segment_bytes, "seal a journal segment past N bytes (default 64 MiB)")->check(count_in(4096, UINT64_MAX));
  set_body(c, [o] { return apply(*o); });

  c = command(app, "status", "last sequence number, digest, members, snapshot in use", "upline status --data DIR",
              "Opens DIR (recovering it) and prints the last sequence number, the counts, the clock, the digest\n"
              "and the snapshot recovery started from.",
              o);
  set_body(c, [o] { return status(*o); });

  c = command(app, "dump", "the state as of a sequence number or a time (SPEC §10 format)",
              "upline dump --data DIR --dump STATE.json [--until SEQ|@MS|YYYY-MM-DD|YYYY-MM-DDTHH:MM:SS[.mmm]Z]",
              "Rebuilds the state as of a sequence number or a time without changing DIR, and writes it as\n"
              "`upline replay` does ('-': standard output).",
              o);
  c->add_option("--dump", o->dump, "where the state goes ('-': standard output)")->required()->type_name("STATE.json");
  c->add_option("--until", o->until, "a sequence number, @MS, a date or an ISO-8601 UTC time")->type_name("POINT");
  c->add_option("--archive", o->archive, "where older journal segments were archived (upline archive)")->type_name("ARCHIVE");
  set_body(c, [o] { return dump(*o); });

  c = command(app, "rank-card", "a member's rank card: tier, benefits, what the next tier asks and what it has",
              "upline rank-card --data DIR --member ID [--until SEQ|@MS|YYYY-MM-DD|YYYY-MM-DDTHH:MM:SS[.mmm]Z]",
              "Rebuilds the state (as of --until, if given) without changing DIR and prints the member's\n"
              "rank card as one JSON line (docs/LAB.md): its tier, status and benefits, and for the next\n"
              "tier each promote_at criterion with what it has and needs, and that tier's benefits.",
              o);
  c->add_option("--member", o->member, "the member's id")->required()->check(CLI::Range(std::int64_t{1}, INT64_MAX))->type_name("ID");
  c->add_option("--until", o->until, "a sequence number, @MS, a date or an ISO-8601 UTC time")->type_name("POINT");
  c->add_option("--archive", o->archive, "where older journal segments were archived (upline archive)")->type_name("ARCHIVE");
  set_body(c, [o] { return rank_card(*o); });

  c = command(app, "statement", "a member's statement: every credit and debit of a period with its cause, opening and closing balance",
              "upline statement --data DIR --member ID [--from TIME] [--until TIME] [--archive ARCHIVE]",
              "Prints the member's statement over the applied times [--from, --until) as one JSON line\n"
              "(docs/SPEC.md §13): the opening balance, every credit and debit with its cause (the order,\n"
              "buyer, shop, amount and rates of a purchase's points; the tier, level and rate of an upline\n"
              "credit; the refund of a clawback; the ref of a redemption; the actor and reason of an\n"
              "adjustment), the totals and the closing balance. TIME is milliseconds since the epoch, @MS,\n"
              "YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[.mmm]Z (UTC). Rebuilds from the newest snapshot before\n"
              "--from; changes nothing in DIR.",
              o);
  c->add_option("--member", o->member, "the member's id")->required()->check(CLI::Range(std::int64_t{1}, INT64_MAX))->type_name("ID");
  c->add_option("--from", o->period_from, "the period's first applied time (default: the beginning)")->type_name("TIME");
  c->add_option("--until", o->until, "the end of the period, not included (default: the journal's end)")->type_name("TIME");
  c->add_option("--archive", o->archive, "where older journal segments were archived (upline archive)")->type_name("ARCHIVE");
  set_body(c, [o] { return statement(*o); });

  c = command(app, "verify", "check every record and snapshot, replay from scratch, compare digests", "upline verify --data DIR",
              "Checks every journal record and snapshot, replays from scratch and compares the digests;\n"
              "prints one line per check and exits 1 if any failed. Changes nothing.",
              o);
  c->add_option("--archive", o->archive, "where older journal segments were archived (upline archive)")->type_name("ARCHIVE");
  set_body(c, [o] { return verify_dir(*o); });

  c = command(app, "export", "the journal as JSON Lines", "upline export --data DIR [--from SEQ] [--until SEQ]",
              "Prints the journal's events from --from to --until (sequence numbers, inclusive) as JSON Lines\n"
              "that `upline replay` reads, with the same outcome for each.",
              o);
  c->add_option("--from", o->from, "the first sequence number (default 1)")->check(count_in(0, UINT64_MAX));
  c->add_option("--until", o->until_seq, "the last sequence number")->check(count_in(0, UINT64_MAX))->each([o](const std::string&) { o->has_until_seq = true; });
  c->add_option("--archive", o->archive, "where older journal segments were archived (upline archive)")->type_name("ARCHIVE");
  set_body(c, [o] { return export_dir(*o); });

  c = command(app, "archive", "move journal segments no recovery needs to an archive directory", "upline archive --data DIR --to ARCHIVE",
              "Moves every journal segment whose records are all at or before DIR's oldest snapshot to\n"
              "ARCHIVE (created if needed): copied and fsynced there, then removed from DIR. Safe while a\n"
              "writer runs. export, dump and verify read ARCHIVE when given --archive ARCHIVE.\n"
              "docs/OPERATIONS.md has the retention policy.",
              o);
  c->add_option("--to", o->to, "the archive directory")->required()->type_name("ARCHIVE");
  set_body(c, [o] { return archive(*o); });

  c = command(app, "backup", "a consistent copy of DIR, taken while a writer runs", "upline backup --data DIR --to DEST",
              "Copies DIR's newest snapshot and journal segments to DEST (a new or empty directory) while a\n"
              "writer (apply, serve) may be appending, opens the copy and prints its last sequence number and\n"
              "digest: DIR's state as of that number. `upline verify --data DEST` passes on it.",
              o);
  c->add_option("--to", o->to, "the new directory")->required()->type_name("DEST");
  set_body(c, [o] { return backup_dir(*o); });

  c = command(app, "snapshot", "write a snapshot now", "upline snapshot --data DIR", "Opens DIR and writes a snapshot of its state now.", o);
  set_body(c, [o] { return snapshot(*o); });
}

}  // namespace upline::cli
