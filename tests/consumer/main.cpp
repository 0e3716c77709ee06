#include <upline/upline.hpp>
#include <iostream>

int main() {
  upline::PlanFaults faults;
  auto plan = upline::Plan::parse(R"({"name":"cxx","shops":{"main":{"ratio":"1"}},"tiers":[{"name":"bronze","width":2,"rates":["0.1"]}]})", faults);
  if (!plan) return 1;
  upline::Engine engine(std::move(*plan));
  auto out = engine.apply(upline::Join{1, std::nullopt, 0});
  std::cout << "consumer cxx ok: " << (out.ok() ? "joined" : "rejected") << "\n";
  return out.ok() ? 0 : 2;
}
