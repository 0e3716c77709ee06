<?php
/*
 * UplineClient.php — a small PHP client of `upline serve` (docs/SERVER.md) over php-curl.
 *
 *   require 'UplineClient.php';
 *   $upline = new UplineClient('http://127.0.0.1:8080', getenv('UPLINE_TOKEN') ?: null);
 *   $effects = $upline->purchase('W-1', 1001, 'main', '49.90', $atMs);   // list of effect arrays
 *   $upline->lastSeq;                                                   // the sequence number it got
 *   $alice = $upline->member(1001);                                     // ['balance' => '49.90', ...]
 *
 * It feels like Upline.php (the in-process FFI engine): the same typed calls with the same
 * arguments, decimal strings both ways, effects as SPEC §9 arrays, and a rejection throws
 * (UplineClientRejected, with ->codeName like UplineRejected's). Where they differ:
 * - Many PHP processes (PHP-FPM workers, cron jobs, queue consumers) share one server, which owns
 *   the data directory and numbers every event; nothing is loaded into PHP, no FFI.
 * - submit() takes any event as an array (SPEC §4 fields plus "type") and returns the server's
 *   result ['seq' => N, 'status' => 'ok', 'effects' => [...]]; batch() sends many at once and
 *   returns one result each, rejections included (it throws only for HTTP/transport failures).
 * - member() and order() return null for an unknown id (Upline::member throws "notfound").
 * - HTTP and transport failures throw UplineClientError: ->httpStatus (401 no or unknown token,
 *   403 an admin event — plan, adjust, suspend, reactivate — without the admin token, 503
 *   overloaded/unavailable with ->retryAfter…, null when there was no answer) and ->codeName.
 * - Amounts must be strings ("12.50") or ints; a float anywhere in an event is refused before
 *   anything is sent (a float is not the decimal it prints as). The server checks the scale.
 *
 * One curl handle is kept for the client's lifetime, so its HTTP/1.1 connection is reused
 * (keep-alive). An event is never resent by this class. libcurl itself may resend a request once
 * when a reused connection turns out to have been closed before any byte of the answer came back
 * (the server closing an idle connection); to keep that from happening the handle does not reuse a
 * connection idle for longer than $maxIdleSeconds (default 30, below the server's --idle-timeout
 * of 60 s). If a POST fails without an answer (UplineClientError with ->sent true), whether the
 * event was applied is unknown: look it up (order() by its order id) before sending it again; a
 * purchase sent twice is refused as duplicate_order anyway.
 */

declare(strict_types=1);

/** The server said no to an event (SPEC §4 code); the event was journaled as rejected, nothing changed. */
final class UplineClientRejected extends RuntimeException
{
    /**
     * @param string $codeName SPEC code: "duplicate_order", "insufficient_points", …
     * @param int    $seq      the sequence number the server journaled the rejected event under
     */
    public function __construct(public readonly string $codeName, string $message, public readonly int $seq)
    {
        parent::__construct($codeName . ': ' . $message);
    }

    /** The engine's own message, without the code prefix. */
    public function detail(): string
    {
        return substr($this->getMessage(), strlen($this->codeName) + 2);
    }
}

/** A request failed: an HTTP error status (the server's {"error","message"}) or no answer at all. */
final class UplineClientError extends RuntimeException
{
    /**
     * @param ?int   $httpStatus the HTTP status; null when there was no answer (connection, timeout)
     * @param string $codeName   the server's error code ("unauthorized", "forbidden", "bad_request",
     *                           "overloaded", "unavailable", "timeout"…) or this class's own:
     *                           "connection", "timeout", "bad_response", "http_error"
     * @param bool   $sent       false when nothing can have reached the server (no connection)
     */
    public function __construct(
        public readonly ?int $httpStatus,
        public readonly string $codeName,
        string $message,
        public readonly ?int $retryAfter = null,
        public readonly bool $sent = true,
    ) {
        parent::__construct(($httpStatus !== null ? "HTTP $httpStatus " : '') . "$codeName: $message", $httpStatus ?? 0);
    }
}

final class UplineClient
{
    private CurlHandle $curl;
    private array $headers;
    private ?int $retryAfter = null;
    private string $base;

    /** The sequence number of the last event this client submitted (0 before any). */
    public int $lastSeq = 0;

    /**
     * @param string  $url        the server, e.g. "http://127.0.0.1:8080" (a path after it is a prefix)
     * @param ?string $token      sent as "Authorization: Bearer TOKEN" (servers with --token-file)
     * @param int     $timeoutMs  the longest one request may take, connecting included
     */
    public function __construct(string $url, ?string $token = null, private int $timeoutMs = 30000, int $maxIdleSeconds = 30)
    {
        if (!preg_match('~^https?://[^/?#]+(/[^?#]*)?$~', $url)) {
            throw new InvalidArgumentException("url: \"$url\" is not http(s)://HOST[:PORT][/PREFIX]");
        }
        if ($token !== null && !preg_match('/^[\x21-\x7e]+$/', $token)) {
            throw new InvalidArgumentException('token: expected visible ASCII characters');
        }
        $this->base = rtrim($url, '/');
        // "Expect:" turns off curl's 100-continue round trip for bodies over 1 KiB.
        $this->headers = ['Accept: application/json', 'Expect:'];
        if ($token !== null) {
            $this->headers[] = "Authorization: Bearer $token";
        }
        $curl = curl_init();
        if ($curl === false) {
            throw new UplineClientError(null, 'connection', 'curl_init failed', null, false);
        }
        $this->curl = $curl;
        curl_setopt_array($this->curl, [
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_HTTP_VERSION => CURL_HTTP_VERSION_1_1,
            CURLOPT_TIMEOUT_MS => $timeoutMs,
            CURLOPT_CONNECTTIMEOUT_MS => min($timeoutMs, 10000),
            CURLOPT_NOSIGNAL => true,
            CURLOPT_TCP_NODELAY => true,
            CURLOPT_MAXAGE_CONN => max(1, $maxIdleSeconds),
            CURLOPT_FOLLOWLOCATION => false,
            CURLOPT_PATH_AS_IS => true,  // an order id ".." stays a segment, not a step up
            CURLOPT_HEADERFUNCTION => function ($curl, string $line): int {
                if (stripos($line, 'Retry-After:') === 0) {
                    $v = trim(substr($line, 12));
                    $this->retryAfter = ctype_digit($v) ? (int) $v : null;
                }
                return strlen($line);
            },
        ]);
    }

    public function close(): void
    {
        curl_close($this->curl);
    }

    // ---- events --------------------------------------------------------------------------------

    /**
     * Submits one event (SPEC §4 fields plus "type") and returns the server's result for an
     * accepted one: ['seq' => N, 'status' => 'ok', 'effects' => [...]].
     * @throws UplineClientRejected the event was rejected (and journaled as such, ->seq)
     * @throws UplineClientError    HTTP or transport failure
     */
    public function submit(array $event): array
    {
        $result = $this->decode($this->request('POST', '/v1/events', self::line($event) . "\n", 'application/json'), '/v1/events');
        if (!isset($result['seq'], $result['status'], $result['effects'])) {
            throw new UplineClientError(null, 'bad_response', 'not a result: ' . json_encode($result));
        }
        $this->lastSeq = (int) $result['seq'];
        if ($result['status'] !== 'ok') {
            throw new UplineClientRejected($result['status'], $result['message'] ?? '', (int) $result['seq']);
        }
        return $result;
    }

    /**
     * Submits events in order in one request; returns one result each (['seq', 'status',
     * 'effects'] plus 'message' for a rejection). Rejections do not throw; a 403 (an admin event
     * without the admin token) refuses the whole batch.
     * @throws UplineClientError HTTP or transport failure
     */
    public function batch(array $events): array
    {
        if ($events === []) {
            return [];
        }
        $body = '';
        foreach (array_values($events) as $i => $event) {
            if (!is_array($event)) {
                throw new InvalidArgumentException("events[$i]: expected an array");
            }
            $body .= self::line($event, "events[$i]") . "\n";
        }
        $text = $this->request('POST', '/v1/events/batch', $body, 'application/x-ndjson');
        $results = [];
        foreach (explode("\n", $text) as $line) {
            if (trim($line) !== '') {
                $results[] = $this->decode($line, '/v1/events/batch');
            }
        }
        if (count($results) !== count($events)) {
            throw new UplineClientError(null, 'bad_response', count($events) . ' events sent, ' . count($results) . ' results received');
        }
        $this->lastSeq = (int) end($results)['seq'];
        return $results;
    }

    // The typed calls of Upline.php: each returns the effects, or throws UplineClientRejected.

    public function join(int $member, ?int $sponsor, int $at): array
    {
        return $this->effects(['type' => 'join', 'member' => $member] + ($sponsor === null ? [] : ['sponsor' => $sponsor]) + ['at' => $at]);
    }

    public function purchase(string $order, int $member, string $shop, string $amount, int $at): array
    {
        return $this->effects(['type' => 'purchase', 'order' => $order, 'member' => $member, 'shop' => $shop, 'amount' => $amount, 'at' => $at]);
    }

    public function refund(string $order, ?string $amount, int $at): array
    {
        return $this->effects(['type' => 'refund', 'order' => $order] + ($amount === null ? [] : ['amount' => $amount]) + ['at' => $at]);
    }

    public function redeem(int $member, string $points, string $ref, int $at): array
    {
        return $this->effects(['type' => 'redeem', 'member' => $member, 'points' => $points, 'ref' => $ref, 'at' => $at]);
    }

    public function adjust(int $member, string $points, string $actor, string $reason, int $at): array
    {
        return $this->effects(['type' => 'adjust', 'member' => $member, 'points' => $points, 'actor' => $actor, 'reason' => $reason, 'at' => $at]);
    }

    public function suspend(int $member, int $at): array
    {
        return $this->effects(['type' => 'suspend', 'member' => $member, 'at' => $at]);
    }

    public function reactivate(int $member, int $at): array
    {
        return $this->effects(['type' => 'reactivate', 'member' => $member, 'at' => $at]);
    }

    // ---- queries (each waits until event $minSeq is applied, when given) ------------------------

    /** The member as in the state dump plus 'progress' toward the next tier; null if unknown. */
    public function member(int $id, ?int $minSeq = null): ?array
    {
        return $this->get("/v1/members/$id", $minSeq, true);
    }

    /** ['id','member','shop','amount','refunded','at','credits' => [['member','points','clawed_back']]]; null if unknown. */
    public function order(string $id, ?int $minSeq = null): ?array
    {
        return $id === '' ? null : $this->get('/v1/orders/' . rawurlencode($id), $minSeq, true);
    }

    /** ['seq','durable_seq','applied','rejected','members','orders','clock','digest']. */
    public function status(?int $minSeq = null): array
    {
        return $this->get('/v1/status', $minSeq);
    }

    /** The state dump (SPEC §10: applied, rejected, digest, members), decoded, as Upline::state(). */
    public function state(?int $minSeq = null): array
    {
        return $this->get('/v1/dump', $minSeq);
    }

    // ---- internals -------------------------------------------------------------------------------

    private function effects(array $event): array
    {
        return $this->submit($event)['effects'];
    }

    /** One event as a JSON line; a float anywhere is refused (not exact). */
    private static function line(array $event, string $where = 'event'): string
    {
        array_walk_recursive($event, function ($v, $k) use ($where): void {
            if (is_float($v)) {
                throw new InvalidArgumentException("$where.$k: floats are not exact; pass the amount as a string like \"12.50\"");
            }
        });
        return json_encode($event, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION);
    }

    private function get(string $path, ?int $minSeq, bool $nullIfMissing = false): ?array
    {
        if ($minSeq !== null) {
            if ($minSeq < 0) {
                throw new InvalidArgumentException("minSeq: $minSeq is negative");
            }
            $path .= "?min_seq=$minSeq";
        }
        $text = $this->request('GET', $path, null, null, $nullIfMissing);
        return $text === null ? null : $this->decode($text, $path);
    }

    private function decode(string $text, string $path): array
    {
        try {
            $value = json_decode($text, true, 512, JSON_THROW_ON_ERROR | JSON_BIGINT_AS_STRING);
        } catch (JsonException $e) {
            throw new UplineClientError(null, 'bad_response', "$path: the answer is not JSON: " . substr($text, 0, 200));
        }
        if (!is_array($value)) {
            throw new UplineClientError(null, 'bad_response', "$path: the answer is not a JSON object");
        }
        return $value;
    }

    /** The body of a 200 answer; null for 404 not_found when $nullIfMissing; else throws. */
    private function request(string $method, string $path, ?string $body, ?string $contentType, bool $nullIfMissing = false): ?string
    {
        $headers = $this->headers;
        if ($contentType !== null) {
            $headers[] = "Content-Type: $contentType";
        }
        $this->retryAfter = null;
        curl_setopt($this->curl, CURLOPT_URL, $this->base . $path);
        curl_setopt($this->curl, CURLOPT_HTTPHEADER, $headers);
        if ($method === 'POST') {
            curl_setopt($this->curl, CURLOPT_POST, true);
            curl_setopt($this->curl, CURLOPT_POSTFIELDS, $body);
        } else {
            curl_setopt($this->curl, CURLOPT_HTTPGET, true);
        }
        $text = curl_exec($this->curl);
        if ($text === false) {
            $errno = curl_errno($this->curl);
            $unsent = in_array($errno, [CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_URL_MALFORMAT], true);
            $code = $errno === CURLE_OPERATION_TIMEDOUT ? 'timeout' : 'connection';
            $what = "$method $path: " . curl_error($this->curl);
            if ($method === 'POST' && !$unsent) {
                $what .= '; the event may or may not have been applied';
            }
            throw new UplineClientError(null, $code, $what, null, !$unsent);
        }
        $status = curl_getinfo($this->curl, CURLINFO_RESPONSE_CODE);
        if ($status === 200) {
            return $text;
        }
        $code = 'http_error';
        $message = substr(trim($text), 0, 300);
        $error = json_decode($text, true);
        if (is_array($error) && is_string($error['error'] ?? null)) {
            $code = $error['error'];
            $message = (string) ($error['message'] ?? '');
        }
        if ($nullIfMissing && $status === 404 && $code === 'not_found') {
            return null;
        }
        throw new UplineClientError($status, $code, $message, $this->retryAfter);
    }
}
