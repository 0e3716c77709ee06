// journal.cpp — journal record encoding, framing and scanning (format in journal.hpp).
#include "upline/journal.hpp"

#include "upline/plan.hpp"

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

JournalScan scan_journal(std::string_view image, const std::function<void(const JournalRecord&, std::uint64_t)>& visit) {
  JournalScan s;
  auto stop = [&](JournalScan::End end, std::uint64_t offset, const std::string& what) {
    s.end = end;
    s.problem = what + " at offset " + std::to_string(offset) + " (the record after sequence " + std::to_string(s.last_seq) +
                (s.records == 0 ? ", before the genesis record)" : ")");
    return s;
  };
  if (image.size() < journal_magic.size()) {
    if (journal_magic.substr(0, image.size()) == image || journal_magic_v1.substr(0, image.size()) == image)
      return stop(JournalScan::End::torn_tail, 0, "a file header cut short");
    return stop(JournalScan::End::corrupt, 0, "not an upline journal (bad file header)");
  }
  const std::string_view header = image.substr(0, journal_magic.size());
  if (header == journal_magic) s.version = 2;
  else if (header == journal_magic_v1) s.version = 1;
  else return stop(JournalScan::End::corrupt, 0, "not an upline journal (bad file header)");
  std::uint64_t off = journal_magic.size();
  s.valid_bytes = off;
  // Where the last non-zero byte of the file is: damage followed only by zeros is a torn tail.
  const std::size_t last_nonzero = image.find_last_not_of('\0');
  while (off < image.size()) {
    const std::uint64_t left = image.size() - off;
    if (left < record_header_size) return stop(JournalScan::End::torn_tail, off, "a record header cut short");
    ByteReader h(image.substr(off, record_header_size), off);
    const std::uint32_t length = h.u32(), chain = h.u32(), payload_crc = h.u32(), header_crc = h.u32();
    if (Crc32c::compute(image.substr(off, 12)) != header_crc) {
      if (last_nonzero == std::string_view::npos || last_nonzero < off + record_header_size)
        return stop(JournalScan::End::torn_tail, off, "a zero-filled tail");
      return stop(JournalScan::End::corrupt, off, "a record header that fails its checksum");
    }
    if (chain != s.chain) return stop(JournalScan::End::corrupt, off, "a record that does not chain to the one before it");
    if (length > max_record_payload) return stop(JournalScan::End::corrupt, off, "a record longer than the maximum");
    if (length > left - record_header_size) return stop(JournalScan::End::torn_tail, off, "a record cut short");
    const std::string_view payload = image.substr(off + record_header_size, length);
    const std::uint64_t end = off + record_header_size + length;
    if (Crc32c::compute(payload) != payload_crc) {
      if (end == image.size() || last_nonzero < end) return stop(JournalScan::End::torn_tail, off, "a last record that fails its checksum");
      return stop(JournalScan::End::corrupt, off, "a record that fails its checksum");
    }
    JournalRecord rec;
    try {
      rec = decode_record_payload(payload, s.version);
    } catch (const FormatError& e) {
      return stop(JournalScan::End::corrupt, off, std::string("an undecodable record (") + e.what() + ")");
    }
    const std::uint64_t want = s.records == 0 ? 0 : s.last_seq + 1;
    if (rec.seq != want || (s.records == 0) != (rec.kind == RecordKind::genesis))
      return stop(JournalScan::End::corrupt, off, "sequence " + std::to_string(rec.seq) + " where " + std::to_string(want) + " was due");
    if (visit) visit(rec, off);
    s.records++;
    s.last_seq = rec.seq;
    s.chain = header_crc;
    off = end;
    s.valid_bytes = off;
  }
  return s;
}

}  // namespace upline
