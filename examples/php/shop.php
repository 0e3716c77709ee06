<?php
/*
 * shop.php — a shop backend driving upline from PHP (see README.md).
 *
 *   php -d ffi.enable=1 examples/php/shop.php build/debug/libupline.so examples/plans/four-tier.json
 *
 * Members sign up through referral links, check out in the "main" shop (1 point per 1.00) and the
 * "outlet" (0.5 point per 1.00, nothing below a 20.00 basket), climb to silver, get refunds and pay
 * with points. Every amount is a decimal string; every timestamp is fixed, so the output is the
 * same on every run (expected_output.txt, compared byte for byte by ctest examples/php-shop).
 *
 * The numbers, by hand (SPEC §6–§8; bronze pays 5% / 3% / 2% up its matrix, width 3):
 *   - Bronze fills breadth-first, whoever referred: Alice is the root, Bob, Carol and Dan her
 *     children 0..2 (Dan although Bob referred him), Erin the first child of Bob.
 *   - O-1003, 19.90 in the outlet: below min_basket 20.00, earns nothing (but counts as an order).
 *   - O-1004, 300.00 in the outlet: P = 300.00 × 0.5 = 150.00; Alice 150.00 × 5% = 7.50, which
 *     brings her lifetime to 480.00 + 12.50 + 7.50 = 500.00: reward gift-500 (>= 500).
 *   - W-1005, Dan 89.70: Alice 89.70 × 5% = 4.485, rounded half to even → 4.48.
 *   - W-1006, Erin 120.00: Bob (level 1) 6.00, Alice (level 2) 120.00 × 3% = 3.60.
 *   - Alice: 504.48 + 3.60 = 508.08; W-1007 (450.00) → 958.08; W-1008 (Dan 850.00) pays her
 *     42.50 → 1000.58 >= 1000, with 2 direct referrals at bronze: promoted to silver, the root of
 *     the silver matrix. Dan: 89.70 + 850.00 = 939.70 >= 500: gift-500.
 *   - W-1009, Alice's 200.00 basket less her silver 5% discount (10.00) = 190.00, at silver
 *     accrual 1.1 → 209.00. W-1010, Bob 100.00: Alice, now silver, gets 100.00 × 5% × 1.2 = 6.00.
 *   - Refund 45.50 of W-1006 (R/A = 45.50/120): Erin 45.50, Bob 6.00 × R/A = 2.275 → 2.28 (up),
 *     Alice 3.60 × R/A = 1.365 → 1.36 (down): half to even; the rest: 74.50, 3.72, 2.24.
 *   - W-1011, Bob 80.00 paying 20.00 with points: redeem 20.00, purchase 60.00 → Bob +60.00,
 *     Alice 60.00 × 5% × 1.2 = 3.60. Bob: 250.00 + 6.00 + 100.00 − 6.00 − 20.00 + 60.00 = 390.00.
 *   - At the end: Alice 1000.58 + 209.00 + 6.00 − 1.36 − 2.24 + 3.60 = 1215.58; 19 events
 *     applied (5 joins, 11 purchases counting O-1003, 2 refunds, 1 redemption), 3 rejected
 *     (the unknown sponsor, the duplicate order, the short balance).
 */

declare(strict_types=1);

require __DIR__ . '/Upline.php';

const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z, in ms: the shop's clock is fixed here

/** A fixed point in time: day $day of the demo, $minute minutes past midnight UTC. */
function at(int $day, int $minute = 0): int
{
    return T0 + $day * 86_400_000 + $minute * 60_000;
}

/** The backend: what the shop's controllers would call. Prints what happens. */
final class Shop
{
    /** @param array<int, string> $names customer names by member id */
    public function __construct(private readonly Upline $upline, private readonly array $names)
    {
    }

    /** A sign-up; the sponsor comes from the link's ?ref= (none for the founder). */
    public function signup(int $member, string $link, int $at): void
    {
        parse_str((string) parse_url($link, PHP_URL_QUERY), $query);
        $ref = $query['ref'] ?? null;
        $sponsor = is_string($ref) && ctype_digit($ref) ? (int) $ref : null;
        echo $this->who($member), " signs up at $link\n";
        try {
            $this->show($this->upline->join($member, $sponsor, $at));
        } catch (UplineRejected $e) {
            echo "    sign-up refused ({$e->codeName}: {$e->detail()}); the form asks for a valid link\n";
        }
    }

    /**
     * A checkout: the basket, less the member's tier discount (a plan benefit), less the points
     * the customer spends (the shop's policy: 1 point takes 1.00 off); the rest is paid in cash
     * and earns points.
     */
    public function checkout(string $order, int $member, string $shop, string $basket, int $at, ?string $points = null): void
    {
        $u = $this->upline;
        $rate = $u->benefit($member, 'discount') ?? '0';
        $discount = self::percentOf($u->money($basket), Upline::toUnits($rate, 6));
        $pointsOff = $points === null ? 0 : $u->money($points);
        $cash = $u->formatMoney($u->money($basket) - $discount - $pointsOff);
        $terms = [];
        if ($discount > 0) {
            $terms[] = "{$this->tier($member)} discount -" . $u->formatMoney($discount);
        }
        if ($points !== null) {
            $terms[] = "$points in points";
        }
        echo "$order: ", $this->who($member), " checks out $basket in $shop",
            $terms === [] ? '' : ': ' . implode(', ', $terms) . ", $cash to pay", "\n";
        try {
            if ($points !== null) {
                // Points first: if the balance is short the customer chooses again, nothing is booked.
                $this->show($u->redeem($member, $points, "R-$order", $at));
            }
            try {
                $effects = $u->purchase($order, $member, $shop, $cash, $at);
            } catch (UplineRejected $e) {
                if ($points !== null) {
                    // Give the points back (an adjustment also raises lifetime: SPEC has no un-redeem).
                    $u->adjust($member, $points, 'checkout', "order $order rejected: {$e->codeName}", $at);
                }
                throw $e;
            }
            $this->show($effects);
            if ($effects === []) {
                echo "    earns nothing: the basket is below the shop's minimum\n";
            }
        } catch (UplineRejected $e) {
            echo "    rejected, nothing booked ({$e->codeName}: {$e->detail()})\n";
        }
    }

    /** A refund of $amount, or of the rest of the order when null. */
    public function refund(string $order, ?string $amount, int $at): void
    {
        echo "$order: refund ", $amount ?? 'of the rest', "\n";
        try {
            $this->show($this->upline->refund($order, $amount, $at));
        } catch (UplineRejected $e) {
            echo "    refund refused ({$e->codeName}: {$e->detail()})\n";
        }
    }

    /** The "my account" page. */
    public function account(int $member): void
    {
        $m = $this->upline->member($member);
        $benefit = fn (string $key) => $this->upline->benefit($member, $key) ?? '-';
        echo $this->who($member), ": balance {$m['balance']} points (lifetime {$m['lifetime']}), ",
            self::count($m['orders'], 'order'), ', ', self::count($m['referrals'], 'referral'), "\n";
        echo "    tier {$m['tier']}: discount ", self::percent($benefit('discount')), ", delivery ", $benefit('delivery'),
            $m['rewards'] === [] ? '' : ', rewards ' . implode(', ', $m['rewards']), "\n";
    }

    /** A line of commentary for the reader. */
    public function note(string $text): void
    {
        echo "  note: $text\n";
    }

    public function who(int $id): string
    {
        return ($this->names[$id] ?? 'member') . " ($id)";
    }

    private function tier(int $member): string
    {
        return $this->upline->member($member)['tier'];
    }

    /** Prints effects as the host books them. */
    private function show(array $effects): void
    {
        foreach ($effects as $fx) {
            $line = match ($fx['type']) {
                'credit' => sprintf('%9s  ', '+' . $fx['points']) . match ($fx['kind']) {
                    'own' => 'own purchase',
                    'upline' => "upline, {$fx['tier']} level {$fx['level']}",
                    default => $fx['kind'],
                },
                'debit' => sprintf('%9s  ', '-' . $fx['points']) . match ($fx['kind']) {
                    'redeem' => 'redeemed at checkout',
                    default => $fx['kind'],
                },
                'placed' => "placed in {$fx['tier']} " . ($fx['parent'] === null
                    ? 'as the root'
                    : "under {$this->who($fx['parent'])}, position {$fx['position']}"),
                'promoted' => "PROMOTED {$fx['from']} -> {$fx['to']}",
                'reward' => "reward {$fx['reward']}",
                default => $fx['type'],
            };
            printf("    %-14s %s\n", $this->who($fx['member']), $line);
        }
    }

    private static function count(int $n, string $noun): string
    {
        return "$n $noun" . ($n === 1 ? '' : 's');
    }

    /** round(money × rate), half up, in integers: $rate at 6 decimals ("0.05" is 50000). */
    private static function percentOf(int $money, int $rate): int
    {
        if ($rate !== 0 && $money > intdiv(PHP_INT_MAX - 500_000, $rate)) {
            throw new OverflowException('basket too large for the discount arithmetic');
        }
        return intdiv($money * $rate + 500_000, 1_000_000);
    }

    /** "0.05" → "5%", exactly (string arithmetic: move the point two places). */
    private static function percent(string $rate): string
    {
        if (!preg_match('/^([0-9]+)(?:\.([0-9]*))?$/D', $rate, $m)) {
            return $rate;
        }
        $frac = str_pad($m[2] ?? '', 2, '0');
        $whole = ltrim($m[1] . substr($frac, 0, 2), '0');
        $rest = rtrim(substr($frac, 2), '0');
        return ($whole === '' ? '0' : $whole) . ($rest === '' ? '' : ".$rest") . '%';
    }
}

if ($argc !== 3) {
    fwrite(STDERR, "usage: php -d ffi.enable=1 shop.php LIBUPLINE.so PLAN.json\n");
    exit(2);
}
try {
    $upline = Upline::fromPlanFile($argv[2], $argv[1]);
} catch (UplineRejected $e) {
    fwrite(STDERR, "the plan was refused: {$e->getMessage()}\n");
    exit(1);
}
$shop = new Shop($upline, [1001 => 'Alice', 1002 => 'Bob', 1003 => 'Carol', 1004 => 'Dan', 1005 => 'Erin', 1006 => 'Frank']);
echo "plan ", basename($argv[2]), ": money_scale {$upline->moneyScale}, points_scale {$upline->pointsScale}\n";

echo "\n== 1. Sign-ups through referral links ==\n";
$shop->signup(1001, 'https://shop.example/join', at(0, 600));
$shop->signup(1002, 'https://shop.example/join?ref=1001', at(0, 610));
$shop->signup(1003, 'https://shop.example/join?ref=1001', at(0, 620));
$shop->signup(1004, 'https://shop.example/join?ref=1002', at(0, 630)); // Bob's friend; bronze fills top-down
$shop->note('bronze fills breadth-first: Dan sits under Alice although Bob referred him');
$shop->signup(1005, 'https://shop.example/join?utm_source=mail&ref=1003', at(0, 640));
$shop->signup(1006, 'https://shop.example/join?ref=9999', at(0, 650)); // a mistyped link: no member 9999

echo "\n== 2. Checkouts in both shops ==\n";
$shop->checkout('W-1001', 1001, 'main', '480.00', at(1, 540));
$shop->checkout('W-1002', 1002, 'main', '250.00', at(1, 600));
$shop->checkout('O-1003', 1003, 'outlet', '19.90', at(1, 660));
$shop->checkout('O-1004', 1003, 'outlet', '300.00', at(1, 670));
$shop->checkout('W-1005', 1004, 'main', '89.70', at(1, 720));
$shop->note('89.70 x 5% = 4.485, rounded once, half to even: 4.48');
$shop->note("the payment page times out and Dan's browser posts W-1005 again");
$shop->checkout('W-1005', 1004, 'main', '89.70', at(1, 721));
$shop->checkout('W-1006', 1005, 'main', '120.00', at(2, 600));

echo "\n== 3. Alice's account page ==\n";
$shop->account(1001);

echo "\n== 4. Alice reaches silver (lifetime 1000.00 and 2 direct referrals at bronze or above) ==\n";
$shop->checkout('W-1007', 1001, 'main', '450.00', at(3, 600));
$shop->account(1001);
$shop->checkout('W-1008', 1004, 'main', '850.00', at(4, 600));
$shop->account(1001);

echo "\n== 5. Silver at work: Alice's discount and accrual, a bigger share of Bob's orders ==\n";
$shop->checkout('W-1009', 1001, 'main', '200.00', at(5, 600));
$shop->note('silver accrual 1.1: the 190.00 paid earns 209.00');
$shop->checkout('W-1010', 1002, 'main', '100.00', at(5, 660));
$shop->note('silver upline multiplier 1.2: 5% of 100.00 pays Alice 6.00, not 5.00');

echo "\n== 6. Erin returns part of W-1006, then the rest ==\n";
$shop->refund('W-1006', '45.50', at(8, 600));
$shop->note('each credit x 45.50/120.00, half to even: 2.275 -> 2.28, 1.365 -> 1.36');
$shop->refund('W-1006', null, at(9, 600));
$shop->note('the whole order is clawed back; tiers and rewards are never taken back');
$shop->account(1005);

echo "\n== 7. Paying with points ==\n";
$shop->account(1002);
$shop->checkout('W-1011', 1002, 'main', '80.00', at(10, 600), '20.00');
$shop->note('redeeming lowers the balance, not the lifetime');
$shop->account(1002);
$shop->account(1004);
$shop->checkout('W-1012', 1004, 'main', '1200.00', at(10, 660), '1000.00');
$shop->account(1004);

echo "\n== 8. The books ==\n";
$state = $upline->state();
echo "events applied {$state['applied']}, rejected {$state['rejected']}\n";
foreach ($state['members'] as $m) {
    echo rtrim(sprintf("%-14s %-8s balance %8s  lifetime %8s  orders %d  %s", $shop->who($m['id']), $m['tier'],
        $m['balance'], $m['lifetime'], $m['orders'], implode(' ', $m['rewards']))), "\n";
}
