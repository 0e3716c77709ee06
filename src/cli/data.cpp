// data.cpp — the data-directory commands: apply, status, dump, verify, export, snapshot.
#include "cli.hpp"

#include "upline/json.hpp"
#include "upline/store.hpp"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <poll.h>

namespace upline::cli {

namespace {

const char* const data_usage =
    "usage:\n"
    "  upline apply    --data DIR [--plan PLAN.json] --events EVENTS.jsonl [--sync every|group|none]\n"
    "                  [--snapshot-every N]\n"
    "  upline status   --data DIR\n"
    "  upline dump     --data DIR --dump STATE.json [--until SEQ|@MS|YYYY-MM-DDTHH:MM:SS[.mmm]Z]\n"
    "  upline verify   --data DIR\n"
    "  upline export   --data DIR [--from SEQ] [--until SEQ]\n"
    "  upline snapshot --data DIR\n"
    "\n"
    "A data directory holds a durable engine: a journal of every submitted event (accepted and\n"
    "rejected, numbered from 1) and snapshots of the state. 'apply' creates DIR from PLAN.json on\n"
    "first use, appends the events and prints {\"seq\":n,\"status\":\"ok\"|CODE} for each only once\n"
    "it is durable: --sync every (fsync per event, the default), group (one fsync per batch of up\n"
    "to 512 events), none (no fsync; for tests). Opening recovers from the newest snapshot plus the\n"
    "journal; a torn tail is truncated and reported on standard error, corruption refuses (exit 1).\n"
    "'dump' rebuilds the state as of a sequence number or a time without touching DIR; 'export'\n"
    "prints the journal as JSON Lines that 'upline replay' reads; 'verify' checks every record and\n"
    "snapshot and replays from scratch.\n";

// Options as name → value; flags listed in `known` with a value each.
bool parse(const Args& args, std::initializer_list<const char*> known, std::map<std::string, std::string>& out) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(data_usage, stdout);
      std::exit(0);
    }
    bool ok = false;
    for (const char* k : known) ok = ok || a == k;
    if (!ok) {
      std::fprintf(stderr, "upline: unknown option \"%s\"\n\n%s", a.c_str(), data_usage);
      return false;
    }
    if (i + 1 >= args.size()) {
      std::fprintf(stderr, "upline: %s needs a value\n", a.c_str());
      return false;
    }
    out[a] = args[++i];
  }
  if (!out.count("--data")) {
    std::fprintf(stderr, "upline: --data DIR is required\n\n%s", data_usage);
    return false;
  }
  return true;
}

int report(const StoreError& e) {
  std::fprintf(stderr, "upline: %s\n", e.what());
  return e.kind() == StoreError::Kind::usage ? 2 : 1;
}

void print_recovery(const Recovery& r) {
  for (const auto& n : r.notes) std::fprintf(stderr, "upline: %s\n", n.c_str());
}

}  // namespace

int data_apply(const Args& args) {
  std::map<std::string, std::string> o;
  if (!parse(args, {"--data", "--plan", "--events", "--sync", "--snapshot-every"}, o)) return 2;
  if (!o.count("--events")) {
    std::fputs("upline apply: --events is required\n", stderr);
    return 2;
  }
  StoreOptions options;
  if (o.count("--sync")) {
    auto d = parse_durability(o["--sync"]);
    if (!d) {
      std::fprintf(stderr, "upline apply: --sync: \"%s\" is not every, group or none\n", o["--sync"].c_str());
      return 2;
    }
    options.durability = *d;
  }
  if (o.count("--snapshot-every")) {
    auto n = parse_count("upline apply: --snapshot-every", o["--snapshot-every"]);
    if (!n) return 2;
    options.snapshot_every = *n;
  }
  try {
    const std::string& dir = o["--data"];
    std::unique_ptr<Store> store;
    if (posix_file_system().exists(dir + "/journal")) {
      if (o.count("--plan"))
        std::fprintf(stderr, "upline apply: %s already holds a store: --plan is ignored (change a plan with a plan event)\n", dir.c_str());
      store = Store::open(dir, options);
      print_recovery(store->recovery());
    } else {
      if (!o.count("--plan")) {
        std::fprintf(stderr, "upline apply: %s holds no store yet: give --plan PLAN.json to create it\n", dir.c_str());
        return 2;
      }
      std::string err;
      auto plan = read_file(o["--plan"], err);
      if (!plan) {
        std::fprintf(stderr, "upline apply: %s\n", err.c_str());
        return 2;
      }
      store = Store::create(dir, *plan, options);
    }
    std::ifstream file;
    std::istream* in = &std::cin;
    if (o["--events"] != "-") {
      file.open(o["--events"], std::ios::binary);
      if (!file) {
        std::fprintf(stderr, "upline apply: %s: cannot open\n", o["--events"].c_str());
        return 2;
      }
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
      if (line.find_first_not_of(" \t\r\n\f\v") != std::string::npos) {
        acks.push_back(store->submit(line));
        acks.back().effects.clear();
      }
      if (acks.size() >= batch || (!acks.empty() && !input_waiting())) acknowledge();
    }
    acknowledge();
    return 0;
  } catch (const StoreError& e) {
    return report(e);
  }
}

int data_status(const Args& args) {
  std::map<std::string, std::string> o;
  if (!parse(args, {"--data"}, o)) return 2;
  try {
    auto store = Store::open(o["--data"], StoreOptions{Durability::none});
    print_recovery(store->recovery());
    const Engine& e = store->engine();
    const Recovery& r = store->recovery();
    std::printf("data      %s\n", store->dir().c_str());
    std::printf("last seq  %llu\n", static_cast<unsigned long long>(store->last_seq()));
    std::printf("applied   %llu, rejected %llu\n", static_cast<unsigned long long>(e.applied()), static_cast<unsigned long long>(e.rejected()));
    std::printf("members   %zu, orders %zu\n", e.member_count(), e.order_count());
    std::printf("clock     %lld\n", static_cast<long long>(e.clock()));
    std::printf("digest    %s\n", e.digest().c_str());
    if (r.snapshot.empty()) std::printf("snapshot  none (replayed %llu records from the genesis)\n", static_cast<unsigned long long>(r.replayed));
    else
      std::printf("snapshot  %s (sequence %llu, then %llu records replayed)\n", r.snapshot.c_str(), static_cast<unsigned long long>(r.snapshot_seq),
                  static_cast<unsigned long long>(r.replayed));
    return 0;
  } catch (const StoreError& e) {
    return report(e);
  }
}

int data_dump(const Args& args) {
  std::map<std::string, std::string> o;
  if (!parse(args, {"--data", "--dump", "--until"}, o)) return 2;
  if (!o.count("--dump")) {
    std::fputs("upline dump: --dump STATE.json is required\n", stderr);
    return 2;
  }
  std::optional<Until> until;
  if (o.count("--until")) {
    until = parse_until(o["--until"]);
    if (!until) {
      std::fprintf(stderr, "upline dump: --until: \"%s\" is not a sequence number, @MS or YYYY-MM-DDTHH:MM:SS[.mmm]Z\n", o["--until"].c_str());
      return 2;
    }
  }
  try {
    std::uint64_t last = 0;
    Engine e = rebuild(o["--data"], until, &last);
    const std::string state = dump_json(e);
    if (o["--dump"] == "-") {
      std::cout << state;
    } else {
      std::ofstream out(o["--dump"], std::ios::binary | std::ios::trunc);
      out << state;
      if (!out) {
        std::fprintf(stderr, "upline dump: %s: cannot write\n", o["--dump"].c_str());
        return 2;
      }
    }
    std::fprintf(stderr, "upline dump: state as of sequence %llu, digest %s\n", static_cast<unsigned long long>(last), e.digest().c_str());
    return 0;
  } catch (const StoreError& e) {
    return report(e);
  }
}

int data_verify(const Args& args) {
  std::map<std::string, std::string> o;
  if (!parse(args, {"--data"}, o)) return 2;
  Verification v = verify(o["--data"]);
  for (const auto& l : v.lines) std::printf("%s\n", l.c_str());
  std::printf("%s\n", v.ok ? "verify: ok" : "verify: FAILED");
  return v.ok ? 0 : 1;
}

int data_export(const Args& args) {
  std::map<std::string, std::string> o;
  if (!parse(args, {"--data", "--from", "--until"}, o)) return 2;
  std::uint64_t from = 1;
  std::optional<std::uint64_t> until;
  if (o.count("--from")) {
    auto n = parse_count("upline export: --from", o["--from"]);
    if (!n) return 2;
    from = *n;
  }
  if (o.count("--until")) {
    auto n = parse_count("upline export: --until", o["--until"]);
    if (!n) return 2;
    until = *n;
  }
  try {
    std::string out;
    export_journal(o["--data"], from, until, out);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  } catch (const StoreError& e) {
    return report(e);
  }
}

int data_snapshot(const Args& args) {
  std::map<std::string, std::string> o;
  if (!parse(args, {"--data"}, o)) return 2;
  try {
    auto store = Store::open(o["--data"]);
    print_recovery(store->recovery());
    const std::string name = store->snapshot();
    std::printf("%s (sequence %llu, digest %s)\n", name.c_str(), static_cast<unsigned long long>(store->last_seq()), store->engine().digest().c_str());
    return 0;
  } catch (const StoreError& e) {
    return report(e);
  }
}

}  // namespace upline::cli
