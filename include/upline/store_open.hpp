// upline/store_open.hpp — opening a data directory the way a host means it: "this directory, with
// this plan" — created with the plan when it holds no journal yet, else opened and recovered, and
// refused when the plan given is not the plan the directory was created with. The door the C ABI (upl_store_open)
// and Python (upline.Store) share, so that both decide and word it the same way.
#pragma once

#include "upline/json_text.hpp"
#include "upline/store.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace upline {

/// Opens DIR, or creates it with `plan` as its genesis record when it holds no journal yet
/// (`plan` nullptr: open only, and a directory without a journal is StoreError(usage)). A plan
/// given for a directory that exists must be the plan it was created with (its genesis record;
/// plan events since then do not matter, so a host that always starts with the same plan file
/// keeps working after a plan change), compared as canonical JSON; otherwise StoreError(usage)
/// names both plans. The directory is recovered (and locked) before the
/// comparison; a refusal releases it.
inline std::unique_ptr<Store> open_or_create_store(const std::string& dir, const Plan* plan, StoreOptions options = {}) {
  FileSystem& fs = options.fs ? *options.fs : posix_file_system();
  if (!holds_store(dir, &fs)) {
    if (!plan) return Store::open(dir, options);  // throws: no journal here
    return Store::create(dir, plan->canonical_json(), options);
  }
  std::unique_ptr<Store> store = Store::open(dir, options);
  if (plan) {
    if (store->genesis_plan() != plan->canonical_json()) {
      PlanFaults faults;
      const auto genesis = Plan::parse(store->genesis_plan(), faults);
      const std::string was = genesis ? shown_string(genesis->name) + " version " + std::to_string(genesis->version) : "another plan";
      throw StoreError(StoreError::Kind::usage, dir + ": plan: " + shown_string(plan->name) + " version " + std::to_string(plan->version) +
                                                    " differs from the plan the directory was created with, " + was +
                                                    " (compared as canonical JSON); open it without a plan, or change the plan with a plan event");
    }
  }
  return store;
}

/// Whether a StoreError says the directory is locked by another Store (this process's or
/// another's): FileSystem::lock reports it as a usage error with this wording.
inline bool store_busy(const StoreError& e) noexcept {
  constexpr std::string_view busy = "the data directory is in use by another process";
  const std::string_view what = e.what();
  return e.kind() == StoreError::Kind::usage && what.size() >= busy.size() && what.substr(what.size() - busy.size()) == busy;
}

/// The failure's name for a host: "io", "corrupt", "busy" (store_busy) or "usage".
inline std::string_view store_failure_name(const StoreError& e) noexcept {
  switch (e.kind()) {
    case StoreError::Kind::io: return "io";
    case StoreError::Kind::corrupt: return "corrupt";
    case StoreError::Kind::usage: break;
  }
  return store_busy(e) ? "busy" : "usage";
}

}  // namespace upline
