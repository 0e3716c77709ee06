// upline/genealogy.hpp — a member's downline, for the support desk and the member's cabinet
// (docs/LAB.md): the sponsor tree or any tier's matrix as a Boost.Graph graph, each member with its
// downline size, its depth and the volume of every leg (the subtree under each child); written as
// Graphviz DOT (boost::write_graphviz), GraphML (boost::write_graphml) or JSON.
//
//   upline::Engine engine = upline::rebuild(dir, std::nullopt);
//   upline::GenealogyOptions o;
//   o.tier = 0;          // bronze's matrix; nullopt: the sponsor tree
//   o.root = 42;         // member 42's downline
//   o.depth = 3;         // three levels below it
//   upline::Genealogy g = upline::genealogy(engine, o);
//   std::string dot = upline::genealogy_dot(g);
#pragma once

#include "upline/decimal.hpp"
#include "upline/engine.hpp"

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace upline {

struct GenealogyOptions {
  std::optional<std::uint32_t> tier;  // a tier's matrix (index into the plan's tiers); nullopt: the sponsor tree
  std::optional<MemberId> root;       // the member whose downline is given; nullopt: the tree's root
  std::optional<std::uint32_t> depth;  // levels below the root given (0: the root alone); nullopt: all
};

/// The subtree under one child of a member.
struct Leg {
  MemberId child = 0;
  std::uint64_t members = 0;  // the child and everyone below it
  i128 volume = 0;            // their purchases net of refunds, money units
};

struct GenealogyNode {
  MemberId member = 0;
  std::optional<MemberId> parent;  // in this tree; nullopt for its root
  std::uint32_t depth = 0;         // levels below the tree's root (not the given root)
  std::uint32_t tier = 0;          // the member's current tier
  std::uint64_t downline = 0;      // members below it in this tree, at every depth
  i128 volume = 0;                 // its own purchases net of refunds, money units
  std::vector<Leg> legs;           // one per child, in the order of the tree (join order; a matrix's positions)
};

struct Genealogy {
  std::string tree;        // "sponsor", or the tier's name
  std::string plan;        // the plan's name
  int money_scale = 2;
  std::vector<std::string> tier_names;
  std::vector<GenealogyNode> nodes;  // the root given, then breadth-first: each level in tree order
};

/// Thrown by genealogy() for options that name nothing: an unknown tier or member, a root that
/// has no place in the tree asked for. The message names the option and the value.
class GenealogyError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// The downline of `o.root` (or the whole tree) in the engine's sponsor tree or a tier's matrix.
/// Downline sizes and leg volumes count the whole tree, whatever `o.depth` leaves out. Built as a
/// boost::adjacency_list and walked with boost::depth_first_search.
Genealogy genealogy(const Engine& engine, const GenealogyOptions& o = {});

/// Graphviz DOT (boost::write_graphviz): one node per member labelled with its id, tier, downline
/// and volume; edges parent → child.
std::string genealogy_dot(const Genealogy& g);
/// GraphML (boost::write_graphml) with the node properties member, parent, depth, tier,
/// downline, volume.
std::string genealogy_graphml(const Genealogy& g);
/// One JSON object: tree, plan, root, members (each with legs). docs/LAB.md gives every field.
std::string genealogy_json(const Genealogy& g);

}  // namespace upline
