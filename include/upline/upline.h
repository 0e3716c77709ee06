/*
 * upline.h — the C ABI of upline, a deterministic compensation engine.
 *
 * One engine holds one plan and the state of every member. Events go in (typed calls such as
 * upl_purchase(), or JSON through upl_engine_apply_json()); each is either accepted — and then its
 * effects (credits, debits, placements, promotions, rewards) are readable until the next event —
 * or rejected with a upl_status code, and then nothing changed.
 *
 * Conventions
 *   - Amounts cross the ABI as int64_t units at the plan's scale: money at money_scale (12.50 at
 *     scale 2 is 1250), points at points_scale. upl_engine_scales() tells the scales.
 *   - Functions return upl_status; UPL_OK is 0. On failure upl_last_error() gives a message
 *     naming the field, the value and the rule. Output parameters come first and are written only
 *     on success.
 *   - What the library allocates, the library frees: upl_engine_free(), upl_store_close(),
 *     upl_string_free(). Strings returned as `const char *` are owned by the engine and valid
 *     until the next call that changes it (or until it is freed).
 *   - Threading: an upl_engine is not thread-safe; use one engine from one thread at a time
 *     (distinct engines may be used concurrently). upl_last_error() is per thread.
 *   - No C++ exception and no abort ever crosses this boundary; a NULL or malformed argument
 *     gives UPL_EINVALID.
 *   - ABI evolution: enum values are never renumbered and records only grow at the end. Every
 *     record the library fills starts with `uint32_t size`, which the caller sets to the size it
 *     was compiled with (UPL_MEMBER_INIT, …); the library writes only that many bytes (never past
 *     them) and refuses a size smaller than the record had when it first carried `size` (0.2), so
 *     a host built against an older header keeps working with a newer library, and a newer host's
 *     extra fields keep their initial values under an older library. Compare UPL_VERSION_NUMBER
 *     (compiled) with upl_version_number() (loaded) to know which fields were filled.
 */
#ifndef UPLINE_H
#define UPLINE_H

#include <stddef.h>
#include <stdint.h>

#include "upline/version.h" /* UPL_VERSION_MAJOR/MINOR/PATCH, UPL_VERSION_NUMBER, UPL_VERSION_STRING */

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define UPL_API __declspec(dllexport)
#elif defined(__GNUC__)
#define UPL_API __attribute__((visibility("default")))
#else
#define UPL_API
#endif

/** Outcome codes. Values are pinned and never renumbered. */
typedef enum upl_status {
  UPL_OK = 0,
  /* Rejections of SPEC §4 (the engine state is unchanged). */
  UPL_EINVALID_EVENT = 1,
  UPL_EINVALID_PLAN = 2,
  UPL_EINCOMPATIBLE_PLAN = 3,
  UPL_EMEMBER_EXISTS = 10,
  UPL_ESPONSOR_REQUIRED = 11,
  UPL_EUNKNOWN_SPONSOR = 12,
  UPL_EDUPLICATE_ORDER = 13,
  UPL_EUNKNOWN_MEMBER = 14,
  UPL_EUNKNOWN_SHOP = 15,
  UPL_EINVALID_AMOUNT = 16,
  UPL_EUNKNOWN_ORDER = 17,
  UPL_EREFUND_EXCEEDS_ORDER = 18,
  UPL_EREFUND_WINDOW_CLOSED = 19,
  UPL_EDUPLICATE_REF = 20,
  UPL_EINSUFFICIENT_POINTS = 21,
  UPL_EOVERFLOW = 22,
  /* System and usage errors. */
  UPL_EINVALID = 100,  /**< a NULL, malformed or out-of-range argument */
  UPL_ENOMEM = 101,    /**< out of memory */
  UPL_ENOTFOUND = 102, /**< a query named a member, tier or order that does not exist */
  UPL_EINTERNAL = 103, /**< a bug: please report it with upl_last_error() */
  UPL_EIO = 104,       /**< a store's read, write or fsync failed (the store then accepts nothing more) */
  UPL_ECORRUPT = 105,  /**< a store's data directory is damaged (the message names file, offset, sequence) */
  UPL_EBUSY = 106,     /**< a store's data directory is open in another upl_store (this process's or another's) */
  /* Not a status: makes the enum as wide as int in C and C++, so that any int a host passes in
   * (upl_status_str(9999)) is a valid value of the type. */
  UPL_STATUS_FORCE_INT_ = 0x7fffffff
} upl_status;

/** An engine: opaque. */
typedef struct upl_engine upl_engine;

/** A durable engine over a data directory: opaque (see "stores" below). */
typedef struct upl_store upl_store;

/**
 * The static name of a status ("ok", "duplicate_order", "invalid", …), never NULL.
 * @param status any value
 * @return a string owned by the library; "unknown" for a value not listed
 */
UPL_API const char *upl_status_str(upl_status status);

/**
 * The message of the last failure on this thread, never NULL ("" before any failure).
 * @return a string owned by the library, valid until the next upline call on this thread
 */
UPL_API const char *upl_last_error(void);

/** @return UPL_VERSION_NUMBER of the loaded library. */
UPL_API uint32_t upl_version_number(void);

/** @return UPL_VERSION_STRING of the loaded library ("0.2.0"), owned by the library. */
UPL_API const char *upl_version(void);

/* ---- engines -------------------------------------------------------------------------------- */

/**
 * Opens an in-memory engine from plan JSON (SPEC §3).
 * @param out receives the engine on success (left untouched on failure); free with upl_engine_free()
 * @param plan_json the plan, UTF-8, not necessarily NUL-terminated
 * @param len its length in bytes
 * @return UPL_OK, UPL_EINVALID_PLAN (message lists every fault), UPL_EINVALID, UPL_ENOMEM
 */
UPL_API upl_status upl_engine_open_json(upl_engine **out, const char *plan_json, size_t len);

/** Frees an engine and everything it owns. NULL is accepted and ignored. */
UPL_API void upl_engine_free(upl_engine *engine);

/**
 * The plan's scales: amounts cross this ABI as integer units at these scales.
 * @param money_scale receives money_scale (0..6); may be NULL
 * @param points_scale receives points_scale (0..6); may be NULL
 */
UPL_API upl_status upl_engine_scales(int *money_scale, int *points_scale, const upl_engine *engine);

/* ---- the JSON door -------------------------------------------------------------------------- */

/**
 * Applies one event given as a JSON object (SPEC §4 fields plus "type"): the same door as
 * `upline replay`'s lines.
 * @param result_json receives `{"status":"ok"|CODE,"effects":[...]}` (plus "message" for a
 *        rejection) — the SPEC §10 effects line without "seq" — whenever the event was accepted
 *        or rejected; free it with upl_string_free(). Not written on UPL_EINVALID or UPL_ENOMEM.
 * @return the event's code, as for the typed calls: UPL_OK when accepted, else the rejection
 *         (UPL_EINVALID_EVENT for malformed JSON); or UPL_EINVALID / UPL_ENOMEM when no result
 *         could be produced (NULL arguments, out of memory).
 */
UPL_API upl_status upl_engine_apply_json(upl_engine *engine, const char *event_json, size_t len, char **result_json);

/**
 * The state as SPEC §10 JSON (applied, rejected, digest, members sorted by id).
 * @param state_json receives a NUL-terminated string; free with upl_string_free()
 */
UPL_API upl_status upl_engine_dump_json(const upl_engine *engine, char **state_json);

/** Frees a string returned by this library. NULL is accepted and ignored. */
UPL_API void upl_string_free(char *s);

/* ---- typed events --------------------------------------------------------------------------- */
/* Each returns UPL_OK when accepted (effects then readable with upl_engine_effect()), or the
 * rejection code; a rejected event changes nothing. Strings are NUL-terminated UTF-8. `at` is
 * milliseconds since the Unix epoch. */

/** A member joins. @param sponsor the sponsor's id, or 0 for none (allowed only for the first member). */
UPL_API upl_status upl_join(upl_engine *engine, int64_t member, int64_t sponsor, int64_t at);

/** A purchase. @param amount money units at money_scale, > 0. */
UPL_API upl_status upl_purchase(upl_engine *engine, const char *order, int64_t member, const char *shop, int64_t amount,
                                int64_t at);

/** A partial or full refund. @param amount money units, > 0 (0 or less is UPL_EINVALID_AMOUNT). */
UPL_API upl_status upl_refund(upl_engine *engine, const char *order, int64_t amount, int64_t at);

/** A refund of whatever is left of the order (SPEC §7: a refund without an amount). */
UPL_API upl_status upl_refund_rest(upl_engine *engine, const char *order, int64_t at);

/** A redemption. @param points points units, > 0. */
UPL_API upl_status upl_redeem(upl_engine *engine, int64_t member, int64_t points, const char *ref, int64_t at);

/** A manual adjustment. @param points signed points units, non-zero; actor and reason non-empty. */
UPL_API upl_status upl_adjust(upl_engine *engine, int64_t member, int64_t points, const char *actor, const char *reason,
                              int64_t at);

/** Suspends a member (accepted and without effect if already suspended). */
UPL_API upl_status upl_suspend(upl_engine *engine, int64_t member, int64_t at);

/** Reactivates a member (runs promotions and rewards for it if it was suspended). */
UPL_API upl_status upl_reactivate(upl_engine *engine, int64_t member, int64_t at);

/** Replaces the plan (SPEC §7 `plan`). @param plan_json the new plan, `len` bytes. */
UPL_API upl_status upl_change_plan(upl_engine *engine, const char *plan_json, size_t len, const char *actor, int64_t at);

/* ---- effects -------------------------------------------------------------------------------- */

typedef enum upl_effect_type {
  UPL_EFFECT_CREDIT = 0,
  UPL_EFFECT_DEBIT = 1,
  UPL_EFFECT_PLACED = 2,
  UPL_EFFECT_PROMOTED = 3,
  UPL_EFFECT_REWARD = 4
} upl_effect_type;

typedef enum upl_effect_kind {
  UPL_KIND_NONE = 0,
  UPL_KIND_OWN = 1,      /**< credit: the buyer's own points */
  UPL_KIND_UPLINE = 2,   /**< credit: paid to an ancestor; see tier and level */
  UPL_KIND_ADJUST = 3,   /**< credit or debit: a manual adjustment */
  UPL_KIND_REDEEM = 4,   /**< debit: points spent */
  UPL_KIND_CLAWBACK = 5  /**< debit: taken back by a refund */
} upl_effect_kind;

/** One effect (40 bytes in 0.2). Names: upl_tier_name(), upl_reward_name(). */
typedef struct upl_effect {
  uint32_t size;   /**< set by the caller: sizeof(upl_effect) (UPL_EFFECT_INIT) */
  uint8_t type;    /**< upl_effect_type */
  uint8_t kind;    /**< upl_effect_kind (credit and debit) */
  uint8_t tier;    /**< upline credit: the matrix paid through; placed: the matrix; promoted: the new tier */
  uint8_t from;    /**< promoted: the tier left */
  uint32_t level;  /**< upline credit: level (1-based); placed: position under the parent */
  uint32_t reward; /**< reward: index for upl_reward_name() */
  int64_t member;  /**< the member concerned */
  int64_t parent;  /**< placed: the parent's member id, 0 for a matrix root */
  int64_t points;  /**< credit/debit: points units (> 0; a debit's amount removed) */
} upl_effect;
/** An upl_effect ready for upl_engine_effect(): its size set, everything else zero. */
#define UPL_EFFECT_INIT {sizeof(upl_effect), 0, 0, 0, 0, 0, 0, 0, 0, 0}

/** How many effects the last accepted event has (0 after a rejection). */
UPL_API size_t upl_engine_effect_count(const upl_engine *engine);

/**
 * The i-th effect of the last accepted event, in order; valid until the next event.
 * @param out receives the effect; out->size must be set by the caller (UPL_EFFECT_INIT)
 * @return UPL_OK, UPL_ENOTFOUND (i >= upl_engine_effect_count()), UPL_EINVALID (NULL, a size
 *         smaller than 40)
 */
UPL_API upl_status upl_engine_effect(upl_effect *out, const upl_engine *engine, size_t i);

/**
 * The outcome of the last event call: UPL_OK if the event was accepted, its rejection code, or
 * UPL_EINVALID if the call was refused for a NULL argument before it became an event (then the
 * engine did not change and there are no effects to read). Its message is upl_last_error().
 * UPL_ENOMEM if memory ran out before the event's outcome was known: the engine may then hold
 * part of the event (there is no rollback on allocation failure), so free it and rebuild it from
 * the host's own record of events. When upl_engine_apply_json() returned UPL_ENOMEM only because
 * its result line could not be copied out, this is the event's own code.
 */
UPL_API upl_status upl_engine_last_status(const upl_engine *engine);

/** A tier's name by index, or NULL if there is no such tier. Owned by the engine; valid until
 *  its plan changes (an accepted plan event) or it is freed. */
UPL_API const char *upl_tier_name(const upl_engine *engine, uint32_t tier);

/** A reward's id by index (upl_effect.reward, upl_member_reward()), or NULL. Owned by the engine;
 *  valid until its plan changes (an accepted plan event) or it is freed. */
UPL_API const char *upl_reward_name(const upl_engine *engine, uint32_t reward);

/* ---- queries -------------------------------------------------------------------------------- */

typedef enum upl_member_status { UPL_ACTIVE = 0, UPL_SUSPENDED = 1 } upl_member_status;

/** A member's state (64 bytes in 0.2). */
typedef struct upl_member {
  uint32_t size;         /**< set by the caller: sizeof(upl_member) (UPL_MEMBER_INIT) */
  uint32_t tier;         /**< tier index: upl_tier_name() */
  int64_t id;
  int64_t sponsor;       /**< 0 for none */
  int64_t balance;       /**< points units */
  int64_t lifetime;      /**< points units */
  uint64_t orders;       /**< accepted purchases */
  uint32_t status;       /**< upl_member_status */
  uint32_t referrals;    /**< members sponsored directly */
  uint32_t reward_count; /**< for upl_member_reward() */
  uint32_t reserved;     /**< zero */
} upl_member;
/** An upl_member ready for upl_member_get(): its size set, everything else zero. */
#define UPL_MEMBER_INIT {sizeof(upl_member), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

/**
 * @param out receives the member; out->size must be set by the caller (UPL_MEMBER_INIT)
 * @return UPL_OK and fills `out`, UPL_ENOTFOUND for an unknown member, UPL_EINVALID (NULL, a
 *         size smaller than 64)
 */
UPL_API upl_status upl_member_get(upl_member *out, const upl_engine *engine, int64_t member);

/**
 * A member's node in a tier's matrix.
 * @param parent receives the parent's member id, 0 for the matrix root
 * @param position receives the position under the parent
 * @return UPL_ENOTFOUND if the member is unknown or has no node in that tier
 */
UPL_API upl_status upl_member_node(int64_t *parent, uint32_t *position, const upl_engine *engine, int64_t member,
                                   uint32_t tier);

/** The i-th reward granted to a member (grant order): receives an index for upl_reward_name(). */
UPL_API upl_status upl_member_reward(uint32_t *reward, const upl_engine *engine, int64_t member, uint32_t i);

/**
 * A benefit of the member's current tier (the plan's `benefits` object), by key.
 * @param value receives the value, owned by the engine (valid until the plan changes), or NULL if
 *        the tier has no such benefit (still UPL_OK)
 */
UPL_API upl_status upl_member_benefit(const char **value, const upl_engine *engine, int64_t member, const char *key);

/**
 * A member's rank card as JSON: its tier, status and benefits, and for the next tier each
 * promote_at criterion with what the member has and needs, whether all are met, and the next
 * tier's benefits (docs/LAB.md, "Rank cards"). UPL_ENOTFOUND for an unknown member.
 * @param card_json receives a NUL-terminated string; free with upl_string_free()
 */
UPL_API upl_status upl_member_rank_card_json(const upl_engine *engine, int64_t member, char **card_json);

/**
 * A member's ancestors in a tier's matrix, nearest first.
 * @param out receives up to `cap` member ids (may be NULL when cap is 0)
 * @param count receives how many ancestors there are in all (may exceed cap)
 */
UPL_API upl_status upl_upline(int64_t *out, size_t cap, size_t *count, const upl_engine *engine, int64_t member,
                              uint32_t tier);

/** An accepted order (40 bytes in 0.2). */
typedef struct upl_order {
  uint32_t size;     /**< set by the caller: sizeof(upl_order) (UPL_ORDER_INIT) */
  uint32_t reserved; /**< zero */
  int64_t member;    /**< the buyer */
  int64_t amount;    /**< money units */
  int64_t refunded;  /**< money units refunded so far; amount - refunded is still refundable */
  int64_t at;        /**< the purchase's applied time (ms) */
} upl_order;
/** An upl_order ready for upl_order_get(): its size set, everything else zero. */
#define UPL_ORDER_INIT {sizeof(upl_order), 0, 0, 0, 0, 0}

/**
 * @param out receives the order; out->size must be set by the caller (UPL_ORDER_INIT)
 * @return UPL_OK and fills `out`, UPL_ENOTFOUND if no such order was accepted, UPL_EINVALID (NULL,
 *         a size smaller than 40)
 */
UPL_API upl_status upl_order_get(upl_order *out, const upl_engine *engine, const char *order);

/**
 * The index-th benefit of a tier (keys in byte order), for listing what a tier gives.
 * @param key, value receive strings owned by the engine (valid until the plan changes)
 * @return UPL_ENOTFOUND past the last benefit or for an unknown tier
 */
UPL_API upl_status upl_tier_benefit(const char **key, const char **value, const upl_engine *engine, uint32_t tier, size_t index);

/** How many members sit below a member in a tier's matrix. */
UPL_API upl_status upl_below(uint64_t *count, const upl_engine *engine, int64_t member, uint32_t tier);

/**
 * Members per tier.
 * @param out receives up to `cap` counts, indexed by tier
 * @param tiers receives the number of tiers
 */
UPL_API upl_status upl_census(uint64_t *out, size_t cap, size_t *tiers, const upl_engine *engine);

/** The state digest: 64 lowercase hex digits and a NUL into `out`. */
UPL_API upl_status upl_digest(char out[65], const upl_engine *engine);

/** Counters: events applied and rejected, members, and the engine clock (ms). Any may be NULL. */
UPL_API upl_status upl_engine_counters(uint64_t *applied, uint64_t *rejected, uint64_t *members, int64_t *clock,
                                       const upl_engine *engine);

/* ---- stores --------------------------------------------------------------------------------- */
/*
 * A store is an engine whose events are journaled in a data directory (docs/DURABILITY.md):
 *
 *   DIR/journal                 every submitted event, accepted or rejected, numbered from 1
 *   DIR/snapshot-<seq>.snap     the whole state after event <seq>
 *   DIR/LOCK                    held while a store is open: one upl_store per directory
 *
 * Opening recovers the state: the newest good snapshot plus the journal after it (a torn tail left
 * by a crash is truncated). Events go in through the upl_store_* event calls, which take the same
 * arguments, give the same codes and make the same effects as the engine's; each submitted event —
 * accepted or rejected — gets the next sequence number. Read the state through upl_store_engine(),
 * which every const query (upl_member_get(), upl_digest(), upl_engine_effect(), …) accepts.
 *
 * Acknowledgement: an event may be acknowledged once it is durable, that is once
 * upl_store_durable_seq() has reached its sequence number:
 *   UPL_SYNC_EVERY  each event call writes and fsyncs its record before it returns (the default)
 *   UPL_SYNC_GROUP  records are buffered; upl_store_commit() writes them all and fsyncs once. An
 *                   event is durable only after upl_store_commit() returns UPL_OK.
 *   UPL_SYNC_NONE   upl_store_commit() writes without fsync (tests, simulations)
 * A failed write or fsync (UPL_EIO) stops the store: every later call fails with UPL_EIO and the
 * state it shows may hold events that are not durable. Close it and open the directory again: it
 * recovers exactly what was durable.
 *
 * Threading: an upl_store is not thread-safe (nor is the engine it shows); use it from one thread
 * at a time. Errors: a store call that fails returns UPL_EIO, UPL_ECORRUPT, UPL_EBUSY, UPL_EINVALID
 * (a NULL or malformed argument, a usage error such as a plan that differs from the directory's),
 * UPL_ENOMEM; upl_last_error() names the file, offset or argument. A call refused for a NULL or
 * malformed argument changes nothing and journals nothing.
 */

/** When records reach the disk: upl_store_options.durability. */
typedef enum upl_sync {
  UPL_SYNC_EVERY = 0, /**< each event's record is written and fsynced before the call returns */
  UPL_SYNC_GROUP = 1, /**< records are buffered until upl_store_commit(), which fsyncs once */
  UPL_SYNC_NONE = 2   /**< upl_store_commit() writes without fsync */
} upl_sync;

/** How a store runs (24 bytes in 0.2, 40 since 0.3: a record of 24 bytes gets the defaults of the
 * fields after it). Read by the library, never written. */
typedef struct upl_store_options {
  uint32_t size;           /**< set by the caller: sizeof(upl_store_options) (UPL_STORE_OPTIONS_INIT) */
  uint32_t durability;     /**< upl_sync; UPL_SYNC_EVERY by default */
  uint64_t snapshot_every; /**< write a snapshot after this many events since the last (0: not by count) */
  uint64_t keep_snapshots; /**< how many snapshots to keep, >= 1 (2 by default) */
  uint64_t snapshot_bytes; /**< write a snapshot in the background (a forked child) each time the journal
                                has grown this many bytes (134217728 by default; 0: not by size) */
  uint64_t segment_bytes;  /**< seal a journal segment past this many bytes, >= 4096 (67108864 by default) */
} upl_store_options;
/** The default upl_store_options: every event fsynced, a background snapshot every 128 MiB of
 * journal, 2 snapshots kept, 64 MiB journal segments. */
#define UPL_STORE_OPTIONS_INIT {sizeof(upl_store_options), UPL_SYNC_EVERY, 0, 2, 134217728u, 67108864u}

/**
 * Opens the data directory `dir`: creates it with the plan when it holds no journal yet, else opens
 * it and recovers its state.
 * @param out receives the store on success (left untouched on failure); close with upl_store_close()
 * @param dir the directory, a NUL-terminated path (created if missing, when a plan is given)
 * @param plan_json the plan (SPEC §3), `plan_len` bytes; NULL or plan_len 0 to open an existing
 *        directory only. Given for a directory that exists, it must be the plan it was created
 *        with (plan events since do not matter; compared as canonical JSON): a different plan is UPL_EINVALID and nothing is changed.
 * @param options NULL for the defaults (UPL_STORE_OPTIONS_INIT)
 * @return UPL_OK; UPL_EINVALID_PLAN (the plan breaks a rule: the message lists every fault);
 *         UPL_EINVALID (NULL out or dir, bad options, no plan for a directory without a journal,
 *         a plan that differs from the directory's); UPL_EBUSY (another upl_store has it open);
 *         UPL_ECORRUPT; UPL_EIO; UPL_ENOMEM
 */
UPL_API upl_status upl_store_open(upl_store **out, const char *dir, const char *plan_json, size_t plan_len,
                                  const upl_store_options *options);

/**
 * Commits (upl_store_commit()), then frees the store and releases its directory. NULL is accepted
 * (UPL_OK). The store is freed whatever the commit gives.
 * @return the commit's status: UPL_OK when every event submitted is durable
 */
UPL_API upl_status upl_store_close(upl_store *store);

/**
 * Submits one event given as a JSON object, as upl_engine_apply_json() applies it. A rejected
 * event (malformed JSON included) is journaled and numbered too: it will be rejected the same way
 * on recovery.
 * @param seq receives the event's sequence number whenever it was journaled (may be NULL)
 * @param result_json receives `{"seq":N,"status":"ok"|CODE,"effects":[...]}` (plus "message" for
 *        a rejection) whenever the event was journaled; free it with upl_string_free(). May be NULL.
 * @return the event's code (UPL_OK or the rejection), as for the engine; or UPL_EINVALID,
 *         UPL_EIO, UPL_ENOMEM when the event was not journaled (UPL_EINVALID: NULL arguments, an
 *         event too large for a journal record; nothing changed)
 */
UPL_API upl_status upl_store_submit_json(upl_store *store, const char *event_json, size_t len, uint64_t *seq,
                                         char **result_json);

/* The typed event calls of a store: the engine's (upl_join(), …) with the store first and `seq`,
 * which receives the event's sequence number whenever it was journaled (may be NULL). Each returns
 * UPL_OK or the rejection code as the engine's call does — effects then readable through
 * upl_store_engine() — or UPL_EINVALID (a NULL argument: nothing journaled), UPL_EIO, UPL_ENOMEM. */

/** upl_join() on a store. */
UPL_API upl_status upl_store_join(upl_store *store, uint64_t *seq, int64_t member, int64_t sponsor, int64_t at);

/** upl_purchase() on a store. */
UPL_API upl_status upl_store_purchase(upl_store *store, uint64_t *seq, const char *order, int64_t member, const char *shop,
                                      int64_t amount, int64_t at);

/** upl_refund() on a store. */
UPL_API upl_status upl_store_refund(upl_store *store, uint64_t *seq, const char *order, int64_t amount, int64_t at);

/** upl_refund_rest() on a store. */
UPL_API upl_status upl_store_refund_rest(upl_store *store, uint64_t *seq, const char *order, int64_t at);

/** upl_redeem() on a store. */
UPL_API upl_status upl_store_redeem(upl_store *store, uint64_t *seq, int64_t member, int64_t points, const char *ref,
                                    int64_t at);

/** upl_adjust() on a store. */
UPL_API upl_status upl_store_adjust(upl_store *store, uint64_t *seq, int64_t member, int64_t points, const char *actor,
                                    const char *reason, int64_t at);

/** upl_suspend() on a store. */
UPL_API upl_status upl_store_suspend(upl_store *store, uint64_t *seq, int64_t member, int64_t at);

/** upl_reactivate() on a store. */
UPL_API upl_status upl_store_reactivate(upl_store *store, uint64_t *seq, int64_t member, int64_t at);

/** upl_change_plan() on a store. */
UPL_API upl_status upl_store_change_plan(upl_store *store, uint64_t *seq, const char *plan_json, size_t len,
                                         const char *actor, int64_t at);

/**
 * Makes every submitted event durable (see the modes above): afterwards upl_store_durable_seq()
 * equals upl_store_last_seq().
 * @return UPL_OK, UPL_EIO (the store stopped), UPL_EINVALID (NULL)
 */
UPL_API upl_status upl_store_commit(upl_store *store);

/**
 * Commits, then writes a snapshot of the current state and removes the oldest beyond
 * keep_snapshots. A failed snapshot (UPL_EIO) does not stop the store: the journal has every event.
 */
UPL_API upl_status upl_store_snapshot(upl_store *store);

/** The sequence number of the last event submitted (0 for none, or for NULL). */
UPL_API uint64_t upl_store_last_seq(const upl_store *store);

/** The last sequence number that is durable: events up to it may be acknowledged (0 for NULL). */
UPL_API uint64_t upl_store_durable_seq(const upl_store *store);

/**
 * The store's engine, for reading: every call taking a `const upl_engine *` accepts it (queries,
 * upl_digest(), upl_engine_dump_json(), and upl_engine_effect_count()/upl_engine_effect()/
 * upl_engine_last_status(), which describe the store's last event call). The event calls that
 * take an `upl_engine *` refuse it with UPL_EINVALID: submit through the store.
 * @return owned by the store, valid until upl_store_close() (upl_engine_free() ignores it); NULL
 *         for a NULL store
 */
UPL_API const upl_engine *upl_store_engine(const upl_store *store);

/**
 * A member's statement as JSON (docs/SPEC.md §13): every credit and debit over the applied times
 * [from, until) with its cause (order, buyer, tier, level, rate; refund; redemption; adjustment's
 * actor and reason), the opening and closing balance. Computed from DIR's history — the state
 * just before `from` rebuilt from the newest snapshot before it, then the journal — and read
 * only: DIR may be open in a upl_store or a server meanwhile (the statement then ends at the
 * journal's last record when the call starts).
 * @param from, until NULL (unbounded) or a time, UTC: milliseconds since the epoch, "@MS",
 *        "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS[.mmm]Z"
 * @param statement_json receives a NUL-terminated string; free with upl_string_free()
 * @return UPL_OK; UPL_EINVALID (a NULL dir or statement_json, a malformed time, until before
 *         from, no data directory at DIR), UPL_ENOTFOUND (the member had not joined by the
 *         period's end), UPL_EIO, UPL_ECORRUPT, UPL_ENOMEM
 */
UPL_API upl_status upl_statement_json(const char *dir, int64_t member, const char *from, const char *until, char **statement_json);

/* ---- exact amounts ------------------------------------------------------------------------ */

/**
 * Parses a decimal string exactly as SPEC §2 says ("-?[0-9]+(.[0-9]+)?", never rounded) into
 * units at `scale` (0..6): "12.50" at 2 is 1250; "1.235" at 2 is refused.
 * @return UPL_OK, UPL_EINVALID_AMOUNT (not a decimal, too many decimals, outside int64 — the
 *         message says which), UPL_EINVALID (NULL, scale out of range)
 */
UPL_API upl_status upl_parse_amount(int64_t *units, const char *text, int scale);

/**
 * Prints units at `scale` as SPEC §2 does ("12.50"; no point at scale 0; zero never signed).
 * @param buf receives a NUL-terminated string; 32 bytes always suffice
 * @return UPL_OK, or UPL_EINVALID (NULL, scale out of range, `cap` too small)
 */
UPL_API upl_status upl_format_amount(char *buf, size_t cap, int64_t units, int scale);

#ifdef __cplusplus
}
#endif

#endif /* UPLINE_H */
