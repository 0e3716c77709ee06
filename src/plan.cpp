// plan.cpp — Plan::parse (JSON → Plan, every fault named), Plan::validate, canonical JSON,
// and the compatibility rule for plan events.
#include "upline/plan.hpp"

#include "strict_json.hpp"
#include "upline/json_text.hpp"

#include <algorithm>
#include <set>

namespace upline {

using detail::json;

namespace {

// Collects faults as "path: message" and remembers which paths have one, so that the semantic
// validation that follows the syntax pass does not report the same field twice.
class Reader {
 public:
  explicit Reader(PlanFaults& out) : out_(out) {}

  void fault(const std::string& path, const std::string& msg) {
    out_.faults.push_back(path.empty() ? msg : path + ": " + msg);
    paths_.insert(path);
  }
  bool faulted(const std::string& path) const {
    for (const auto& p : paths_)
      if (path == p || (path.size() > p.size() && path.compare(0, p.size(), p) == 0 &&
                        (path[p.size()] == '.' || path[p.size()] == '[')))
        return true;
    return false;
  }

  // Checks an object's keys against the allowed ones; returns false if `v` is no object.
  bool object(const json& v, const std::string& path, std::initializer_list<std::string_view> allowed) {
    if (!v.is_object()) {
      fault(path, "expected an object, got " + std::string(detail::type_name(v)) + " " + detail::show(v));
      return false;
    }
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end())
        fault(join(path, it.key()), "unknown key");
    }
    return true;
  }

  // A present, non-null member of `obj`, or nullptr.
  static const json* get(const json& obj, std::string_view key) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
  }
  const json* required(const json& obj, const std::string& path, std::string_view key) {
    const json* v = get(obj, key);
    if (!v) fault(join(path, key), "required");
    return v;
  }

  std::optional<std::int64_t> integer(const json& v, const std::string& path, std::int64_t lo, std::int64_t hi) {
    std::string err;
    auto x = detail::read_int(v, lo, hi, err);
    if (!x) fault(path, err);
    return x;
  }

  std::optional<std::string> string(const json& v, const std::string& path) {
    if (!v.is_string()) {
      fault(path, "expected a string, got " + std::string(detail::type_name(v)) + " " + detail::show(v));
      return std::nullopt;
    }
    return v.get<std::string>();
  }

  std::optional<Decimal> decimal(const json& v, const std::string& path) {
    if (!v.is_string()) {
      fault(path, "expected a decimal string, got " + std::string(detail::type_name(v)) + " " + detail::show(v));
      return std::nullopt;
    }
    auto d = Decimal::parse(v.get_ref<const std::string&>());
    if (!d) fault(path, detail::show(v) + " is not a decimal (-?[0-9]+(.[0-9]+)?)");
    return d;
  }

  std::optional<Rate> rate(const json& v, const std::string& path) {
    auto d = decimal(v, path);
    if (!d) return std::nullopt;
    std::int64_t micros = 0;
    switch (d->to_units(6, micros)) {
      case Decimal::Fit::too_many_decimals: fault(path, "\"" + d->text() + "\" has more than 6 decimals"); return std::nullopt;
      case Decimal::Fit::out_of_range: fault(path, "\"" + d->text() + "\" exceeds 1000"); return std::nullopt;
      case Decimal::Fit::not_a_decimal:  // decimal() accepted only well-formed text
      case Decimal::Fit::ok: break;
    }
    if (micros < 0) { fault(path, "\"" + d->text() + "\" is negative (rates are 0..1000)"); return std::nullopt; }
    if (micros > Rate::max) { fault(path, "\"" + d->text() + "\" exceeds 1000"); return std::nullopt; }
    return Rate{micros};
  }

  // A non-negative amount at `scale` (money or points).
  std::optional<std::int64_t> amount(const json& v, const std::string& path, int scale, std::string_view scale_name) {
    auto d = decimal(v, path);
    if (!d) return std::nullopt;
    std::int64_t units = 0;
    switch (d->to_units(scale, units)) {
      case Decimal::Fit::too_many_decimals:
        fault(path, "\"" + d->text() + "\" has more decimals than " + std::string(scale_name) + " " + std::to_string(scale));
        return std::nullopt;
      case Decimal::Fit::out_of_range:
        fault(path, "\"" + d->text() + "\" is out of range at " + std::string(scale_name) + " " + std::to_string(scale));
        return std::nullopt;
      case Decimal::Fit::not_a_decimal:
      case Decimal::Fit::ok: break;
    }
    if (units < 0) { fault(path, "\"" + d->text() + "\" is negative"); return std::nullopt; }
    return units;
  }

  static std::string join(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  }
  static std::string index(const std::string& path, std::size_t i) { return path + "[" + std::to_string(i) + "]"; }

 private:
  PlanFaults& out_;
  std::set<std::string> paths_;
};

}  // namespace

std::optional<Plan> Plan::parse(std::string_view text, PlanFaults& faults) {
  faults.faults.clear();
  std::string err;
  auto parsed = detail::parse_strict(text, err);
  if (!parsed) {
    faults.faults.push_back(err);
    return std::nullopt;
  }
  return detail::plan_from_json(*parsed, faults);
}

namespace detail {

std::optional<Plan> plan_from_json(const json& root, PlanFaults& faults) {
  faults.faults.clear();
  Reader r(faults);
  if (!r.object(root, "", {"name", "version", "money_scale", "points_scale", "compression", "refund_window_days",
                           "shops", "history", "tiers", "rewards"}))
    return std::nullopt;

  Plan p;
  if (const json* v = r.required(root, "", "name"))
    if (auto s = r.string(*v, "name")) p.name = *s;
  if (const json* v = Reader::get(root, "version"))
    if (auto x = r.integer(*v, "version", 1, INT64_MAX)) p.version = *x;
  if (const json* v = Reader::get(root, "money_scale")) {
    if (auto x = r.integer(*v, "money_scale", 0, max_scale)) p.money_scale = static_cast<int>(*x);
  }
  if (const json* v = Reader::get(root, "points_scale")) {
    if (auto x = r.integer(*v, "points_scale", 0, max_scale)) p.points_scale = static_cast<int>(*x);
  }
  if (const json* v = Reader::get(root, "compression")) {
    if (v->is_boolean()) p.compression = v->get<bool>();
    else r.fault("compression", "expected a boolean, got " + std::string(detail::type_name(*v)) + " " + detail::show(*v));
  }
  if (const json* v = Reader::get(root, "refund_window_days"))
    if (auto x = r.integer(*v, "refund_window_days", 0, 36'500)) p.refund_window_days = *x;

  // shops
  if (const json* v = r.required(root, "", "shops")) {
    if (!v->is_object()) {
      r.fault("shops", "expected an object, got " + std::string(detail::type_name(*v)) + " " + detail::show(*v));
    } else {
      if (v->empty()) r.fault("shops", "needs at least one shop");
      for (auto it = v->begin(); it != v->end(); ++it) {
        std::string path = Reader::join("shops", it.key());
        Shop s;
        s.id = it.key();
        // A faulty shop stays as a placeholder, so that later rules do not misreport the rest.
        if (s.id.empty() || s.id.size() > 64) {
          r.fault(path, "shop id \"" + s.id + "\" must be 1..64 bytes");
          p.shops.push_back(std::move(s));
          continue;
        }
        if (!r.object(*it, path, {"ratio", "min_basket"})) {
          p.shops.push_back(std::move(s));
          continue;
        }
        if (const json* ratio = r.required(*it, path, "ratio"))
          if (auto x = r.rate(*ratio, path + ".ratio")) s.ratio = *x;
        if (const json* mb = Reader::get(*it, "min_basket"))
          if (auto x = r.amount(*mb, path + ".min_basket", p.money_scale, "money_scale")) s.min_basket = Money{*x};
        p.shops.push_back(std::move(s));
      }
    }
  }

  // history
  if (const json* v = Reader::get(root, "history")) {
    if (!v->is_array()) {
      r.fault("history", "expected an array, got " + std::string(detail::type_name(*v)) + " " + detail::show(*v));
    } else {
      if (v->empty()) r.fault("history", "needs at least one band (or leave history out)");
      for (std::size_t i = 0; i < v->size(); ++i) {
        std::string path = Reader::index("history", i);
        const json& b = (*v)[i];
        if (!r.object(b, path, {"orders", "multiplier"})) {
          // Placeholder keeping the indices of the bands after it (ordered after its predecessor).
          p.history.push_back(HistoryBand{p.history.empty() ? 0 : p.history.back().orders + 1, Rate{Rate::one}});
          continue;
        }
        HistoryBand band;
        if (const json* o = r.required(b, path, "orders")) {
          if (o->is_number_unsigned()) band.orders = o->get<std::uint64_t>();  // any integer >= 0
          else if (auto x = r.integer(*o, path + ".orders", 0, INT64_MAX)) band.orders = static_cast<std::uint64_t>(*x);
        }
        if (const json* m = r.required(b, path, "multiplier"))
          if (auto x = r.rate(*m, path + ".multiplier")) band.multiplier = *x;
        p.history.push_back(band);
      }
    }
  }

  // tiers: names first, so that min_tier can refer to any tier of the plan.
  const json* tiers = r.required(root, "", "tiers");
  if (tiers && !tiers->is_array()) {
    r.fault("tiers", "expected an array, got " + std::string(detail::type_name(*tiers)) + " " + detail::show(*tiers));
    tiers = nullptr;
  }
  std::vector<std::string> tier_names;
  if (tiers) {
    for (const auto& t : *tiers) {
      const json* n = t.is_object() ? Reader::get(t, "name") : nullptr;
      tier_names.push_back(n && n->is_string() ? n->get<std::string>() : std::string());
    }
    for (std::size_t i = 0; i < tiers->size(); ++i) {
      std::string path = Reader::index("tiers", i);
      const json& tj = (*tiers)[i];
      if (!r.object(tj, path, {"name", "width", "fill", "accrual", "upline_multiplier", "rates", "promote_at", "benefits"})) {
        p.tiers.emplace_back();  // placeholder: keeps the indices of the tiers after it
        continue;
      }
      Tier t;
      if (const json* n = r.required(tj, path, "name"))
        if (auto s = r.string(*n, path + ".name")) t.name = *s;
      if (const json* w = r.required(tj, path, "width"))
        if (auto x = r.integer(*w, path + ".width", 2, 64)) t.width = static_cast<std::uint32_t>(*x);
      if (const json* f = Reader::get(tj, "fill")) {
        if (auto s = r.string(*f, path + ".fill")) {
          if (*s == "breadth_first") t.fill = Fill::breadth_first;
          else if (*s == "under_sponsor") t.fill = Fill::under_sponsor;
          else r.fault(path + ".fill", detail::show(*f) + " is not breadth_first or under_sponsor");
        }
      }
      if (const json* a = Reader::get(tj, "accrual"))
        if (auto x = r.rate(*a, path + ".accrual")) t.accrual = *x;
      if (const json* a = Reader::get(tj, "upline_multiplier"))
        if (auto x = r.rate(*a, path + ".upline_multiplier")) t.upline_multiplier = *x;
      if (const json* rs = r.required(tj, path, "rates")) {
        if (!rs->is_array()) {
          r.fault(path + ".rates", "expected an array, got " + std::string(detail::type_name(*rs)) + " " + detail::show(*rs));
        } else {
          for (std::size_t k = 0; k < rs->size(); ++k)
            if (auto x = r.rate((*rs)[k], Reader::index(path + ".rates", k))) t.rates.push_back(*x);
            else t.rates.push_back(Rate{});
        }
      }
      if (const json* pa = Reader::get(tj, "promote_at")) {
        std::string pp = path + ".promote_at";
        if (i == 0) {
          r.fault(pp, "the first tier cannot have promotion criteria");
        } else if (r.object(*pa, pp, {"lifetime_points", "direct_referrals", "filled_levels"})) {
          PromoteAt c;
          // A criterion that is present but faulty still counts as present (the plan is
          // rejected anyway), so that validate() does not also call promote_at empty.
          if (const json* lp = Reader::get(*pa, "lifetime_points")) {
            auto x = r.amount(*lp, pp + ".lifetime_points", p.points_scale, "points_scale");
            c.lifetime_points = Points{x.value_or(0)};
          }
          if (const json* dr = Reader::get(*pa, "direct_referrals")) {
            std::string dp = pp + ".direct_referrals";
            if (r.object(*dr, dp, {"count", "min_tier"})) {
              DirectReferrals d;
              bool ok = true;
              if (const json* cnt = r.required(*dr, dp, "count")) {
                // Any integer >= 1; above 2^32-1 no member can ever meet it, so it is stored as that.
                if (cnt->is_number_unsigned() && cnt->get<std::uint64_t>() > UINT32_MAX) d.count = UINT32_MAX;
                else if (auto x = r.integer(*cnt, dp + ".count", 1, INT64_MAX)) d.count = static_cast<std::uint32_t>(std::min<std::int64_t>(*x, UINT32_MAX));
                else ok = false;
              } else ok = false;
              if (const json* mt = r.required(*dr, dp, "min_tier")) {
                if (auto s = r.string(*mt, dp + ".min_tier")) {
                  auto found = std::find(tier_names.begin(), tier_names.end(), *s);
                  if (found == tier_names.end()) { r.fault(dp + ".min_tier", detail::show(*mt) + " is not a tier of this plan"); ok = false; }
                  else d.min_tier = static_cast<std::uint32_t>(found - tier_names.begin());
                } else ok = false;
              } else ok = false;
              c.direct_referrals = ok ? d : DirectReferrals{};
            }
          }
          if (const json* fl = Reader::get(*pa, "filled_levels")) {
            auto x = r.integer(*fl, pp + ".filled_levels", 1, Plan::max_filled_levels);
            c.filled_levels = static_cast<std::uint32_t>(x.value_or(1));
          }
          if (!Reader::get(*pa, "lifetime_points") && !Reader::get(*pa, "direct_referrals") && !Reader::get(*pa, "filled_levels"))
            r.fault(pp, "needs at least one of lifetime_points, direct_referrals, filled_levels");
          t.promote_at = c;
        }
      } else if (i > 0) {
        r.fault(path + ".promote_at", "required for every tier above the first");
      }
      if (const json* b = Reader::get(tj, "benefits")) {
        if (!b->is_object()) {
          r.fault(path + ".benefits", "expected an object of strings, got " + std::string(detail::type_name(*b)) + " " + detail::show(*b));
        } else {
          for (auto it = b->begin(); it != b->end(); ++it) {
            if (it->is_string()) t.benefits[it.key()] = it->get<std::string>();
            else r.fault(path + ".benefits." + it.key(), "expected a string, got " + std::string(detail::type_name(*it)) + " " + detail::show(*it));
          }
        }
      }
      p.tiers.push_back(std::move(t));
    }
  }

  // rewards
  if (const json* v = Reader::get(root, "rewards")) {
    if (!v->is_array()) {
      r.fault("rewards", "expected an array, got " + std::string(detail::type_name(*v)) + " " + detail::show(*v));
    } else {
      for (std::size_t i = 0; i < v->size(); ++i) {
        std::string path = Reader::index("rewards", i);
        const json& rj = (*v)[i];
        if (!r.object(rj, path, {"id", "lifetime_points"})) {
          p.rewards.emplace_back();  // placeholder: keeps the indices of the rewards after it
          continue;
        }
        Reward rw;
        if (const json* id = r.required(rj, path, "id"))
          if (auto s = r.string(*id, path + ".id")) rw.id = *s;
        if (const json* lp = r.required(rj, path, "lifetime_points"))
          if (auto x = r.amount(*lp, path + ".lifetime_points", p.points_scale, "points_scale")) rw.lifetime_points = Points{*x};
        p.rewards.push_back(std::move(rw));
      }
    }
  }

  // Semantic rules, for the fields that parsed.
  std::sort(p.shops.begin(), p.shops.end(), [](const Shop& a, const Shop& b) { return a.id < b.id; });
  PlanFaults semantic = p.validate();
  for (const auto& f : semantic.faults) {
    auto colon = f.find(": ");
    std::string path = colon == std::string::npos ? std::string() : f.substr(0, colon);
    if (!r.faulted(path)) faults.faults.push_back(f);
  }
  if (!faults.ok()) return std::nullopt;
  return p;
}

}  // namespace detail

namespace {

// Structural UTF-8 check: lead byte, then the right number of continuation bytes.
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t extra;
    if (c < 0x80) extra = 0;
    else if ((c >> 5) == 0x6) extra = 1;
    else if ((c >> 4) == 0xE) extra = 2;
    else if ((c >> 3) == 0x1E) extra = 3;
    else return false;
    if (extra > s.size() - i - 1) return false;
    for (std::size_t k = 1; k <= extra; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += extra + 1;
  }
  return true;
}

}  // namespace

PlanFaults Plan::validate() const {
  PlanFaults out;
  auto fault = [&](const std::string& path, const std::string& msg) { out.faults.push_back(path + ": " + msg); };
  auto utf8 = [&](const std::string& path, const std::string& v) {
    if (!valid_utf8(v)) fault(path, "is not valid UTF-8");
  };
  utf8("name", name);
  for (const auto& s : shops) utf8("shops." + s.id, s.id);
  for (std::size_t i = 0; i < tiers.size(); ++i) {
    utf8("tiers[" + std::to_string(i) + "].name", tiers[i].name);
    for (const auto& [k, v] : tiers[i].benefits) {
      utf8("tiers[" + std::to_string(i) + "].benefits", k);
      utf8("tiers[" + std::to_string(i) + "].benefits." + k, v);
    }
  }
  for (std::size_t i = 0; i < rewards.size(); ++i) utf8("rewards[" + std::to_string(i) + "].id", rewards[i].id);
  auto check_rate = [&](Rate r, const std::string& path) {
    if (r.micros < 0 || r.micros > Rate::max) fault(path, "\"" + format_units(r.micros, 6) + "\" is outside 0..1000");
  };
  if (name.empty() || name.size() > 128) fault("name", "\"" + name + "\" must be 1..128 bytes");
  if (version < 1) fault("version", std::to_string(version) + " must be >= 1");
  if (money_scale < 0 || money_scale > max_scale) fault("money_scale", std::to_string(money_scale) + " is out of range 0..6");
  if (points_scale < 0 || points_scale > max_scale) fault("points_scale", std::to_string(points_scale) + " is out of range 0..6");
  if (refund_window_days && (*refund_window_days < 0 || *refund_window_days > 36'500))
    fault("refund_window_days", std::to_string(*refund_window_days) + " is out of range 0..36500");
  if (shops.empty()) fault("shops", "needs at least one shop");
  for (std::size_t i = 0; i < shops.size(); ++i) {
    const Shop& s = shops[i];
    std::string path = "shops." + s.id;
    if (s.id.empty() || s.id.size() > 64) fault(path, "shop id \"" + s.id + "\" must be 1..64 bytes");
    if (i > 0 && !(shops[i - 1].id < s.id)) fault(path, "shops must be unique and sorted by id");
    check_rate(s.ratio, path + ".ratio");
    if (s.min_basket.units < 0) fault(path + ".min_basket", "must be >= 0");
  }
  for (std::size_t i = 0; i < history.size(); ++i) {
    std::string path = "history[" + std::to_string(i) + "]";
    if (i == 0 && history[i].orders != 0) fault(path + ".orders", std::to_string(history[i].orders) + ": the first band must start at 0");
    if (i > 0 && history[i].orders <= history[i - 1].orders)
      fault(path + ".orders", std::to_string(history[i].orders) + " is not greater than the previous band's " +
                                  std::to_string(history[i - 1].orders));
    check_rate(history[i].multiplier, path + ".multiplier");
  }
  if (tiers.empty() || tiers.size() > max_tiers) fault("tiers", std::to_string(tiers.size()) + " tiers: a plan has 1..16");
  for (std::size_t i = 0; i < tiers.size(); ++i) {
    const Tier& t = tiers[i];
    std::string path = "tiers[" + std::to_string(i) + "]";
    std::size_t len = detail::utf8_length(t.name);
    if (len < 1 || len > 32) fault(path + ".name", "\"" + t.name + "\" must be 1..32 characters");
    for (std::size_t j = 0; j < i; ++j)
      if (tiers[j].name == t.name && !t.name.empty()) fault(path + ".name", "\"" + t.name + "\" is already the name of tiers[" + std::to_string(j) + "]");
    if (t.width < 2 || t.width > 64) fault(path + ".width", std::to_string(t.width) + " is out of range 2..64");
    check_rate(t.accrual, path + ".accrual");
    check_rate(t.upline_multiplier, path + ".upline_multiplier");
    if (t.rates.size() > max_rates) fault(path + ".rates", std::to_string(t.rates.size()) + " rates: a tier has at most 32");
    for (std::size_t k = 0; k < t.rates.size(); ++k) check_rate(t.rates[k], path + ".rates[" + std::to_string(k) + "]");
    if (i == 0 && t.promote_at) fault(path + ".promote_at", "the first tier cannot have promotion criteria");
    if (i > 0 && !t.promote_at) fault(path + ".promote_at", "required for every tier above the first");
    if (t.promote_at) {
      const PromoteAt& c = *t.promote_at;
      std::string pp = path + ".promote_at";
      if (!c.lifetime_points && !c.direct_referrals && !c.filled_levels)
        fault(pp, "needs at least one of lifetime_points, direct_referrals, filled_levels");
      if (c.lifetime_points && c.lifetime_points->units < 0) fault(pp + ".lifetime_points", "must be >= 0");
      if (c.direct_referrals) {
        if (c.direct_referrals->count < 1) fault(pp + ".direct_referrals.count", "must be >= 1");
        if (c.direct_referrals->min_tier >= tiers.size())
          fault(pp + ".direct_referrals.min_tier", std::to_string(c.direct_referrals->min_tier) + " is not a tier of this plan");
      }
      if (c.filled_levels && (*c.filled_levels < 1 || *c.filled_levels > max_filled_levels))
        fault(pp + ".filled_levels", std::to_string(*c.filled_levels) + " is out of range 1..32");
    }
  }
  for (std::size_t i = 0; i < rewards.size(); ++i) {
    std::string path = "rewards[" + std::to_string(i) + "]";
    const Reward& r = rewards[i];
    if (r.id.empty() || r.id.size() > 64) fault(path + ".id", "\"" + r.id + "\" must be 1..64 bytes");
    for (std::size_t j = 0; j < i; ++j)
      if (rewards[j].id == r.id && !r.id.empty()) fault(path + ".id", "\"" + r.id + "\" is already the id of rewards[" + std::to_string(j) + "]");
    if (r.lifetime_points.units < 0) fault(path + ".lifetime_points", "must be >= 0");
  }
  return out;
}

std::string Plan::canonical_json() const {
  json j = json::object();
  j["name"] = name;
  j["version"] = version;
  j["money_scale"] = money_scale;
  j["points_scale"] = points_scale;
  j["compression"] = compression;
  j["refund_window_days"] = refund_window_days ? json(*refund_window_days) : json(nullptr);
  json shops_j = json::object();
  for (const auto& s : shops)
    shops_j[s.id] = {{"ratio", format_rate(s.ratio)}, {"min_basket", format_units(s.min_basket.units, money_scale)}};
  j["shops"] = shops_j;
  json hist = json::array();
  for (const auto& b : history) hist.push_back({{"orders", b.orders}, {"multiplier", format_rate(b.multiplier)}});
  if (!history.empty()) j["history"] = hist;
  json tiers_j = json::array();
  for (const auto& t : tiers) {
    json tj = {{"name", t.name}, {"width", t.width}, {"fill", std::string(fill_name(t.fill))},
               {"accrual", format_rate(t.accrual)}, {"upline_multiplier", format_rate(t.upline_multiplier)}};
    json rates = json::array();
    for (auto r : t.rates) rates.push_back(format_rate(r));
    tj["rates"] = rates;
    if (t.promote_at) {
      json pa = json::object();
      if (t.promote_at->lifetime_points) pa["lifetime_points"] = format_units(t.promote_at->lifetime_points->units, points_scale);
      if (t.promote_at->direct_referrals)
        pa["direct_referrals"] = {{"count", t.promote_at->direct_referrals->count},
                                  {"min_tier", tiers[t.promote_at->direct_referrals->min_tier].name}};
      if (t.promote_at->filled_levels) pa["filled_levels"] = *t.promote_at->filled_levels;
      tj["promote_at"] = pa;
    }
    tj["benefits"] = t.benefits;
    tiers_j.push_back(tj);
  }
  j["tiers"] = tiers_j;
  json rw = json::array();
  for (const auto& r : rewards) rw.push_back({{"id", r.id}, {"lifetime_points", format_units(r.lifetime_points.units, points_scale)}});
  j["rewards"] = rw;
  return j.dump();
}

std::string plan_incompatibility(const Plan& current, const Plan& next) {
  if (next.money_scale != current.money_scale)
    return "money_scale: " + std::to_string(next.money_scale) + " differs from the plan in force (" + std::to_string(current.money_scale) + ")";
  if (next.points_scale != current.points_scale)
    return "points_scale: " + std::to_string(next.points_scale) + " differs from the plan in force (" + std::to_string(current.points_scale) + ")";
  if (next.tiers.size() < current.tiers.size())
    return "tiers: " + std::to_string(next.tiers.size()) + " tiers would remove tiers of the plan in force (" +
           std::to_string(current.tiers.size()) + ")";
  for (std::size_t i = 0; i < current.tiers.size(); ++i) {
    const Tier& a = current.tiers[i];
    const Tier& b = next.tiers[i];
    std::string path = "tiers[" + std::to_string(i) + "]";
    if (a.name != b.name) return path + ".name: " + shown_string(b.name) + " would rename or reorder tier " + shown_string(a.name);
    if (a.width != b.width)
      return path + ".width: " + std::to_string(b.width) + " would change the width of tier " + shown_string(a.name) + " (" + std::to_string(a.width) + ")";
    if (a.fill != b.fill)
      return path + ".fill: " + std::string(fill_name(b.fill)) + " would change the fill of tier " + shown_string(a.name) + " (" +
             std::string(fill_name(a.fill)) + ")";
  }
  return {};
}

}  // namespace upline
