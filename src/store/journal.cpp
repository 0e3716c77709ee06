// journal.cpp — journal record encoding, framing and scanning (format in journal.hpp).
#include "upline/journal.hpp"

#include "upline/plan.hpp"

#include <algorithm>

namespace upline {

namespace {

// An amount as the caller gave it (format 2), or as text (format 1).
void put_decimal(ByteWriter& w, const Decimal& d, std::uint8_t version) {
  if (version < 2) {
    w.str(d.text());
    return;
  }
  if (d.is_text()) {
    w.u8(0);
    w.str(d.text());
  } else {
    w.u8(1);
    w.i64(d.units());
    w.u8(static_cast<std::uint8_t>(d.scale()));
  }
}

Decimal get_decimal(ByteReader& r, std::uint8_t version) {
  if (version < 2) return Decimal::lenient(r.str(max_record_payload));
  switch (r.u8()) {
    case 0: return Decimal::lenient(r.str(max_record_payload));
    case 1: {
      const std::int64_t units = r.i64();
      const std::uint8_t scale = r.u8();
      if (scale > 18) r.fail("a scale 0..18");
      return Decimal::from_units(units, scale);
    }
    default: r.fail("an amount form 0 (text) or 1 (units)");
  }
}

void put_optional_id(ByteWriter& w, const std::optional<MemberId>& v) {
  w.u8(v ? 1 : 0);
  if (v) w.i64(*v);
}

}  // namespace

void encode_record_payload(std::string& out, std::uint64_t seq, Code status, const Event* event, std::string_view text, RecordKind text_kind,
                           std::uint8_t version) {
  ByteWriter w(out);
  w.u64(seq);
  w.u8(static_cast<std::uint8_t>(status));
  if (!event) {
    w.u8(static_cast<std::uint8_t>(text_kind));
    w.str(text);
    return;
  }
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, Join>) {
          w.u8(static_cast<std::uint8_t>(RecordKind::join));
          w.i64(e.member);
          put_optional_id(w, e.sponsor);
        } else if constexpr (std::is_same_v<T, Purchase>) {
          w.u8(static_cast<std::uint8_t>(RecordKind::purchase));
          w.str(e.order);
          w.i64(e.member);
          w.str(e.shop);
          put_decimal(w, e.amount, version);
        } else if constexpr (std::is_same_v<T, Refund>) {
          w.u8(static_cast<std::uint8_t>(RecordKind::refund));
          w.str(e.order);
          w.u8(e.amount ? 1 : 0);
          if (e.amount) put_decimal(w, *e.amount, version);
        } else if constexpr (std::is_same_v<T, Redeem>) {
          w.u8(static_cast<std::uint8_t>(RecordKind::redeem));
          w.i64(e.member);
          put_decimal(w, e.points, version);
          w.str(e.ref);
        } else if constexpr (std::is_same_v<T, Adjust>) {
          w.u8(static_cast<std::uint8_t>(RecordKind::adjust));
          w.i64(e.member);
          put_decimal(w, e.points, version);
          w.str(e.actor);
          w.str(e.reason);
        } else if constexpr (std::is_same_v<T, Suspend>) {
          w.u8(static_cast<std::uint8_t>(RecordKind::suspend));
          w.i64(e.member);
        } else if constexpr (std::is_same_v<T, Reactivate>) {
          w.u8(static_cast<std::uint8_t>(RecordKind::reactivate));
          w.i64(e.member);
        } else {
          w.u8(static_cast<std::uint8_t>(RecordKind::plan));
          w.str(e.plan ? e.plan->canonical_json() : std::string());
          w.str(e.actor);
        }
        w.i64(e.at);
      },
      *event);
}

JournalRecord decode_record_payload(std::string_view payload, std::uint8_t version) {
  ByteReader r(payload);
  JournalRecord rec;
  rec.seq = r.u64();
  const std::uint8_t status = r.u8();
  if (code_name(static_cast<Code>(status)) == "unknown") r.fail("a status code");
  rec.status = static_cast<Code>(status);
  const std::uint8_t kind = r.u8();
  const auto last = version < 2 ? RecordKind::genesis : RecordKind::rejected;
  if (kind > static_cast<std::uint8_t>(last)) r.fail("a record kind 0.." + std::to_string(static_cast<int>(last)));
  rec.kind = static_cast<RecordKind>(kind);
  switch (rec.kind) {
    case RecordKind::raw:
    case RecordKind::genesis:
    case RecordKind::rejected:
      rec.text = r.str(max_record_payload);
      break;
    case RecordKind::join: {
      Join e;
      e.member = r.i64();
      if (r.u8()) e.sponsor = r.i64();
      e.at = r.i64();
      rec.event = e;
      break;
    }
    case RecordKind::purchase: {
      Purchase e;
      e.order = r.str(max_record_payload);
      e.member = r.i64();
      e.shop = r.str(max_record_payload);
      e.amount = get_decimal(r, version);
      e.at = r.i64();
      rec.event = e;
      break;
    }
    case RecordKind::refund: {
      Refund e;
      e.order = r.str(max_record_payload);
      if (r.u8()) e.amount = get_decimal(r, version);
      e.at = r.i64();
      rec.event = e;
      break;
    }
    case RecordKind::redeem: {
      Redeem e;
      e.member = r.i64();
      e.points = get_decimal(r, version);
      e.ref = r.str(max_record_payload);
      e.at = r.i64();
      rec.event = e;
      break;
    }
    case RecordKind::adjust: {
      Adjust e;
      e.member = r.i64();
      e.points = get_decimal(r, version);
      e.actor = r.str(max_record_payload);
      e.reason = r.str(max_record_payload);
      e.at = r.i64();
      rec.event = e;
      break;
    }
    case RecordKind::suspend:
    case RecordKind::reactivate: {
      const MemberId m = r.i64();
      const Time at = r.i64();
      if (rec.kind == RecordKind::suspend) rec.event = Suspend{m, at};
      else rec.event = Reactivate{m, at};
      break;
    }
    case RecordKind::plan: {
      PlanChange e;
      const std::string plan_text = r.str(max_record_payload);
      e.actor = r.str(max_record_payload);
      e.at = r.i64();
      PlanFaults faults;
      auto p = Plan::parse(plan_text, faults);
      if (!p) r.fail("a valid plan in a plan record (" + faults.message() + ")");
      e.plan = std::make_shared<const Plan>(std::move(*p));
      rec.event = std::move(e);
      break;
    }
  }
  if (r.left() != 0) r.fail("the end of the record (" + std::to_string(r.left()) + " bytes more)");
  return rec;
}

std::uint32_t frame_record(std::string& out, std::string_view payload, std::uint32_t chain) {
  std::string header;
  ByteWriter w(header);
  w.u32(static_cast<std::uint32_t>(payload.size()));
  w.u32(chain);
  w.u32(Crc32c::compute(payload));
  const std::uint32_t header_crc = Crc32c::compute(header);
  w.u32(header_crc);
  out += header;
  out.append(payload);
  return header_crc;
}

namespace {

// A journal file's bytes, read through a window: a memory image, or a file streamed through the
// FileSystem so that memory stays bounded by the largest record, whatever the file's size.
class ImageSource {
 public:
  explicit ImageSource(std::string_view image) noexcept : image_(image) {}
  std::uint64_t size() const noexcept { return image_.size(); }
  std::string_view view(std::uint64_t off, std::size_t n) { return image_.substr(off, n); }
  bool zeros_from(std::uint64_t off) const noexcept {
    const std::size_t last = image_.find_last_not_of('\0');
    return last == std::string_view::npos || last < off;
  }

 private:
  std::string_view image_;
};

class FileSource {
 public:
  static constexpr std::size_t window = std::size_t{1} << 20;
  FileSource(FileSystem& fs, int fd) : fs_(fs), fd_(fd), size_(fs.file_size(fd)) {}
  std::uint64_t size() const noexcept { return size_; }
  // The n bytes at `off` (the caller has checked that they are in the file); valid until the next call.
  std::string_view view(std::uint64_t off, std::size_t n) {
    if (off < at_ || off + n > at_ + buf_.size()) {
      const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(std::max(n, window), size_ - off));
      buf_.resize(want);
      const std::size_t got = fs_.read_at(fd_, off, buf_.data(), want);
      buf_.resize(got);  // a file that shrank under us: fewer bytes, which the scan sees as a tear
      at_ = off;
      if (got < n) return std::string_view(buf_);
    }
    return std::string_view(buf_).substr(static_cast<std::size_t>(off - at_), n);
  }
  bool zeros_from(std::uint64_t off) {
    for (std::uint64_t o = off; o < size_; o += window) {
      const std::string_view v = view(o, static_cast<std::size_t>(std::min<std::uint64_t>(window, size_ - o)));
      if (v.find_first_not_of('\0') != std::string_view::npos) return false;
    }
    return true;
  }

 private:
  FileSystem& fs_;
  int fd_;
  std::uint64_t size_;
  std::string buf_;
  std::uint64_t at_ = 0;
};

// Where a segment's records start and what the first must continue.
struct Start {
  std::uint64_t offset;     // after the file or segment header
  std::uint64_t first_seq;  // 0: the genesis record comes first
  std::uint32_t chain;
  std::uint64_t skip_below = 0;  // records with a lower sequence number are checked, not decoded
};

// Scans the records of one file from `start`, continuing `s` (records, last_seq, chain), with the
// torn-tail and corruption rules of journal.hpp.
template <class Source, class Visit>
void scan_records(Source& src, const Start& start, JournalScan& s, const Visit& visit) {
  auto stop = [&](JournalScan::End end, std::uint64_t offset, const std::string& what) {
    s.end = end;
    s.problem = what + " at offset " + std::to_string(offset) +
                (s.records == 0 && start.first_seq > 0 ? " (where sequence " + std::to_string(start.first_seq) + " was due)"
                                                        : " (the record after sequence " + std::to_string(s.last_seq) +
                                                              (s.records == 0 ? ", before the genesis record)" : ")"));
  };
  std::uint64_t off = start.offset;
  s.valid_bytes = off;
  const std::uint64_t size = src.size();
  while (off < size) {
    const std::uint64_t left = size - off;
    if (left < record_header_size) return stop(JournalScan::End::torn_tail, off, "a record header cut short");
    const std::string_view hv = src.view(off, record_header_size);
    if (hv.size() < record_header_size) return stop(JournalScan::End::torn_tail, off, "a record header cut short");
    ByteReader h(hv, off);
    const std::uint32_t length = h.u32(), chain = h.u32(), payload_crc = h.u32(), header_crc = h.u32();
    if (Crc32c::compute(hv.substr(0, 12)) != header_crc) {
      if (src.zeros_from(off + record_header_size)) return stop(JournalScan::End::torn_tail, off, "a zero-filled tail");
      return stop(JournalScan::End::corrupt, off, "a record header that fails its checksum");
    }
    if (chain != s.chain) return stop(JournalScan::End::corrupt, off, "a record that does not chain to the one before it");
    if (length > max_record_payload) return stop(JournalScan::End::corrupt, off, "a record longer than the maximum");
    if (length > left - record_header_size) return stop(JournalScan::End::torn_tail, off, "a record cut short");
    const std::uint64_t end = off + record_header_size + length;
    const std::string_view payload = src.view(off + record_header_size, length);
    if (payload.size() < length) return stop(JournalScan::End::torn_tail, off, "a record cut short");
    if (Crc32c::compute(payload) != payload_crc) {
      if (end == size || src.zeros_from(end)) return stop(JournalScan::End::torn_tail, off, "a last record that fails its checksum");
      return stop(JournalScan::End::corrupt, off, "a record that fails its checksum");
    }
    // A record before the caller's `from` is checked (CRCs, chain, sequence) but not decoded.
    if (payload.size() >= 10 && start.skip_below > 0) {
      const std::uint64_t seq = ByteReader(payload.substr(0, 8)).u64();
      if (seq < start.skip_below) {
        const bool first = s.records == 0 && start.first_seq == 0;
        const std::uint64_t want = s.records == 0 ? start.first_seq : s.last_seq + 1;
        const bool genesis = static_cast<std::uint8_t>(payload[9]) == static_cast<std::uint8_t>(RecordKind::genesis);
        if (seq != want || first != genesis)
          return stop(JournalScan::End::corrupt, off, "sequence " + std::to_string(seq) + " where " + std::to_string(want) + " was due");
        s.records++;
        s.last_seq = seq;
        s.chain = header_crc;
        off = end;
        s.valid_bytes = off;
        continue;
      }
    }
    JournalRecord rec;
    try {
      rec = decode_record_payload(payload, s.version);
    } catch (const FormatError& e) {
      return stop(JournalScan::End::corrupt, off, std::string("an undecodable record (") + e.what() + ")");
    }
    const bool first = s.records == 0 && start.first_seq == 0;
    const std::uint64_t want = s.records == 0 ? start.first_seq : s.last_seq + 1;
    if (rec.seq != want || first != (rec.kind == RecordKind::genesis))
      return stop(JournalScan::End::corrupt, off, "sequence " + std::to_string(rec.seq) + " where " + std::to_string(want) + " was due");
    visit(rec, off);
    s.records++;
    s.last_seq = rec.seq;
    s.chain = header_crc;
    off = end;
    s.valid_bytes = off;
  }
}

// The file header of a first segment (journal_magic, format 1 or 2): sets s.version, or stops.
template <class Source>
bool first_header(Source& src, JournalScan& s) {
  const std::string_view image = src.view(0, static_cast<std::size_t>(std::min<std::uint64_t>(src.size(), journal_magic.size())));
  auto stop = [&](JournalScan::End end, const std::string& what) {
    s.end = end;
    s.problem = what + " at offset 0 (the record after sequence 0, before the genesis record)";
    return false;
  };
  if (image.size() < journal_magic.size()) {
    if (journal_magic.substr(0, image.size()) == image || journal_magic_v1.substr(0, image.size()) == image)
      return stop(JournalScan::End::torn_tail, "a file header cut short");
    return stop(JournalScan::End::corrupt, "not an upline journal (bad file header)");
  }
  if (image == journal_magic) s.version = 2;
  else if (image == journal_magic_v1) s.version = 1;
  else return stop(JournalScan::End::corrupt, "not an upline journal (bad file header)");
  return true;
}

}  // namespace

JournalScan scan_journal(std::string_view image, const std::function<void(const JournalRecord&, std::uint64_t)>& visit) {
  JournalScan s;
  ImageSource src(image);
  if (!first_header(src, s)) return s;
  scan_records(src, Start{journal_magic.size(), 0, 0}, s, [&](const JournalRecord& r, std::uint64_t off) {
    if (visit) visit(r, off);
  });
  return s;
}

// ---- segments ------------------------------------------------------------------------------------

std::string segment_name(std::uint64_t first_seq) {
  if (first_seq == 0) return "journal";
  const std::string digits = std::to_string(first_seq);
  return "journal-" + std::string(20 - digits.size(), '0') + digits;
}

std::string segment_header(std::uint8_t version, std::uint64_t first_seq, std::uint32_t chain) {
  std::string out(segment_magic);
  ByteWriter w(out);
  w.u8(version);
  w.u64(first_seq);
  w.u32(chain);
  w.u32(Crc32c::compute(out));
  return out;
}

namespace {

// The segments in one directory: "journal" (first_seq 0) and "journal-<20 digits>" (digits > 0).
void list_segments(FileSystem& fs, const std::string& dir, std::vector<Segment>& out) {
  for (const std::string& n : fs.list(dir)) {
    std::uint64_t first = 0;
    if (n == "journal") {
      first = 0;
    } else if (n.size() == 28 && n.compare(0, 8, "journal-") == 0 && n.find_first_not_of("0123456789", 8) == std::string::npos) {
      first = std::stoull(n.substr(8));
      if (first == 0) continue;
    } else {
      continue;
    }
    out.push_back(Segment{first, dir + "/" + n});
  }
}

}  // namespace

std::vector<Segment> journal_segments(FileSystem& fs, const std::string& dir, const std::string& archive) {
  std::vector<Segment> here, out;
  if (fs.exists(dir)) list_segments(fs, dir, here);
  if (!archive.empty()) {
    if (!fs.exists(archive)) throw StoreError(StoreError::Kind::usage, archive + ": no such archive directory");
    list_segments(fs, archive, out);
  }
  for (Segment& s : here) out.push_back(std::move(s));
  // By first sequence number; a segment in both places: the data directory's copy (listed last).
  std::stable_sort(out.begin(), out.end(), [](const Segment& a, const Segment& b) { return a.first_seq < b.first_seq; });
  std::vector<Segment> unique;
  for (Segment& s : out) {
    if (!unique.empty() && unique.back().first_seq == s.first_seq) unique.back() = std::move(s);
    else unique.push_back(std::move(s));
  }
  return unique;
}

JournalScan scan_segments(FileSystem& fs, const std::vector<Segment>& segments, std::uint64_t from, const SegmentVisitor& visit) {
  JournalScan s;
  auto missing = [&](const std::string& what) {
    s.end = JournalScan::End::missing;
    s.problem = what;
    return s;
  };
  if (segments.empty()) return missing("no journal segment");
  // The last segment that starts at or before `from`.
  std::size_t k = 0;
  while (k + 1 < segments.size() && segments[k + 1].first_seq <= from) ++k;
  if (segments[k].first_seq > from)
    return missing("sequences " + std::to_string(from) + ".." + std::to_string(segments[k].first_seq - 1) + " are in no segment (the first one here is " +
                   segments[k].path + ")");
  for (; k < segments.size(); ++k) {
    const Segment& seg = segments[k];
    const bool last = k + 1 == segments.size();
    s.path = seg.path;
    const int fd = fs.open_read(seg.path);
    struct Closer {
      FileSystem& fs;
      int fd;
      ~Closer() { fs.close(fd); }
    } closer{fs, fd};
    FileSource src(fs, fd);
    Start start{journal_magic.size(), 0, 0};
    if (seg.first_seq == 0) {
      if (!first_header(src, s)) {
        if (s.end == JournalScan::End::torn_tail && !last) s.end = JournalScan::End::corrupt;
        return s;
      }
    } else {
      const std::string_view h = src.view(0, static_cast<std::size_t>(std::min<std::uint64_t>(src.size(), segment_header_size)));
      ByteReader r(h);
      if (h.size() < segment_header_size || h.substr(0, segment_magic.size()) != segment_magic ||
          Crc32c::compute(h.substr(0, segment_header_size - 4)) != ByteReader(h.substr(segment_header_size - 4)).u32()) {
        s.end = JournalScan::End::corrupt;
        s.problem = "a segment header that is cut short or fails its checksum at offset 0";
        return s;
      }
      r.take(segment_magic.size());
      const std::uint8_t version = r.u8();
      const std::uint64_t first = r.u64();
      const std::uint32_t chain = r.u32();
      if (version < 1 || version > journal_version || first != seg.first_seq) {
        s.end = JournalScan::End::corrupt;
        s.problem = "a segment header of format " + std::to_string(version) + " for sequence " + std::to_string(first) +
                    ", where its name says " + std::to_string(seg.first_seq);
        return s;
      }
      if (s.records > 0 && (first != s.last_seq + 1 || chain != s.chain)) {
        s.end = JournalScan::End::corrupt;
        s.problem = "a segment that does not continue the one before it (it starts at sequence " + std::to_string(first) +
                    ", the one before ends at " + std::to_string(s.last_seq) + ")";
        return s;
      }
      if (s.records > 0 && version != s.version) {
        s.end = JournalScan::End::corrupt;
        s.problem = "a segment of format " + std::to_string(version) + " after one of format " + std::to_string(s.version);
        return s;
      }
      s.version = version;
      if (s.records == 0) {  // the scan starts here: the sequence before it is this segment's to continue
        s.chain = chain;
        s.last_seq = first - 1;
      }
      start = Start{segment_header_size, first, chain};
    }
    start.skip_below = from;
    scan_records(src, start, s, [&](const JournalRecord& r, std::uint64_t off) {
      if (visit) visit(r, seg.path, off);
    });
    s.path = seg.path;
    s.segment_first_seq = seg.first_seq;
    if (s.end != JournalScan::End::clean) {
      if (!last) {
        s.end = JournalScan::End::corrupt;
        s.problem += ", in a segment that is not the last one";
      }
      return s;
    }
    if (!last && segments[k + 1].first_seq != s.last_seq + 1) {
      if (segments[k + 1].first_seq <= s.last_seq) {
        s.end = JournalScan::End::corrupt;
        s.problem = segments[k + 1].path + ": a segment starting at sequence " + std::to_string(segments[k + 1].first_seq) + ", which " +
                    seg.path + " already holds";
        return s;
      }
      return missing("sequences " + std::to_string(s.last_seq + 1) + ".." + std::to_string(segments[k + 1].first_seq - 1) +
                     " are in no segment (after " + seg.path + ", before " + segments[k + 1].path + ")");
    }
  }
  return s;
}

}  // namespace upline
