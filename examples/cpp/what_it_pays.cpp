// what_it_pays.cpp — the C++ API: load a plan, run a few events, read effects and the state.
//
//   what_it_pays PLAN.json
#include <upline/upline.hpp>

#include <fstream>
#include <iostream>
#include <sstream>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " PLAN.json\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  std::stringstream text;
  text << in.rdbuf();
  upline::PlanFaults faults;
  auto plan = upline::Plan::parse(text.str(), faults);
  if (!plan) {
    for (const auto& f : faults.faults) std::cerr << "invalid plan: " << f << "\n";
    return 1;
  }
  upline::Engine engine(std::move(*plan));
  const int ms = engine.plan().money_scale;

  // A sponsor with two recruits; each recruit buys. Events can also come from JSON: parse_event.
  std::vector<upline::Event> events = {
      upline::Join{1, std::nullopt, 0},
      upline::Join{2, 1, 1},
      upline::Join{3, 1, 2},
      upline::Purchase{"a-1", 2, "main", upline::Decimal::from_units(45'000, ms), 3},
      upline::Purchase{"a-2", 3, "outlet", upline::Decimal::from_units(80'000, ms), 4},
      upline::Refund{"a-2", *upline::Decimal::parse("200.00"), 5},
  };
  for (const upline::Event& ev : events) {
    upline::Outcome out = engine.apply(ev);
    std::cout << upline::event_type_name(ev) << ": " << upline::code_name(out.code);
    if (!out.ok()) std::cout << " (" << out.message << ")";
    std::cout << "\n";
    for (const upline::Effect& e : out.effects) std::cout << "  " << upline::effect_json(engine, e) << "\n";
  }
  // A rejected event changes nothing.
  const std::string before = engine.digest();
  upline::Outcome dup = engine.apply(upline::Purchase{"a-1", 2, "main", upline::Decimal::from_units(100, ms), 6});
  std::cout << "retry of a-1: " << upline::code_name(dup.code) << ", state unchanged: " << (engine.digest() == before ? "yes" : "no") << "\n";

  for (upline::MemberId id : engine.member_ids()) {
    auto m = *engine.member(id);
    std::cout << "member " << id << ": " << m.tier_name << ", balance " << upline::format_units(m.balance.units, engine.plan().points_scale)
              << ", lifetime " << upline::format_units(m.lifetime.units, engine.plan().points_scale) << ", below it in bronze: "
              << *engine.below(id, 0) << "\n";
  }
  std::cout << "digest " << engine.digest() << "\n";
  return 0;
}
