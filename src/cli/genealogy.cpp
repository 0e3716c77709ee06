// genealogy.cpp — `upline genealogy`: a downline from a data directory, as DOT, GraphML or JSON
// (genealogy.hpp, docs/LAB.md).
#include "cli.hpp"
#include "files.hpp"

#include "upline/genealogy.hpp"
#include "upline/store.hpp"

#include <memory>

namespace upline::cli {

namespace {

struct GenealogyCommand {
  std::string data, archive, tier = "sponsor", format, out = "-";
  std::int64_t root = 0;
  std::uint64_t depth = 0;
  bool has_root = false, has_depth = false;
};

int genealogy_command(const GenealogyCommand& o) {
  if (o.format != "dot" && o.format != "graphml" && o.format != "json") fail(exit_usage, "--format: \"" + o.format + "\" is not dot, graphml or json");
  if (!holds_store(o.data)) fail(exit_usage, "--data: " + o.data + " holds no data directory");
  const Engine engine = rebuild(o.data, std::nullopt, nullptr, nullptr, o.archive);
  GenealogyOptions options;
  if (o.tier != "sponsor") {
    const auto& tiers = engine.plan().tiers;
    for (std::uint32_t t = 0; t < tiers.size(); ++t)
      if (tiers[t].name == o.tier) options.tier = t;
    if (!options.tier) {
      std::string names;
      for (const Tier& t : tiers) names += (names.empty() ? "" : ", ") + t.name;
      fail(exit_usage, "--tier: \"" + o.tier + "\" is not sponsor or a tier of the plan in force (" + names + ")");
    }
  }
  if (o.has_root) options.root = o.root;
  if (o.has_depth) options.depth = static_cast<std::uint32_t>(o.depth);
  Genealogy g;
  try {
    g = genealogy(engine, options);
  } catch (const GenealogyError& e) {
    fail(exit_usage, std::string("--") + e.what());
  }
  const std::string text = o.format == "dot" ? genealogy_dot(g) : o.format == "graphml" ? genealogy_graphml(g) : genealogy_json(g);
  Output out(o.out, true);
  out.write(text);
  out.close();
  return exit_ok;
}

}  // namespace

void add_genealogy(CLI::App& app) {
  auto o = std::make_shared<GenealogyCommand>();
  CLI::App* c = app.add_subcommand("genealogy", "a member's downline in the sponsor tree or a tier's matrix: DOT, GraphML or JSON");
  set_usage(c, "upline genealogy --data DIR [--tier sponsor|TIER] [--root ID] [--depth N] --format dot|graphml|json [--out FILE]");
  c->description(
      "Rebuilds the state of DIR (read only: the newest snapshot, then the journal) and writes the\n"
      "downline of member ID (default: the tree's root) in the sponsor tree or in the matrix of a\n"
      "tier, N levels deep (default: all): each member with its parent, depth, tier, downline size,\n"
      "own volume and, in JSON, every leg (the subtree under each child: members and volume).\n"
      "Downline sizes and volumes always count the whole tree. Volume: purchases net of refunds.");
  c->add_option("--data", o->data, "the data directory")->required()->type_name("DIR");
  c->add_option("--archive", o->archive, "where older journal segments were archived (upline archive)")->type_name("ARCHIVE");
  c->add_option("--tier", o->tier, "sponsor (default) or a tier's name: the tree to walk")->type_name("TIER");
  c->add_option("--root", o->root, "the member whose downline is given (default: the tree's root)")
      ->check(CLI::Range(std::int64_t{1}, INT64_MAX))
      ->each([o](const std::string&) { o->has_root = true; })
      ->type_name("ID");
  c->add_option("--depth", o->depth, "levels below the root (0: the root alone; default: all)")
      ->check(count_in(0, UINT32_MAX))
      ->each([o](const std::string&) { o->has_depth = true; })
      ->type_name("N");
  c->add_option("--format", o->format, "dot, graphml or json")->required()->type_name("FORMAT");
  c->add_option("--out", o->out, "where it goes (default '-': standard output)")->type_name("FILE");
  set_body(c, [o] { return genealogy_command(*o); });
}

}  // namespace upline::cli
