// genealogy.cpp — downlines with Boost.Graph (genealogy.hpp, docs/LAB.md).
#include "upline/genealogy.hpp"

#include "upline/json_text.hpp"
#include "upline/whatif.hpp"

// GCC 12 at -O3 reports Boost.Graph's edge iterators (an optional pair, set before use) as maybe
// uninitialized where write_graphviz and write_graphml inline them: a false positive in Boost's
// code, silenced for this file only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/depth_first_search.hpp>
#include <boost/graph/graphml.hpp>
#include <boost/graph/graphviz.hpp>

#include <algorithm>
#include <deque>
#include <sstream>

namespace upline {

namespace {

using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS>;
using Vertex = Graph::vertex_descriptor;
constexpr std::uint32_t nobody = no_member;

// Adds up, as each vertex is finished (after all of its children), its subtree into its parent's.
class SubtreeSums : public boost::default_dfs_visitor {
 public:
  SubtreeSums(const std::vector<std::uint32_t>& parent, std::vector<std::uint64_t>& members, std::vector<i128>& volume)
      : parent_(&parent), members_(&members), volume_(&volume) {}
  void finish_vertex(Vertex v, const Graph&) const {
    const std::uint32_t p = (*parent_)[v];
    if (p == nobody) return;
    (*members_)[p] += (*members_)[v];
    (*volume_)[p] += (*volume_)[v];
  }

 private:
  const std::vector<std::uint32_t>* parent_;
  std::vector<std::uint64_t>* members_;
  std::vector<i128>* volume_;
};

std::string dot_escape(std::string_view s) {
  std::string out;
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

Genealogy genealogy(const Engine& engine, const GenealogyOptions& o) {
  const Plan& plan = engine.plan();
  if (o.tier && *o.tier >= plan.tiers.size())
    throw GenealogyError("tier: " + std::to_string(*o.tier) + " is not a tier of plan \"" + plan.name + "\" (0.." + std::to_string(plan.tiers.size() - 1) + ")");
  Genealogy g;
  g.tree = o.tier ? plan.tiers[*o.tier].name : "sponsor";
  g.plan = plan.name;
  g.money_scale = plan.money_scale;
  for (const Tier& t : plan.tiers) g.tier_names.push_back(t.name);

  // The tree over member indices: edges parent → child in the tree's order.
  const std::size_t n = engine.member_count();
  Graph graph(n);
  std::vector<std::uint32_t> parent(n, nobody);
  std::vector<bool> in_tree(n, false);
  std::uint32_t tree_root = nobody;
  if (!o.tier) {
    for (std::uint32_t m = 0; m < n; ++m) {
      in_tree[m] = true;
      const std::uint32_t s = engine.record_at(m).sponsor;
      if (s == no_member) {
        if (tree_root == nobody) tree_root = m;
        continue;
      }
      parent[m] = s;
      boost::add_edge(s, m, graph);  // in join order
    }
  } else {
    const Matrix& mx = engine.matrix(*o.tier);
    std::vector<std::pair<std::uint64_t, std::uint32_t>> edges;  // (parent node << 32 | position, child member)
    for (Matrix::Node node = 0; node < mx.size(); ++node) {
      const std::uint32_t m = mx.member_at(node);
      in_tree[m] = true;
      const Matrix::Node p = mx.parent(node);
      if (p == Matrix::none) {
        if (tree_root == nobody) tree_root = m;
        continue;
      }
      parent[m] = mx.member_at(p);
      edges.emplace_back(std::uint64_t(p) << 32 | mx.position(node), m);
    }
    std::sort(edges.begin(), edges.end());
    for (const auto& [key, child] : edges) boost::add_edge(mx.member_at(static_cast<Matrix::Node>(key >> 32)), child, graph);
  }

  // Each member's own volume, then every subtree's: one depth-first search over the whole tree.
  std::vector<i128> volume(n, 0);
  const Ledger& ledger = engine.state().ledger;
  for (std::size_t i = 0; i < ledger.order_count(); ++i) {
    const Ledger::Order& order = ledger.order(static_cast<std::uint32_t>(i));
    volume[order.member] += i128(order.amount) - order.refunded;
  }
  const std::vector<i128> own = volume;
  std::vector<std::uint64_t> members(n, 1);
  std::vector<boost::default_color_type> colour(n, boost::white_color);
  const auto colours = boost::make_iterator_property_map(colour.begin(), boost::get(boost::vertex_index, graph));
  for (std::uint32_t m = 0; m < n; ++m)
    if (in_tree[m] && parent[m] == nobody) boost::depth_first_visit(graph, m, SubtreeSums(parent, members, volume), colours);

  std::uint32_t root = tree_root;
  if (o.root) {
    root = engine.state().members.find(*o.root);
    if (root == no_member) throw GenealogyError("root: member " + std::to_string(*o.root) + " is unknown");
    if (!in_tree[root]) throw GenealogyError("root: member " + std::to_string(*o.root) + " has no place in the " + g.tree + " matrix");
  }
  if (root == nobody) return g;  // an empty tree

  std::uint32_t root_depth = 0;
  for (std::uint32_t a = parent[root]; a != nobody; a = parent[a]) ++root_depth;
  std::deque<std::pair<std::uint32_t, std::uint32_t>> queue{{root, 0}};  // (member, levels below root)
  while (!queue.empty()) {
    const auto [m, level] = queue.front();
    queue.pop_front();
    const MemberRecord& r = engine.record_at(m);
    GenealogyNode node;
    node.member = r.id;
    if (parent[m] != nobody) node.parent = engine.record_at(parent[m]).id;
    node.depth = root_depth + level;
    node.tier = r.tier;
    node.downline = members[m] - 1;
    node.volume = own[m];
    for (const auto e : boost::make_iterator_range(boost::out_edges(m, graph))) {
      const auto c = static_cast<std::uint32_t>(boost::target(e, graph));
      node.legs.push_back(Leg{engine.record_at(c).id, members[c], volume[c]});
      if (!o.depth || level < *o.depth) queue.emplace_back(c, level + 1);
    }
    g.nodes.push_back(std::move(node));
  }
  return g;
}

namespace {

// The nodes given as a graph of their own (vertex i = g.nodes[i]), edges to each node from its
// parent when the parent is given too.
Graph selection(const Genealogy& g) {
  Graph out(g.nodes.size());
  std::vector<std::pair<MemberId, std::size_t>> index;
  index.reserve(g.nodes.size());
  for (std::size_t i = 0; i < g.nodes.size(); ++i) index.emplace_back(g.nodes[i].member, i);
  std::sort(index.begin(), index.end());
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    if (!g.nodes[i].parent) continue;
    const auto it = std::lower_bound(index.begin(), index.end(), std::pair{*g.nodes[i].parent, std::size_t{0}});
    if (it != index.end() && it->first == *g.nodes[i].parent) boost::add_edge(it->second, i, out);
  }
  return out;
}

}  // namespace

std::string genealogy_dot(const Genealogy& g) {
  const Graph graph = selection(g);
  std::ostringstream out;
  boost::write_graphviz(
      out, graph,
      [&g](std::ostream& os, Vertex v) {
        const GenealogyNode& n = g.nodes[v];
        os << "[label=\"" << n.member << "\\n" << dot_escape(g.tier_names[n.tier]) << "\\ndownline " << n.downline << "\\nvolume "
           << format_wide_units(n.volume, g.money_scale) << "\"]";
      },
      boost::default_writer(), [&g](std::ostream& os) { os << "graph [label=\"" << dot_escape(g.plan + ": " + g.tree) << "\"];\nnode [shape=box];\n"; });
  return out.str();
}

std::string genealogy_graphml(const Genealogy& g) {
  const Graph graph = selection(g);
  std::vector<std::string> member, parent, depth, tier, downline, volume;
  for (const GenealogyNode& n : g.nodes) {
    member.push_back(std::to_string(n.member));
    parent.push_back(n.parent ? std::to_string(*n.parent) : std::string());
    depth.push_back(std::to_string(n.depth));
    tier.push_back(g.tier_names[n.tier]);
    downline.push_back(std::to_string(n.downline));
    volume.push_back(format_wide_units(n.volume, g.money_scale));
  }
  boost::dynamic_properties dp;
  const auto index = boost::get(boost::vertex_index, graph);
  dp.property("member", boost::make_iterator_property_map(member.begin(), index));
  dp.property("parent", boost::make_iterator_property_map(parent.begin(), index));
  dp.property("depth", boost::make_iterator_property_map(depth.begin(), index));
  dp.property("tier", boost::make_iterator_property_map(tier.begin(), index));
  dp.property("downline", boost::make_iterator_property_map(downline.begin(), index));
  dp.property("volume", boost::make_iterator_property_map(volume.begin(), index));
  std::ostringstream out;
  boost::write_graphml(out, graph, dp, true);
  return out.str();
}

std::string genealogy_json(const Genealogy& g) {
  std::string out = "{\"tree\":" + json_quote(g.tree) + ",\"plan\":" + json_quote(g.plan) + ",\"root\":" +
                    (g.nodes.empty() ? std::string("null") : std::to_string(g.nodes.front().member)) + ",\"members\":[";
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    const GenealogyNode& n = g.nodes[i];
    if (i) out += ",\n";
    out += "{\"member\":" + std::to_string(n.member) + ",\"parent\":" + (n.parent ? std::to_string(*n.parent) : std::string("null")) +
           ",\"depth\":" + std::to_string(n.depth) + ",\"tier\":" + json_quote(g.tier_names[n.tier]) + ",\"downline\":" + std::to_string(n.downline) +
           ",\"volume\":\"" + format_wide_units(n.volume, g.money_scale) + "\",\"legs\":[";
    for (std::size_t k = 0; k < n.legs.size(); ++k) {
      const Leg& l = n.legs[k];
      if (k) out += ',';
      out += "{\"member\":" + std::to_string(l.child) + ",\"members\":" + std::to_string(l.members) + ",\"volume\":\"" +
             format_wide_units(l.volume, g.money_scale) + "\"}";
    }
    out += "]}";
  }
  out += "]}\n";
  return out;
}

}  // namespace upline
