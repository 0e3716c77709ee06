// upline/upline.hpp — the whole C++ API of upline in one include. One header per concept, in the
// order of the specification (docs/SPEC.md):
//
//   decimal.hpp      SPEC §2   exact decimals: Money, Points, Rate, Decimal, half-to-even rounding
//   plan.hpp         SPEC §3   Plan: shops, history bands, tiers, rewards; parse and validate
//   event.hpp        SPEC §4   the events (Join, Purchase, Refund, …) and a door's Input
//   rejection.hpp    SPEC §4   the codes, their order, every message
//   members.hpp      SPEC §4   member records, the id index, referrals, rewards granted, balances
//   matrix.hpp       SPEC §5   placement: one tier's matrix, breadth_first and under_sponsor
//   accrual.hpp      SPEC §6   what a purchase earns
//   propagation.hpp  SPEC §6   who a purchase pays: own points and each tier's upline
//   ledger.hpp       SPEC §6–7 orders, credits, refunds' clawbacks, redemptions, adjustments
//   promotion.hpp    SPEC §8   the work list: promotions and rewards
//   effect.hpp       SPEC §9   what an accepted event asks the host to book
//   state.hpp        SPEC §10  the state; its digest, snapshot bytes and dump
//   statement.hpp    SPEC §13  a member's statement: every credit and debit of a period, with its cause
//   engine.hpp                 Engine: composes the above, one handler per event
//   door.hpp                   text in and out: event lines, result lines
//   store.hpp                  the durable engine: journal, snapshots, recovery
//   version.hpp                the library's version
#pragma once

#include "upline/accrual.hpp"
#include "upline/decimal.hpp"
#include "upline/door.hpp"
#include "upline/effect.hpp"
#include "upline/engine.hpp"
#include "upline/event.hpp"
#include "upline/ledger.hpp"
#include "upline/matrix.hpp"
#include "upline/members.hpp"
#include "upline/plan.hpp"
#include "upline/promotion.hpp"
#include "upline/propagation.hpp"
#include "upline/rejection.hpp"
#include "upline/state.hpp"
#include "upline/statement.hpp"
#include "upline/store.hpp"
#include "upline/version.hpp"
