<?php
/*
 * server_race.php — several PHP processes against one `upline serve` at once (ctest examples/php-server).
 *
 *   php server_race.php UPLINE_BINARY PLAN.json [WORKERS]
 *
 * The driver starts `upline serve` on 127.0.0.1 (port 0) in a fresh temporary directory, joins the
 * root member, then starts WORKERS (default 8) copies of this script in worker mode. Each worker,
 * through its own UplineClient, joins its own members, makes their purchases (unique order ids),
 * redeems, sends a few events that must be rejected, sends a batch — and then all workers, released
 * together, submit the SAME order id: exactly one must be accepted, every other one is
 * duplicate_order. Each worker prints what it was acknowledged.
 *
 * The driver then checks that the server's counts equal the sum of the acknowledgements (and the
 * sequence numbers handed out are exactly 1..N, each once), stops the server with SIGTERM (exit 0),
 * exports its journal (`upline export`), replays it (`upline replay`) and checks that the replay's
 * state dump equals the server's, digest included. Every wait is bounded; the server is always
 * stopped. Prints "php-server: ok" and exits 0, or says what failed and exits 1.
 */

declare(strict_types=1);

require __DIR__ . '/UplineClient.php';

const MEMBERS_PER_WORKER = 12;
const START_SECONDS = 20;     // for `listening on …`
const WORKER_SECONDS = 60;    // for all workers together
const STOP_SECONDS = 20;      // for SIGTERM to end the server
const RACE_ORDER = 'RACE-1';

function fail(string $why): never
{
    fwrite(STDERR, "php-server: FAILED: $why\n");
    exit(1);
}

function check(bool $ok, string $what): void
{
    if (!$ok) {
        fail($what);
    }
}

// ---- worker mode: php server_race.php --worker URL INDEX GOFILE ---------------------------------------

function worker(string $url, int $w, string $goFile): void
{
    $client = new UplineClient($url, null, 15000);
    $ok = 0;
    $rejected = 0;
    $seqs = [];
    $note = function (array $result) use (&$ok, &$rejected, &$seqs): void {
        $seqs[] = (int) $result['seq'];
        $result['status'] === 'ok' ? ++$ok : ++$rejected;
    };
    $submit = function (array $event, ?string $expect = null) use ($client, $note): void {
        try {
            $note($client->submit($event));
            check($expect === null, "worker: $expect expected for " . json_encode($event));
        } catch (UplineClientRejected $e) {
            $note(['seq' => $e->seq, 'status' => $e->codeName]);
            check($e->codeName === $expect, 'worker: ' . $e->getMessage() . ' for ' . json_encode($event));
        }
    };
    $at = 1767225600000 + $w * 1000;
    $base = 1000 * ($w + 1);
    // Members base+1…: the first under the root, each next one under an earlier one of this worker.
    for ($i = 1; $i <= MEMBERS_PER_WORKER; ++$i) {
        $sponsor = $i === 1 ? 1 : $base + intdiv($i, 2);
        $submit(['type' => 'join', 'member' => $base + $i, 'sponsor' => $sponsor, 'at' => $at + $i]);
    }
    for ($i = 1; $i <= MEMBERS_PER_WORKER; ++$i) {
        $cents = 1000 + 137 * $i + 11 * $w;
        $amount = intdiv($cents, 100) . '.' . str_pad((string) ($cents % 100), 2, '0', STR_PAD_LEFT);
        $submit(['type' => 'purchase', 'order' => "W$w-$i", 'member' => $base + $i, 'shop' => $i % 3 ? 'main' : 'outlet',
            'amount' => $amount, 'at' => $at + 100 + $i]);
    }
    // Its own purchase's points, at least, are its own: this redemption always fits.
    $submit(['type' => 'redeem', 'member' => $base + 1, 'points' => '1.00', 'ref' => "R$w", 'at' => $at + 200]);
    // Rejections, counted as such.
    $submit(['type' => 'purchase', 'order' => "W$w-1", 'member' => $base + 1, 'shop' => 'main', 'amount' => '5.00', 'at' => $at + 201], 'duplicate_order');
    $submit(['type' => 'join', 'member' => $base + 1, 'sponsor' => 1, 'at' => $at + 202], 'member_exists');
    $submit(['type' => 'redeem', 'member' => $base + 2, 'points' => '999999.00', 'ref' => "R$w-big", 'at' => $at + 203], 'insufficient_points');
    // A batch: two purchases and one unknown member.
    $results = $client->batch([
        ['type' => 'purchase', 'order' => "W$w-b1", 'member' => $base + 3, 'shop' => 'main', 'amount' => '12.34', 'at' => $at + 300],
        ['type' => 'purchase', 'order' => "W$w-b2", 'member' => 999999, 'shop' => 'main', 'amount' => '1.00', 'at' => $at + 301],
        ['type' => 'purchase', 'order' => "W$w-b3", 'member' => $base + 4, 'shop' => 'main', 'amount' => '20.00', 'at' => $at + 302],
    ]);
    check(array_column($results, 'status') === ['ok', 'unknown_member', 'ok'], 'worker: batch statuses ' . json_encode(array_column($results, 'status')));
    array_map($note, $results);
    // Reads see this worker's own writes.
    $order = $client->order("W$w-b3");
    check($order !== null && $order['amount'] === '20.00' && $order['member'] === $base + 4, "worker: order W$w-b3 " . json_encode($order));
    check($client->order("W$w-b2") === null, "worker: order W$w-b2 should not exist");
    $member = $client->member($base + 1);
    check($member !== null && $member['orders'] === 1, 'worker: member ' . json_encode($member));

    // The race: wait (bounded) until the driver releases every worker at once.
    fwrite(STDOUT, "ready\n");
    fflush(STDOUT);
    $deadline = microtime(true) + WORKER_SECONDS;
    while (!file_exists($goFile)) {
        check(microtime(true) < $deadline, 'worker: never released for the race');
        usleep(2000);
    }
    $race = 'ok';
    try {
        $note($client->submit(['type' => 'purchase', 'order' => RACE_ORDER, 'member' => $base + 1, 'shop' => 'main',
            'amount' => '50.00', 'at' => $at + 400]));
    } catch (UplineClientRejected $e) {
        $note(['seq' => $e->seq, 'status' => $e->codeName]);
        $race = $e->codeName;
    }
    fwrite(STDOUT, json_encode(['worker' => $w, 'ok' => $ok, 'rejected' => $rejected, 'seqs' => $seqs, 'race' => $race,
        'members' => MEMBERS_PER_WORKER]) . "\n");
}

// ---- driver mode ------------------------------------------------------------------------------------

/** Runs a command to the end (bounded), stdout to $out; returns the exit code. */
function run(array $cmd, string $out, string $err, int $seconds): int
{
    $p = proc_open($cmd, [0 => ['file', '/dev/null', 'r'], 1 => ['file', $out, 'w'], 2 => ['file', $err, 'w']], $pipes);
    check(is_resource($p), 'cannot run ' . implode(' ', $cmd));
    $deadline = microtime(true) + $seconds;
    while (($s = proc_get_status($p))['running']) {
        if (microtime(true) > $deadline) {
            proc_terminate($p, 9);
            proc_close($p);
            fail(implode(' ', $cmd) . " did not finish within $seconds s");
        }
        usleep(10000);
    }
    proc_close($p);
    return $s['exitcode'];
}

function remove_tree(string $dir): void
{
    if (!is_dir($dir)) {
        return;
    }
    $it = new RecursiveIteratorIterator(new RecursiveDirectoryIterator($dir, FilesystemIterator::SKIP_DOTS), RecursiveIteratorIterator::CHILD_FIRST);
    foreach ($it as $f) {
        $f->isDir() && !$f->isLink() ? rmdir($f->getPathname()) : unlink($f->getPathname());
    }
    rmdir($dir);
}

function driver(string $upline, string $plan, int $workers): void
{
    $tmp = sys_get_temp_dir() . '/upline-php-server-' . getmypid() . '-' . bin2hex(random_bytes(4));
    check(mkdir($tmp, 0700), "cannot create $tmp");
    $data = "$tmp/data";
    $server = null;
    $workerProcs = [];
    $stopServer = function (int $signal) use (&$server): ?int {
        if (!is_resource($server)) {
            return null;
        }
        proc_terminate($server, $signal);
        $deadline = microtime(true) + STOP_SECONDS;
        while (($s = proc_get_status($server))['running'] && microtime(true) < $deadline) {
            usleep(10000);
        }
        if ($s['running']) {
            proc_terminate($server, 9);
            proc_close($server);
            $server = null;
            return -1;
        }
        proc_close($server);
        $server = null;
        return $s['exitcode'];
    };
    // Whatever happens (fail() exits), nothing is left running.
    register_shutdown_function(function () use (&$workerProcs, $stopServer, $tmp): void {
        foreach ($workerProcs as [$p]) {
            if (is_resource($p) && proc_get_status($p)['running']) {
                proc_terminate($p, 9);
            }
        }
        $stopServer(9);
        if (getenv('UPLINE_KEEP_TMP') === false) {
            remove_tree($tmp);
        }
    });

    // The server: its first stdout line says where it listens.
    $server = proc_open([$upline, 'serve', '--data', $data, '--plan', $plan, '--listen', '127.0.0.1:0', '--sync', 'group'],
        [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['file', "$tmp/serve.err", 'w']], $pipes);
    check(is_resource($server), 'cannot start upline serve');
    $out = $pipes[1];
    $r = [$out];
    $w = $e = null;
    check(stream_select($r, $w, $e, START_SECONDS) === 1, 'upline serve printed nothing within ' . START_SECONDS . ' s');
    $line = (string) fgets($out);
    check(preg_match('~^listening on (http://127\.0\.0\.1:\d+)$~', rtrim($line), $m) === 1,
        "upline serve did not start: $line " . @file_get_contents("$tmp/serve.err"));
    $url = $m[1];

    $client = new UplineClient($url, null, 15000);
    $client->join(1, null, 1767225600000);

    // The workers, all at once; each prints "ready" before the race, then its summary.
    $goFile = "$tmp/go";
    for ($i = 0; $i < $workers; ++$i) {
        $p = proc_open([PHP_BINARY, '-d', 'error_reporting=-1', '-d', 'display_errors=stderr', __FILE__, '--worker', $url, (string) $i, $goFile],
            [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['file', "$tmp/worker-$i.err", 'w']], $wp);
        check(is_resource($p), "cannot start worker $i");
        stream_set_blocking($wp[1], false);
        $workerProcs[$i] = [$p, $wp[1], '', null];  // process, stdout, its text so far, exit code
    }
    $deadline = microtime(true) + WORKER_SECONDS;
    $released = false;
    for (;;) {
        $running = 0;
        $ready = 0;
        foreach ($workerProcs as $i => &$wk) {
            $wk[2] .= (string) stream_get_contents($wk[1]);
            $ready += str_starts_with($wk[2], "ready\n") ? 1 : 0;
            if ($wk[3] === null) {
                // The exit code is reported once, by the call that sees the process ended (PHP 8.2).
                $st = proc_get_status($wk[0]);
                if ($st['running']) {
                    ++$running;
                } else {
                    $wk[3] = $st['exitcode'];
                }
            }
        }
        unset($wk);
        if (!$released && $ready === $workers) {
            touch($goFile);  // every worker is waiting: release them together
            $released = true;
        }
        if ($running === 0) {
            break;
        }
        check(microtime(true) < $deadline, 'the workers did not finish within ' . WORKER_SECONDS . ' s');
        usleep(5000);
    }

    // What the workers were told.
    $ok = 1;  // the root's join
    $rejected = 0;
    $seqs = [1];
    $raceWinners = 0;
    $raceLosers = 0;
    $members = 1;
    foreach ($workerProcs as $i => [$p, $pipe, $text, $code]) {
        $text .= (string) stream_get_contents($pipe);
        proc_close($p);
        $err = (string) @file_get_contents("$tmp/worker-$i.err");
        check($code === 0 && $err === '', "worker $i exited with $code: $err");
        $lines = explode("\n", trim($text));
        check(count($lines) === 2 && $lines[0] === 'ready', "worker $i printed: $text");
        $summary = json_decode($lines[1], true, 512, JSON_THROW_ON_ERROR);
        $ok += $summary['ok'];
        $rejected += $summary['rejected'];
        $members += $summary['members'];
        array_push($seqs, ...$summary['seqs']);
        $summary['race'] === 'ok' ? ++$raceWinners : ++$raceLosers;
        check(in_array($summary['race'], ['ok', 'duplicate_order'], true), "worker $i: race answered {$summary['race']}");
    }
    $workerProcs = [];
    check($raceWinners === 1 && $raceLosers === $workers - 1, "the race of $workers workers for one order: $raceWinners accepted, $raceLosers refused");

    // The server's counts are the acknowledgements; every sequence number was handed out once.
    $status = $client->status();
    $total = $ok + $rejected;
    sort($seqs);
    check($seqs === range(1, $total), 'sequence numbers acknowledged are not exactly 1..' . $total);
    check($status['seq'] === $total && $status['durable_seq'] === $total, 'status seq: ' . json_encode($status) . ", acknowledged $total");
    check($status['applied'] === $ok && $status['rejected'] === $rejected, 'status counts: ' . json_encode($status) . ", acknowledged $ok ok and $rejected rejected");
    check($status['members'] === $members, "status members {$status['members']}, expected $members");
    // Orders: per worker every purchase, two of the batch; plus the race's one.
    check($status['orders'] === $workers * (MEMBERS_PER_WORKER + 2) + 1, "status orders {$status['orders']}");
    $race = $client->order(RACE_ORDER);
    check($race !== null && $race['amount'] === '50.00', 'the race order: ' . json_encode($race));
    $dump = $client->state();
    check($dump['digest'] === $status['digest'] && $dump['applied'] === $ok, 'dump and status disagree');
    $client->close();

    // Stop (SIGTERM: drain, snapshot, exit 0), then replay the journal from scratch.
    $rc = $stopServer(15);
    check($rc === 0, "upline serve exited with $rc after SIGTERM: " . @file_get_contents("$tmp/serve.err"));
    check(run([$upline, 'export', '--data', $data], "$tmp/events.jsonl", "$tmp/export.err", 30) === 0,
        'upline export failed: ' . @file_get_contents("$tmp/export.err"));
    check(count(file("$tmp/events.jsonl", FILE_SKIP_EMPTY_LINES)) === $total, "the journal does not hold $total events");
    check(run([$upline, 'replay', '--plan', $plan, '--events', "$tmp/events.jsonl", '--dump', "$tmp/replay.json"], '/dev/null', "$tmp/replay.err", 30) === 0,
        'upline replay failed: ' . @file_get_contents("$tmp/replay.err"));
    $replayed = json_decode((string) file_get_contents("$tmp/replay.json"), true, 512, JSON_THROW_ON_ERROR | JSON_BIGINT_AS_STRING);
    check($replayed['digest'] === $status['digest'], "replay digest {$replayed['digest']} != server digest {$status['digest']}");
    check($replayed === $dump, "the replay's state dump differs from the server's");

    printf("php-server: %d workers, %d events (%d accepted, %d rejected), %d members, race won by 1 of %d; replay digest %s\n",
        $workers, $total, $ok, $rejected, $members, $workers, substr($status['digest'], 0, 16));
    echo "php-server: ok\n";
}

if (($argv[1] ?? '') === '--worker') {
    worker($argv[2], (int) $argv[3], $argv[4]);
    exit(0);
}
if ($argc < 3) {
    fwrite(STDERR, "usage: php server_race.php UPLINE_BINARY PLAN.json [WORKERS]\n");
    exit(2);
}
driver($argv[1], $argv[2], (int) ($argv[3] ?? 8));
