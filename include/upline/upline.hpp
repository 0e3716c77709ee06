// upline/upline.hpp — the whole C++ API of upline in one include.
//
//   points.hpp      exact decimals: Money, Points, Rate, Decimal, half-to-even rounding
//   status.hpp      outcome codes and Rejection
//   plan.hpp        Plan: shops, history bands, tiers, rewards; parse and validate
//   matrix.hpp      one tier's matrix and its placement rule
//   member.hpp      the member store and MemberView
//   event.hpp       the events (Join, Purchase, Refund, …)
//   effect.hpp      the effects an accepted event produces
//   engine.hpp      Engine: apply events, query the state, digest
//   json.hpp        events from JSON, effects and state to JSON (SPEC §9–§10)
//   simulation.hpp  a seeded, reproducible shop (the demo's workload)
//   workload.hpp    the benchmark workload generator (`upline generate`)
//   storage.hpp     the big-table containers behind the engine
#pragma once

#include "upline/digest.hpp"
#include "upline/effect.hpp"
#include "upline/engine.hpp"
#include "upline/event.hpp"
#include "upline/json.hpp"
#include "upline/matrix.hpp"
#include "upline/member.hpp"
#include "upline/plan.hpp"
#include "upline/points.hpp"
#include "upline/simulation.hpp"
#include "upline/status.hpp"
#include "upline/storage.hpp"
#include "upline/version.hpp"
#include "upline/workload.hpp"
