// test_genealogy.cpp — downlines with Boost.Graph (genealogy.hpp, docs/LAB.md): a small tree
// computed by hand in the sponsor tree and in a matrix, depth and root limits, every output format.
#include "upline/door.hpp"
#include "upline/genealogy.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace {

// Sponsor tree: 1 → 2, 3; 2 → 4, 5; 4 → 6. Bronze (width 3, breadth-first): 1 → 2, 3, 4; 2 → 5, 6.
// Volumes: 4 buys 10.00, 6 buys 20.00 (5.00 refunded), 3 buys 5.00.
upline::Engine sample() {
  upline::PlanFaults faults;
  std::optional<upline::Plan> plan = upline::Plan::parse(*upline::bundled_plan("four-tier"), faults);
  REQUIRE(plan.has_value());
  upline::Engine e(std::move(*plan));
  upline::LineDoor door(e);
  for (const char* line : {R"({"type":"join","member":1,"at":1000})", R"({"type":"join","member":2,"sponsor":1,"at":1000})",
                           R"({"type":"join","member":3,"sponsor":1,"at":1000})", R"({"type":"join","member":4,"sponsor":2,"at":1000})",
                           R"({"type":"join","member":5,"sponsor":2,"at":1000})", R"({"type":"join","member":6,"sponsor":4,"at":1000})",
                           R"({"type":"purchase","order":"a","member":4,"shop":"main","amount":"10.00","at":2000})",
                           R"({"type":"purchase","order":"b","member":6,"shop":"main","amount":"20.00","at":2000})",
                           R"({"type":"purchase","order":"c","member":3,"shop":"main","amount":"5.00","at":2000})",
                           R"({"type":"refund","order":"b","amount":"5.00","at":3000})"})
    REQUIRE(door.apply(line).ok());
  return e;
}

}  // namespace

TEST_CASE("genealogy: the sponsor tree — downlines, depths, legs and volumes by hand") {
  const upline::Engine e = sample();
  const upline::Genealogy g = upline::genealogy(e);
  CHECK(g.tree == "sponsor");
  CHECK(upline::genealogy_json(g) ==
        R"({"tree":"sponsor","plan":"four-tier demo","root":1,"members":[{"member":1,"parent":null,"depth":0,"tier":"bronze","downline":5,"volume":"0.00","legs":[{"member":2,"members":4,"volume":"25.00"},{"member":3,"members":1,"volume":"5.00"}]},)"
        "\n"
        R"({"member":2,"parent":1,"depth":1,"tier":"bronze","downline":3,"volume":"0.00","legs":[{"member":4,"members":2,"volume":"25.00"},{"member":5,"members":1,"volume":"0.00"}]},)"
        "\n"
        R"({"member":3,"parent":1,"depth":1,"tier":"bronze","downline":0,"volume":"5.00","legs":[]},)"
        "\n"
        R"({"member":4,"parent":2,"depth":2,"tier":"bronze","downline":1,"volume":"10.00","legs":[{"member":6,"members":1,"volume":"15.00"}]},)"
        "\n"
        R"({"member":5,"parent":2,"depth":2,"tier":"bronze","downline":0,"volume":"0.00","legs":[]},)"
        "\n"
        R"({"member":6,"parent":4,"depth":3,"tier":"bronze","downline":0,"volume":"15.00","legs":[]}]})"
        "\n");
}

TEST_CASE("genealogy: a tier's matrix, a root and a depth; counts stay whole-tree") {
  const upline::Engine e = sample();
  upline::GenealogyOptions o;
  o.tier = 0;
  o.root = 2;
  o.depth = 0;
  upline::Genealogy g = upline::genealogy(e, o);
  REQUIRE(g.nodes.size() == 1);
  CHECK(g.tree == "bronze");
  CHECK(g.nodes[0].member == 2);
  CHECK(g.nodes[0].depth == 1);  // below the matrix's root, member 1
  CHECK(g.nodes[0].downline == 2);
  REQUIRE(g.nodes[0].legs.size() == 2);
  CHECK(g.nodes[0].legs[0].child == 5);
  CHECK(g.nodes[0].legs[1].child == 6);
  CHECK(upline::format_units(static_cast<std::int64_t>(g.nodes[0].legs[1].volume), 2) == "15.00");
  o.depth = 1;
  g = upline::genealogy(e, o);
  REQUIRE(g.nodes.size() == 3);
  CHECK(g.nodes[1].member == 5);
  CHECK(g.nodes[2].member == 6);
  CHECK(g.nodes[2].parent == 2);
  // The whole matrix: 1 → 2, 3, 4 in position order, then 5, 6.
  o.root.reset();
  o.depth.reset();
  g = upline::genealogy(e, o);
  std::vector<upline::MemberId> order;
  for (const auto& n : g.nodes) order.push_back(n.member);
  CHECK(order == std::vector<upline::MemberId>{1, 2, 3, 4, 5, 6});
  CHECK(g.nodes[0].downline == 5);
  // DOT: a node per member given, an edge per parent given.
  const std::string dot = upline::genealogy_dot(g);
  CHECK(dot.find("0[label=\"1\\nbronze\\ndownline 5\\nvolume 0.00\"];") != std::string::npos);
  CHECK(dot.find("0->1 ;") != std::string::npos);
  CHECK(dot.find("1->5 ;") != std::string::npos);  // 2 → 6 (vertex 1 → vertex 5)
  // GraphML: the properties of each node.
  const std::string xml = upline::genealogy_graphml(g);
  CHECK(xml.find(R"(attr.name="downline")") != std::string::npos);
  CHECK(xml.find(R"(<edge id="e4" source="n1" target="n5">)") != std::string::npos);
}

TEST_CASE("genealogy: errors name the option and the value; an empty matrix is an empty tree") {
  const upline::Engine e = sample();
  upline::GenealogyOptions o;
  o.tier = 9;
  CHECK_THROWS_WITH_AS(upline::genealogy(e, o), R"(tier: 9 is not a tier of plan "four-tier demo" (0..3))", upline::GenealogyError);
  o.tier = 0;
  o.root = 77;
  CHECK_THROWS_WITH_AS(upline::genealogy(e, o), "root: member 77 is unknown", upline::GenealogyError);
  o.tier = 2;  // gold: nobody there
  o.root = 3;
  CHECK_THROWS_WITH_AS(upline::genealogy(e, o), "root: member 3 has no place in the gold matrix", upline::GenealogyError);
  o.root.reset();
  CHECK(upline::genealogy(e, o).nodes.empty());
  CHECK(upline::genealogy_json(upline::genealogy(e, o)) == R"({"tree":"gold","plan":"four-tier demo","root":null,"members":[]})" "\n");
}
