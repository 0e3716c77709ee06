// make_corpus.cpp — writes the seed corpus of journal_fuzz into a directory:
//
//   upline_fuzz_make_corpus DIR
//
//   journal-valid         a small journal: the genesis record and events of every kind, rejected
//                         ones and text that never parsed among them
//   journal-truncated     the same, cut in the middle of its last record (a torn tail)
//   journal-zero-tail     the same, followed by zeros
//   snapshot-v3.snap      a snapshot file of the same store (format 3)
//   state.bin             the engine state in it as save_state bytes (Engine::save_state)
//   payload-<kind>.bin    one record payload of each kind
#include "upline/journal.hpp"
#include "upline/door.hpp"
#include "tools/simulation.hpp"
#include "upline/snapshot.hpp"
#include "upline/store.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace upline;

void write(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!out) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    std::exit(1);
  }
}

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::string out = argv[1];
  std::filesystem::create_directories(out);
  char templ[] = "/tmp/upline-corpus-XXXXXX";
  if (!::mkdtemp(templ)) return 1;
  const std::string dir = std::string(templ) + "/d";

  PlanFaults faults;
  Plan v2 = *Plan::parse(*bundled_plan("four-tier"), faults);
  v2.version = 2;
  const std::vector<std::string> events = {
      R"({"type":"join","member":1000,"at":1767225600000})",
      R"({"type":"join","member":1007,"sponsor":1000,"at":1767225660000})",
      R"({"type":"join","member":1014,"sponsor":1007,"at":1767225720000})",
      R"({"type":"join","member":1014,"sponsor":1000,"at":1767225780000})",
      R"({"type":"purchase","order":"o-1","member":1014,"shop":"main","amount":"250.00","at":1767225840000})",
      R"({"type":"purchase","order":"o-2","member":1007,"shop":"outlet","amount":"19.99","at":1767225900000})",
      R"({"type":"purchase","order":"o-1","member":1007,"shop":"main","amount":"10.00","at":1767225960000})",
      R"({"type":"purchase","order":"o-3","member":1007,"shop":"main","amount":"1.2.3","at":1767226020000})",
      R"({"type":"refund","order":"o-1","amount":"50.00","at":1767226080000})",
      R"({"type":"refund","order":"o-2","at":1767226140000})",
      R"({"type":"redeem","member":1014,"points":"1.00","ref":"r-1","at":1767226200000})",
      R"({"type":"redeem","member":1014,"points":"99999.00","ref":"r-2","at":1767226260000})",
      R"({"type":"adjust","member":1000,"points":"-0.50","actor":"ops","reason":"correction","at":1767226320000})",
      R"({"type":"suspend","member":1007,"at":1767226380000})",
      R"({"type":"reactivate","member":1007,"at":1767226440000})",
      event_json(PlanChange{std::make_shared<const Plan>(v2), "board", 1767226500000}),
      R"({"type":"plan","actor":"ops","at":1767226560000})",
      "not json",
      R"({"type":"purchase","order":"o-4","member":1000,"shop":"main","amount":"75.00","at":1767226620000})",
  };
  std::string snap_name;
  {
    StoreOptions o;
    o.durability = Durability::none;
    auto store = Store::create(dir, *bundled_plan("four-tier"), o);
    for (const auto& e : events) store->submit(e);
    snap_name = store->snapshot();
  }
  const std::string journal = read(dir + "/journal");
  write(out + "/journal-valid", journal);
  std::vector<std::uint64_t> offsets;
  std::vector<std::string> payloads;
  scan_journal(journal, [&](const JournalRecord&, std::uint64_t off) { offsets.push_back(off); });
  write(out + "/journal-truncated", journal.substr(0, offsets.back() + (journal.size() - offsets.back()) / 2));
  write(out + "/journal-zero-tail", journal + std::string(64, '\0'));
  const std::string snap = read(dir + "/" + snap_name);
  write(out + "/snapshot-v3.snap", snap);
  std::uint64_t seq = 0;
  write(out + "/state.bin", Engine(decode_snapshot(snap, seq)).save_state());
  // One payload of each kind (the first record of each), as framed in the journal.
  std::vector<bool> seen(10, false);
  for (std::size_t i = 0; i < offsets.size(); ++i) {
    const std::uint64_t start = offsets[i] + record_header_size;
    const std::uint64_t end = i + 1 < offsets.size() ? offsets[i + 1] : journal.size();
    const std::string payload = journal.substr(start, end - start);
    const JournalRecord r = decode_record_payload(payload);
    const auto k = static_cast<std::size_t>(r.kind);
    if (seen[k]) continue;
    seen[k] = true;
    write(out + "/payload-" + std::to_string(k) + ".bin", payload);
  }
  std::filesystem::remove_all(templ);
  std::printf("corpus written to %s\n", out.c_str());
  return 0;
}
