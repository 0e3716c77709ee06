// An accepted purchase allocates nothing in steady state — through Engine::apply, the text door
// and the C ABI's typed call — and the only allocations left are the engine's tables growing
// (amortized: a few per doubling or per storage chunk, never one per purchase).
//
// The program replaces the global operator new (every form) and interposes aligned_alloc (which
// the huge-page storage uses), counting calls while `counting` is set: around the apply calls
// only, so that building an event or a line in the test is not counted. Its own executable,
// because the replacement is global.
#include "upline/door.hpp"
#include "upline/engine.hpp"
#include "upline/upline.h"

#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <new>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::atomic<bool> counting{false};
std::atomic<std::uint64_t> allocations{0};

void* counted(std::size_t n) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
void* counted_aligned(std::size_t n, std::size_t align) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  void* p = nullptr;
  return ::posix_memalign(&p, align < sizeof(void*) ? sizeof(void*) : align, n == 0 ? 1 : n) == 0 ? p : nullptr;
}

}  // namespace

void* operator new(std::size_t n) {
  if (void* p = counted(n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  if (void* p = counted(n)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted(n); }
void* operator new(std::size_t n, std::align_val_t a) {
  if (void* p = counted_aligned(n, static_cast<std::size_t>(a))) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t a) {
  if (void* p = counted_aligned(n, static_cast<std::size_t>(a))) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

// The huge-page storage (upline/storage.hpp) takes its blocks from aligned_alloc.
extern "C" void* __libc_memalign(std::size_t align, std::size_t n);  // glibc
extern "C" void* aligned_alloc(std::size_t align, std::size_t n) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_memalign(align, n);
}

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in, path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The deep plan: four tiers, ten levels each, history bands, compression, rewards.
const std::string& plan_text() {
  static const std::string text = read_file(UPLINE_TEST_PLAN);
  return text;
}

upline::Plan plan() {
  upline::PlanFaults faults;
  auto p = upline::Plan::parse(plan_text(), faults);
  REQUIRE_MESSAGE(p, faults.message());
  return *p;
}

constexpr std::uint32_t members = 20'000;
constexpr std::uint32_t warm = 200'000;      // purchases before counting: the tables find their size
constexpr std::uint32_t measured = 200'000;  // purchases counted
// Growth of the order table, its index and the string arena over `measured` purchases: a few
// blocks and at most one rehash, far below one per purchase.
constexpr std::uint64_t growth_allowance = measured / 1000;

// The i-th purchase: a buyer spread over the tree, an amount with cents, an order id longer
// than any small-string buffer (36 bytes, like a UUID).
struct Buy {
  std::string order;
  std::int64_t member;
  std::int64_t cents;
  std::int64_t at;
};
Buy buy(std::uint32_t i) {
  char id[40];
  std::snprintf(id, sizeof id, "order-2026-11-29-%019u", i);
  return Buy{id, 1 + static_cast<std::int64_t>((i * 2654435761u) % members), 500 + (i * 7919) % 20'000, 10'000 + i};
}

std::string join_line(std::uint32_t m) {
  return m == 1 ? R"({"type":"join","member":1,"at":1})"
                : R"({"type":"join","member":)" + std::to_string(m) + R"(,"sponsor":)" + std::to_string(m / 2) + R"(,"at":1})";
}

std::string purchase_line(const Buy& b) {
  return R"({"type":"purchase","order":")" + b.order + R"(","member":)" + std::to_string(b.member) +
         R"(,"shop":"main","amount":")" + std::to_string(b.cents / 100) + "." + (b.cents % 100 < 10 ? "0" : "") +
         std::to_string(b.cents % 100) + R"(","at":)" + std::to_string(b.at) + "}";
}

}  // namespace

TEST_CASE("allocations: Engine::apply of a typed purchase allocates nothing in steady state") {
  upline::Engine engine(plan());
  std::vector<upline::Effect> fx;
  for (std::uint32_t m = 1; m <= members; ++m) {
    fx.clear();
    REQUIRE(engine.apply(upline::Join{m, m == 1 ? std::nullopt : std::optional<upline::MemberId>(m / 2), 1}, fx));
  }
  upline::Event event{upline::Purchase{}};
  auto& p = std::get<upline::Purchase>(event);
  p.shop = "main";
  std::uint64_t counted_allocations = 0;
  for (std::uint32_t i = 0; i < warm + measured; ++i) {
    const Buy b = buy(i);
    p.order = b.order;
    p.member = b.member;
    p.amount = upline::Decimal::from_units(b.cents, 2);
    p.at = b.at;
    allocations = 0;
    counting = i >= warm;
    fx.clear();
    const bool ok = engine.apply(event, fx);
    counting = false;
    counted_allocations += allocations;
    REQUIRE(ok);
  }
  MESSAGE(counted_allocations, " allocations in ", measured, " accepted purchases");
  CHECK(counted_allocations <= growth_allowance);
}

TEST_CASE("allocations: the text door (LineDoor) allocates nothing per accepted purchase in steady state") {
  upline::Engine engine(plan());
  upline::LineDoor door(engine);
  for (std::uint32_t m = 1; m <= members; ++m) REQUIRE(door.apply(join_line(m)).ok());
  std::uint64_t counted_allocations = 0;
  for (std::uint32_t i = 0; i < warm + measured; ++i) {
    const std::string line = purchase_line(buy(i));
    allocations = 0;
    counting = i >= warm;
    const bool ok = door.apply(line).ok();
    counting = false;
    counted_allocations += allocations;
    REQUIRE_MESSAGE(ok, line);
  }
  MESSAGE(counted_allocations, " allocations in ", measured, " accepted purchases");
  CHECK(counted_allocations <= growth_allowance);
}

TEST_CASE("allocations: the C ABI's upl_purchase allocates nothing per accepted purchase in steady state") {
  upl_engine* e = nullptr;
  REQUIRE(upl_engine_open_json(&e, plan_text().data(), plan_text().size()) == UPL_OK);
  for (std::int64_t m = 1; m <= members; ++m) REQUIRE(upl_join(e, m, m == 1 ? 0 : m / 2, 1) == UPL_OK);
  std::uint64_t counted_allocations = 0;
  for (std::uint32_t i = 0; i < warm + measured; ++i) {
    const Buy b = buy(i);
    allocations = 0;
    counting = i >= warm;
    const upl_status s = upl_purchase(e, b.order.c_str(), b.member, "main", b.cents, b.at);
    counting = false;
    counted_allocations += allocations;
    REQUIRE_MESSAGE(s == UPL_OK, upl_last_error());
  }
  upl_engine_free(e);
  MESSAGE(counted_allocations, " allocations in ", measured, " accepted purchases");
  CHECK(counted_allocations <= growth_allowance);
}

TEST_CASE("allocations: the counter counts (a std::string past its small buffer, a vector)") {
  allocations = 0;
  counting = true;
  std::string s(100, 'x');
  std::vector<int> v(10);
  counting = false;
  CHECK(allocations == 2);
  CHECK(s.size() + v.size() == 110);
}
