<?php
/*
 * Upline.php — a small PHP wrapper over upline's C ABI (libupline.so), through PHP's FFI.
 *
 *   require 'Upline.php';
 *   $engine = Upline::fromPlanFile('four-tier.json', '/usr/lib/libupline.so');
 *   $effects = $engine->purchase('W-1', 1001, 'main', '49.90', $at);   // list of effect arrays
 *   $alice = $engine->member(1001);                                    // ['balance' => '49.90', ...]
 *
 * - The C declarations are read at runtime from include/upline/upline.h: the header stays the
 *   single source of truth. FFI::cdef() understands no preprocessor, so the `#ifdef __cplusplus`
 *   blocks (the `extern "C"` guard), every other directive and the UPL_API macro are removed first.
 * - Money and points cross the ABI as int64 units at the plan's scales (12.50 at scale 2 is 1250).
 *   This class takes and returns decimal strings ("12.50") and converts them exactly with string
 *   arithmetic: never a float. A value with non-zero digits beyond the scale is refused, never
 *   rounded (SPEC §2).
 * - Any status other than UPL_OK throws UplineRejected, carrying the SPEC code name
 *   ("duplicate_order", "insufficient_points", …) and the engine's message. A rejected event
 *   changed nothing, so catching it and carrying on is always safe.
 * - Effects are returned as arrays shaped like SPEC §9 (tier and reward names, decimal points).
 * - Needs a 64-bit PHP (int is int64) and FFI enabled (php -d ffi.enable=1, or ffi.enable=preload
 *   with opcache.preload in a web server). An engine is not thread-safe: one per request/worker.
 */

declare(strict_types=1);

/** The engine said no (or a query named something that does not exist). State unchanged. */
final class UplineRejected extends RuntimeException
{
    /**
     * @param string $codeName SPEC code name from upl_status_str(): "duplicate_order", "invalid", …
     * @param int    $status   the numeric upl_status (also getCode())
     */
    public function __construct(public readonly string $codeName, string $message, public readonly int $status)
    {
        parent::__construct($codeName . ': ' . $message, $status);
    }

    /** The engine's own message (upl_last_error()), without the code prefix. */
    public function detail(): string
    {
        return substr($this->getMessage(), strlen($this->codeName) + 2);
    }
}

final class Upline
{
    private const EFFECT_TYPES = ['credit', 'debit', 'placed', 'promoted', 'reward'];
    private const KINDS = ['none', 'own', 'upline', 'adjust', 'redeem', 'clawback'];
    private const INT64_MAX = '9223372036854775807';
    private const INVALID_AMOUNT = 16; // UPL_EINVALID_AMOUNT, for rejections made here (values are pinned)
    private const INVALID = 100;       // UPL_EINVALID

    /** @var array<string, FFI> one parsed FFI per library and header */
    private static array $ffis = [];

    private FFI $ffi;
    private ?FFI\CData $engine = null;
    public readonly int $moneyScale;
    public readonly int $pointsScale;

    /**
     * Opens an engine from plan JSON (SPEC §3).
     * @param string      $planJson the plan
     * @param string      $library  path to libupline.so
     * @param string|null $header   path to upline.h; default: the repository's include/upline/upline.h
     * @throws UplineRejected invalid_plan (the message lists every fault)
     */
    public function __construct(string $planJson, string $library, ?string $header = null)
    {
        $this->ffi = self::ffi($library, $header ?? __DIR__ . '/../../include/upline/upline.h');
        $out = $this->ffi->new('upl_engine*');
        $this->check($this->ffi->upl_engine_open_json(FFI::addr($out), $planJson, strlen($planJson)));
        $this->engine = $out;
        $money = $this->ffi->new('int');
        $points = $this->ffi->new('int');
        $this->check($this->ffi->upl_engine_scales(FFI::addr($money), FFI::addr($points), $this->engine));
        $this->moneyScale = $money->cdata;
        $this->pointsScale = $points->cdata;
    }

    public static function fromPlanFile(string $planPath, string $library, ?string $header = null): self
    {
        $json = @file_get_contents($planPath);
        if ($json === false) {
            throw new RuntimeException("cannot read plan $planPath");
        }
        return new self($json, $library, $header);
    }

    public function __destruct()
    {
        if ($this->engine !== null) {
            $this->ffi->upl_engine_free($this->engine);
            $this->engine = null;
        }
    }

    /** One wrapper owns one engine: a copy would free it twice. */
    private function __clone()
    {
    }

    /**
     * The C declarations of upline.h, made digestible for FFI::cdef(): every preprocessor line
     * goes, and so does every group that only a C++ compiler sees (`#ifdef __cplusplus` … `#else`
     * or `#endif`, nesting respected: the extern "C" guard), and the UPL_API export macro.
     */
    public static function declarations(string $header): string
    {
        $h = @file_get_contents($header);
        if ($h === false) {
            throw new RuntimeException("cannot read $header");
        }
        $h = preg_replace('/\\\\\r?\n/', ' ', $h); // join backslash-continued lines
        $kept = [];
        $skip = []; // one entry per open #if: does only a C++ compiler see its current branch?
        foreach (preg_split('/\r?\n/', $h) as $line) {
            if (!preg_match('/^\s*#\s*(\w*)(.*)$/', $line, $d)) {
                if (!in_array(true, $skip, true)) {
                    $kept[] = $line;
                }
                continue;
            }
            [, $directive, $condition] = $d;
            $cxx = (bool) preg_match('/^\s*(?:defined\s*\(?\s*)?__cplusplus\b/', $condition);
            match ($directive) {
                'if', 'ifdef' => $skip[] = $cxx,
                'ifndef' => $skip[] = $cxx ? null : false, // null: the C branch of an #ifndef __cplusplus
                'else' => $skip[] = match (array_pop($skip)) { true => false, null => true, default => false },
                'elif' => $skip[] = array_pop($skip) === true ? false : $cxx,
                'endif' => array_pop($skip),
                default => null, // #define, #include, #pragma, …: dropped
            };
        }
        $h = preg_replace('/\bUPL_API\b/', '', implode("\n", $kept));
        $code = preg_replace('~/\*.*?\*/|//[^\n]*~s', '', $h);
        if (preg_match('/extern\s*"C"|^\s*#/m', $code)) {
            throw new RuntimeException("$header: a C++ guard or directive left after preprocessing");
        }
        return $h;
    }

    private static function ffi(string $library, string $header): FFI
    {
        return self::$ffis["$library\0$header"] ??= FFI::cdef(self::declarations($header), $library);
    }

    // ---- events: each returns the effects of the accepted event, or throws UplineRejected ----------

    /** A member joins; $sponsor null only for the very first member. */
    public function join(int $member, ?int $sponsor, int $at): array
    {
        return $this->event($this->ffi->upl_join($this->engine, $member, $sponsor ?? 0, $at));
    }

    /** A purchase of $amount (money, e.g. "49.90") in shop $shop. */
    public function purchase(string $order, int $member, string $shop, string $amount, int $at): array
    {
        return $this->event($this->ffi->upl_purchase(
            $this->engine, self::cstr($order), $member, self::cstr($shop), $this->money($amount), $at));
    }

    /** A refund of $amount (money), or of the rest of the order when $amount is null. */
    public function refund(string $order, ?string $amount, int $at): array
    {
        if ($amount === null) {
            return $this->event($this->ffi->upl_refund_rest($this->engine, self::cstr($order), $at));
        }
        return $this->event($this->ffi->upl_refund($this->engine, self::cstr($order), $this->money($amount), $at));
    }

    /** Spends $points (e.g. "20.00") of the member's balance; $ref is unique, like an order id. */
    public function redeem(int $member, string $points, string $ref, int $at): array
    {
        return $this->event($this->ffi->upl_redeem($this->engine, $member, $this->points($points), self::cstr($ref), $at));
    }

    /** A manual adjustment of signed $points ("-5.00"), for the audit trail. */
    public function adjust(int $member, string $points, string $actor, string $reason, int $at): array
    {
        return $this->event($this->ffi->upl_adjust(
            $this->engine, $member, $this->points($points), self::cstr($actor), self::cstr($reason), $at));
    }

    public function suspend(int $member, int $at): array
    {
        return $this->event($this->ffi->upl_suspend($this->engine, $member, $at));
    }

    public function reactivate(int $member, int $at): array
    {
        return $this->event($this->ffi->upl_reactivate($this->engine, $member, $at));
    }

    // ---- queries ---------------------------------------------------------------------------------

    /**
     * A member's state: id, sponsor (null for none), balance and lifetime (points, decimal strings),
     * orders, tier (name), status ("active"|"suspended"), referrals, rewards (names, grant order).
     * @throws UplineRejected notfound for an unknown member
     */
    public function member(int $id): array
    {
        $m = $this->ffi->new('upl_member');
        $m->size = FFI::sizeof($m); // the record as this program knows it (records only grow)
        $this->check($this->ffi->upl_member_get(FFI::addr($m), $this->engine, $id));
        $rewards = [];
        $index = $this->ffi->new('uint32_t');
        for ($i = 0; $i < $m->reward_count; ++$i) {
            $this->check($this->ffi->upl_member_reward(FFI::addr($index), $this->engine, $id, $i));
            $rewards[] = $this->rewardName($index->cdata);
        }
        return [
            'id' => $m->id,
            'sponsor' => $m->sponsor === 0 ? null : $m->sponsor,
            'balance' => self::fromUnits($m->balance, $this->pointsScale),
            'lifetime' => self::fromUnits($m->lifetime, $this->pointsScale),
            'orders' => $m->orders,
            'tier' => $this->tierName($m->tier),
            'status' => $m->status === $this->ffi->UPL_SUSPENDED ? 'suspended' : 'active',
            'referrals' => $m->referrals,
            'rewards' => $rewards,
        ];
    }

    /** A benefit of the member's current tier (the plan's `benefits`), or null if that tier has none by that key. */
    public function benefit(int $member, string $key): ?string
    {
        $value = $this->ffi->new('const char*');
        $this->check($this->ffi->upl_member_benefit(FFI::addr($value), $this->engine, $member, self::cstr($key)));
        return FFI::isNull($value) ? null : FFI::string($value);
    }

    /** The state as SPEC §10 (applied, rejected, digest, members), decoded. */
    public function state(): array
    {
        $out = $this->ffi->new('char*');
        $this->check($this->ffi->upl_engine_dump_json($this->engine, FFI::addr($out)));
        try {
            $json = FFI::string($out);
        } finally {
            $this->ffi->upl_string_free($out);
        }
        return json_decode($json, true, 512, JSON_THROW_ON_ERROR | JSON_BIGINT_AS_STRING);
    }

    public function tierName(int $tier): string
    {
        return $this->ffi->upl_tier_name($this->engine, $tier) ?? "tier#$tier";
    }

    public function rewardName(int $reward): string
    {
        return $this->ffi->upl_reward_name($this->engine, $reward) ?? "reward#$reward";
    }

    // ---- decimals --------------------------------------------------------------------------------

    /** "12.50" → 1250 at money_scale 2. */
    public function money(string $decimal): int
    {
        return self::toUnits($decimal, $this->moneyScale);
    }

    /** "12.50" → 1250 at points_scale 2. */
    public function points(string $decimal): int
    {
        return self::toUnits($decimal, $this->pointsScale);
    }

    public function formatMoney(int $units): string
    {
        return self::fromUnits($units, $this->moneyScale);
    }

    public function formatPoints(int $units): string
    {
        return self::fromUnits($units, $this->pointsScale);
    }

    /**
     * A decimal string (SPEC §2: -?[0-9]+(\.[0-9]+)?) as exact int64 units at $scale.
     * @throws UplineRejected invalid_amount for a malformed value, non-zero digits beyond the
     *         scale ("1.235" at scale 2) or a value outside int64; the engine is not called
     */
    public static function toUnits(string $decimal, int $scale): int
    {
        if (!preg_match('/^(-?)([0-9]+)(?:\.([0-9]+))?$/D', $decimal, $m)) {
            throw new UplineRejected('invalid_amount', "\"$decimal\" is not a decimal like \"12.50\"", self::INVALID_AMOUNT);
        }
        [, $sign, $int, $frac] = $m + [3 => ''];
        if (rtrim(substr($frac, $scale), '0') !== '') {
            throw new UplineRejected('invalid_amount', "\"$decimal\" has more than $scale decimals", self::INVALID_AMOUNT);
        }
        $digits = ltrim($int . str_pad(substr($frac, 0, $scale), $scale, '0'), '0');
        if ($digits === '') {
            return 0;
        }
        // Compare as digit strings: a cast of a too-large numeric string would give a float.
        $cmp = strlen($digits) <=> strlen(self::INT64_MAX) ?: strcmp($digits, self::INT64_MAX) <=> 0;
        if ($sign === '-' && $digits === '9223372036854775808') {
            return PHP_INT_MIN;
        }
        if ($cmp > 0) {
            throw new UplineRejected('invalid_amount', "\"$decimal\" is out of range at scale $scale", self::INVALID_AMOUNT);
        }
        $units = (int) $digits;
        return $sign === '-' ? -$units : $units;
    }

    /** Int64 units at $scale as a decimal string: 1250 at 2 → "12.50", -5 → "-0.05", 7 at 0 → "7". */
    public static function fromUnits(int $units, int $scale): string
    {
        $digits = ltrim((string) $units, '-'); // string work: abs(PHP_INT_MIN) would be a float
        $sign = $units < 0 ? '-' : '';
        if ($scale === 0) {
            return $sign . $digits;
        }
        $digits = str_pad($digits, $scale + 1, '0', STR_PAD_LEFT);
        return $sign . substr($digits, 0, -$scale) . '.' . substr($digits, -$scale);
    }

    // ---- internals -------------------------------------------------------------------------------

    /** Throws UplineRejected unless $status is UPL_OK. */
    private function check(int $status): void
    {
        if ($status !== 0) {
            $message = $this->ffi->upl_last_error(); // first: it is valid until the next upline call
            throw new UplineRejected($this->ffi->upl_status_str($status), $message, $status);
        }
    }

    /** Checks an event's status, then copies its effects out (they live until the next event). */
    private function event(int $status): array
    {
        $this->check($status);
        $effects = [];
        $count = $this->ffi->upl_engine_effect_count($this->engine);
        $record = $this->ffi->new('upl_effect');
        for ($i = 0; $i < $count; ++$i) {
            $record->size = FFI::sizeof($record);
            $this->check($this->ffi->upl_engine_effect(FFI::addr($record), $this->engine, $i));
            $effects[] = $this->effect($record);
        }
        return $effects;
    }

    /** One upl_effect record as a SPEC §9 array. */
    private function effect(FFI\CData $r): array
    {
        $type = self::EFFECT_TYPES[$r->type] ?? "type#{$r->type}";
        return match ($type) {
            'credit', 'debit' => ['type' => $type, 'member' => $r->member,
                'points' => self::fromUnits($r->points, $this->pointsScale), 'kind' => self::KINDS[$r->kind] ?? "kind#{$r->kind}"]
                + ($r->kind === $this->ffi->UPL_KIND_UPLINE ? ['tier' => $this->tierName($r->tier), 'level' => $r->level] : []),
            'placed' => ['type' => $type, 'member' => $r->member, 'tier' => $this->tierName($r->tier),
                'parent' => $r->parent === 0 ? null : $r->parent, 'position' => $r->level],
            'promoted' => ['type' => $type, 'member' => $r->member, 'from' => $this->tierName($r->from), 'to' => $this->tierName($r->tier)],
            'reward' => ['type' => $type, 'member' => $r->member, 'reward' => $this->rewardName($r->reward)],
            default => ['type' => $type, 'member' => $r->member],
        };
    }

    /** A string for a `const char *` parameter: C stops at a NUL byte, so one inside is refused. */
    private static function cstr(string $s): string
    {
        if (str_contains($s, "\0")) {
            throw new UplineRejected('invalid', 'a string argument contains a NUL byte', self::INVALID);
        }
        return $s;
    }
}
