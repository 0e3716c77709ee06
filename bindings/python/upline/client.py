"""upline.Client — the calls of :class:`upline.Engine`, answered by an ``upline serve`` over HTTP.

One ``upline serve`` process owns a data directory and sequences every client's events into it;
a :class:`Client` is one caller's handle on it, with the same methods, answers and exceptions as an
in-memory :class:`~upline.Engine` (and, like a :class:`~upline.Store`, event calls return a
:class:`~upline.Submitted` carrying ``seq``)::

    import upline
    with upline.Client("http://127.0.0.1:8080", token="…") as shop:
        effects = shop.purchase("W-1", member=1001, shop="main", amount="49.90", at=1_767_225_900_000)
        effects.seq                      # the sequence number the server journaled it under
        shop.member(1001).balance        # Decimal('49.90')

Rules, on top of the package's (see ``upline.__doc__``):

* **Same conversions.** Events are built with the field names and checks of the Engine's typed
  calls: amounts as a ``Decimal``, ``str`` or ``int`` (a ``float`` raises :class:`TypeError`),
  ``at`` as int milliseconds or an aware ``datetime``. Every conversion happens before anything is
  sent, so a :class:`TypeError` leaves the server untouched.
* **Same answers.** An accepted event returns a :class:`~upline.Submitted` (the tuple of effects an
  Engine returns, plus ``.seq``); a rejected one raises the :class:`~upline.Rejected` subclass for
  its code with ``.seq`` set (the server journals rejections too). :meth:`Client.apply_many`
  returns one :class:`~upline.Result` per event, with ``seq`` set, and never raises for a
  rejection.
* **HTTP and transport failures raise** :class:`ClientError` (``.status``, ``.code``,
  ``.message``): 401 (``code`` ``"unauthorized"``: no token, or a token the server does not know)
  and 403 (``"forbidden"``: a plan, adjust, suspend or reactivate event sent without the admin
  token) among them. A :class:`ClientError` is never a :class:`~upline.Rejected`.
* **An event is sent at most once.** The client keeps one persistent HTTP/1.1 connection. Before
  each request it checks whether the server has closed that connection while it sat idle, and
  opens a new one if so (nothing has been sent yet then). A GET that fails on a reused
  connection is retried once on a new one; an event POST never is: if the connection breaks after
  the request may have reached the server, :class:`ClientError` (``code`` ``"connection"`` or
  ``"timeout"``) says so, and whether the event was applied is unknown. Find out with a query —
  :meth:`Client.order` for a purchase's order id, :meth:`Client.member` for a join — or read the
  server's journal, before sending it again (a purchase sent twice is refused with
  ``duplicate_order``, so resending one is safe in any case).
* **Reads see every event acknowledged before them**, from any client: the server answers
  requests in arrival order. ``min_seq=N`` on a query waits (on the server, at most its
  ``--read-wait``) until event N has been applied — for reading, on another connection, what
  some other process was told.
* **Threads**: a Client may be shared between threads; its requests are serialised on its one
  connection. For parallel requests, give each thread its own Client.

The plan-derived queries come from the server too: :attr:`Client.plan` (``GET /v1/plan``, the plan
in force as canonical JSON) and :attr:`~Client.plan_name`, :attr:`~Client.tiers`,
:attr:`~Client.money_scale` and :attr:`~Client.points_scale` derived from it (each access is one
request: the plan may change between two, through a plan event); :meth:`Client.census` counts the
members per tier from the whole state dump (``GET /v1/dump``: costly on a large state, see its
documentation); :meth:`Client.member` fills ``referrals`` and ``benefits`` from the server's member
object. What an Engine offers and a Client does not: ``columns``, ``upline`` and ``below`` (the
server does not publish the matrices).

This module needs only the standard library, but it imports the package's value types and
conversions from :mod:`upline`, which loads the compiled module: it does not work where that
module is missing.
"""

from __future__ import annotations

import http.client
import json
import select
import socket
import threading
import urllib.parse
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Iterable, Mapping

if TYPE_CHECKING:
    from .lab import Statement

from . import (
    Amount,
    Credit,
    Debit,
    Effect,
    Member,
    Node,
    Order,
    PlanSource,
    Placed,
    Promoted,
    Rejected,
    Result,
    Reward,
    Submitted,
    Time,
    _amount_text,
    _at,
    _event_text,
    _member_id,
    _plan_text,
)

__all__ = ["Client", "ClientError"]

_INT64_MAX = (1 << 63) - 1


class ClientError(Exception):
    """A request to ``upline serve`` failed: the server answered with an HTTP error, or the
    connection could not be made or broke.

    ``status`` is the HTTP status (None when there was no answer); ``code`` the error code of the
    server's JSON body (``"unauthorized"`` with 401: no token or an unknown one; ``"forbidden"``
    with 403: an admin event without the admin token, nothing of the request was applied;
    ``"bad_request"``, ``"payload_too_large"``, ``"overloaded"`` and ``"unavailable"`` with 503,
    ``"timeout"`` with 504 for a ``min_seq`` that was not reached…), or one of this client's:
    ``"connection"`` (no connection, or it broke), ``"timeout"`` (no answer within the client's
    timeout), ``"bad_response"`` (an answer that is not what the API promises) and
    ``"http_error"`` (an error status without the server's JSON body, e.g. from a proxy).
    ``message`` explains; ``retry_after`` is the Retry-After of a 503, in seconds, if any.

    When an event POST fails without an answer, ``sent`` says whether the request may have
    reached the server (then whether the event was applied is unknown: query before resending).
    :meth:`Client.apply_many` sets ``results`` to the results of the batches answered before the
    failure.
    """

    status: int | None
    code: str
    message: str
    retry_after: int | None
    sent: bool
    results: list[Result]

    def __init__(self, status: int | None, code: str, message: str, *, retry_after: int | None = None, sent: bool = True) -> None:
        super().__init__(status, code, message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        self.sent = sent
        self.results = []

    def __str__(self) -> str:
        head = f"HTTP {self.status} {self.code}" if self.status is not None else self.code
        return f"{head}: {self.message}" if self.message else head


# ---- answers: the server's JSON as the package's values -------------------------------------------


def _bad(what: str) -> ClientError:
    return ClientError(None, "bad_response", what)


def _effect(d: Mapping[str, Any]) -> Effect:
    kind_of = d.get("type")
    member = d["member"]
    if kind_of == "credit":
        return Credit(member, Decimal(d["points"]), d["kind"], d.get("tier"), d.get("level"))
    if kind_of == "debit":
        return Debit(member, Decimal(d["points"]), d["kind"])
    if kind_of == "placed":
        return Placed(member, d["tier"], d["parent"], d["position"])
    if kind_of == "promoted":
        return Promoted(member, d["from"], d["to"])
    if kind_of == "reward":
        return Reward(member, d["reward"])
    raise _bad(f"unknown effect type {kind_of!r}")


def _result(d: Any) -> Result:
    """One result line ``{"seq","status","effects"[,"message"]}`` as a Result with ``seq``."""
    try:
        return Result(d["status"], d.get("message", ""), tuple(map(_effect, d["effects"])), d["seq"])
    except ClientError:
        raise
    except (KeyError, TypeError, ValueError, ArithmeticError) as e:
        raise _bad(f"not a result line: {json.dumps(d)[:200]} ({type(e).__name__}: {e})") from None


def _member(d: Mapping[str, Any]) -> Member:
    benefits = d["benefits"]
    if not isinstance(benefits, dict) or not all(isinstance(v, str) for v in benefits.values()):
        raise TypeError(f"benefits: expected an object of strings, got {benefits!r}")
    referrals = d["referrals"]
    if isinstance(referrals, bool) or not isinstance(referrals, int):
        raise TypeError(f"referrals: expected an integer, got {referrals!r}")
    return Member(
        id=d["id"],
        sponsor=d["sponsor"],
        tier=d["tier"],
        status=d["status"],
        balance=Decimal(d["balance"]),
        lifetime=Decimal(d["lifetime"]),
        orders=d["orders"],
        referrals=referrals,
        nodes=tuple(Node(n["tier"], n["parent"], n["position"]) for n in d["nodes"]),
        rewards=tuple(d["rewards"]),
        benefits=dict(benefits),
    )


def _order(d: Mapping[str, Any]) -> Order:
    return Order(d["id"], d["member"], d["shop"], Decimal(d["amount"]), Decimal(d["refunded"]), d["at"])


# ---- events: typed calls as JSON lines -----------------------------------------------------------


def _int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__}")
    return value


def _str(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected a str, got {type(value).__name__}")
    return value


def _one_line(text: str) -> str:
    """JSON text on one line. Outside strings a line break is whitespace, and inside a string a raw
    one is not valid JSON either way: replacing them by spaces keeps every valid text's meaning."""
    return text.replace("\r", " ").replace("\n", " ") if ("\n" in text or "\r" in text) else text


def _line(event: dict[str, Any]) -> str:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


def _seq_query(min_seq: int | None) -> str:
    if min_seq is None:
        return ""
    if isinstance(min_seq, bool) or not isinstance(min_seq, int) or not 0 <= min_seq <= _INT64_MAX:
        raise ValueError(f"min_seq: expected an int 0..2^63-1 or None, got {min_seq!r}")
    return f"?min_seq={min_seq}"


# ---- the client --------------------------------------------------------------------------------

# What a reused keep-alive connection that the server closed meanwhile looks like.
_DROPPED = (http.client.RemoteDisconnected, http.client.BadStatusLine, ConnectionResetError, ConnectionAbortedError, BrokenPipeError)


def _readable(sock: socket.socket) -> bool:
    """Whether an idle connection's socket has something to read — end of file, when the server
    closed it — without waiting (poll: any descriptor number; errors count as readable)."""
    try:
        if hasattr(select, "poll"):
            p = select.poll()
            p.register(sock, select.POLLIN)
            return bool(p.poll(0))
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


class Client:
    """A connection to ``upline serve`` at ``url`` (``"http://127.0.0.1:8080"``; a path after the
    host is a prefix, for a server behind a reverse proxy; ``https://`` works too).

    ``token`` is sent as ``Authorization: Bearer TOKEN`` (a server started with ``--token-file``
    needs one; plan, adjust, suspend and reactivate events need one of ``--admin-token-file`` when
    the server has such a file). ``timeout`` (seconds) bounds connecting and each wait for the
    server; a query with ``min_seq`` may need more than the server's ``--read-wait``.

    See the module documentation for what the methods share with :class:`~upline.Engine` and how
    failures are reported. Use it as a context manager, or call :meth:`close`.
    """

    def __init__(self, url: str, token: str | None = None, *, timeout: float = 30.0) -> None:
        _str(url, "url")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"url: {url!r} is not an http:// or https:// URL with a host")
        if parts.query or parts.fragment:
            raise ValueError(f"url: {url!r} has a query or a fragment")
        if token is not None:
            _str(token, "token")
            if not token or any(c <= " " or c > "~" for c in token):
                raise ValueError("token: expected visible ASCII characters")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise ValueError(f"timeout: expected a number of seconds > 0, got {timeout!r}")
        self._url = url
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._timeout = float(timeout)
        self._headers = {"Accept": "application/json", "User-Agent": "upline-python-client"}
        if token is not None:
            self._headers["Authorization"] = "Bearer " + token
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<upline.Client {self._url!r}>"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes the connection (the next call opens a new one)."""
        with self._lock:
            self._drop()

    # ---- HTTP ---------------------------------------------------------------------------------

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        """The open connection and whether it is reused; a new one (connected) when there is none
        or the server closed the old one while it was idle."""
        conn = self._conn
        if conn is not None and conn.sock is not None:
            if not _readable(conn.sock):
                return conn, True
            # Readable while idle: the server closed it (EOF) or sent something unasked for.
            self._drop()
        elif conn is not None:
            self._drop()
        cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        conn = cls(self._host, self._port, timeout=self._timeout)
        try:
            conn.connect()
        except socket.timeout:
            conn.close()
            raise ClientError(None, "timeout", f"connecting to {self._url} took more than {self._timeout:g} s; nothing was sent", sent=False) from None
        except OSError as e:
            conn.close()
            raise ClientError(None, "connection", f"cannot connect to {self._url}: {e}; nothing was sent", sent=False) from None
        self._conn = conn
        return conn, False

    def _exchange(self, method: str, path: str, body: bytes | None, content_type: str | None) -> tuple[int, http.client.HTTPResponse, bytes]:
        headers = dict(self._headers)
        if content_type is not None:
            headers["Content-Type"] = content_type
        idempotent = method == "GET"
        with self._lock:
            for attempt in (0, 1):
                conn, reused = self._connection()
                try:
                    conn.request(method, self._prefix + path, body=body, headers=headers)
                    response = conn.getresponse()
                    data = response.read()
                except socket.timeout:
                    self._drop()
                    raise ClientError(None, "timeout", f"{method} {path}: no answer within {self._timeout:g} s"
                                      + ("" if idempotent else "; the event may or may not have been applied")) from None
                except _DROPPED as e:
                    self._drop()
                    if idempotent and reused and attempt == 0:
                        continue  # a keep-alive connection the server closed: once more, on a new one
                    raise ClientError(None, "connection", f"{method} {path}: the connection broke ({type(e).__name__}: {e})"
                                      + ("" if idempotent else "; the event may or may not have been applied")) from None
                except (OSError, http.client.HTTPException) as e:
                    self._drop()
                    raise ClientError(None, "connection", f"{method} {path}: {type(e).__name__}: {e}"
                                      + ("" if idempotent else "; the event may or may not have been applied")) from None
                if response.will_close:
                    self._drop()
                return response.status, response, data
        raise AssertionError("unreachable")

    def _call(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None,
              *, none_if_missing: bool = False) -> bytes | None:
        """The body of a 200 answer; None for a 404 ``not_found`` when ``none_if_missing``;
        ClientError for any other status."""
        status, response, data = self._exchange(method, path, body, content_type)
        if status == 200:
            return data
        code, message = "http_error", data[:300].decode("utf-8", "replace").strip()
        try:
            err = json.loads(data)
            if isinstance(err, dict) and isinstance(err.get("error"), str):
                code, message = err["error"], str(err.get("message", ""))
        except ValueError:
            pass
        if none_if_missing and status == 404 and code == "not_found":
            return None
        retry = response.getheader("Retry-After")
        raise ClientError(status, code, message or response.reason, retry_after=int(retry) if retry and retry.isdigit() else None)

    def _get_json(self, path: str, *, none_if_missing: bool = False) -> Any:
        data = self._call("GET", path, none_if_missing=none_if_missing)
        if data is None:
            return None
        try:
            return json.loads(data)
        except ValueError:
            raise _bad(f"GET {path}: the answer is not JSON: {data[:200]!r}") from None

    # ---- events -------------------------------------------------------------------------------

    def _submit(self, line: str) -> Submitted:
        data = self._call("POST", "/v1/events", line.encode("utf-8"), "application/json")
        assert data is not None
        try:
            answer = json.loads(data)
        except ValueError:
            raise _bad(f"POST /v1/events: the answer is not JSON: {data[:200]!r}") from None
        result = _result(answer)
        if result.code != "ok":
            rejected = Rejected.for_code(result.code, result.message)
            rejected.seq = result.seq
            raise rejected
        assert result.seq is not None
        return Submitted(result.effects, result.seq)

    def join(self, member: int, sponsor: int | None = None, *, at: Time) -> Submitted:
        """``member`` joins under ``sponsor`` (None only for the very first member); see
        :meth:`upline.Engine.join`."""
        t = _at(at)
        event: dict[str, Any] = {"type": "join", "member": _int(member, "member")}
        if sponsor is not None:
            event["sponsor"] = _int(sponsor, "sponsor")
        event["at"] = t
        return self._submit(_line(event))

    def purchase(self, order: str, member: int, shop: str, amount: Amount, *, at: Time) -> Submitted:
        """``member`` buys for ``amount`` in ``shop``; see :meth:`upline.Engine.purchase`."""
        t = _at(at)
        return self._submit(_line({"type": "purchase", "order": _str(order, "order"), "member": _int(member, "member"),
                                   "shop": _str(shop, "shop"), "amount": _amount_text(amount, "amount"), "at": t}))

    def refund(self, order: str, amount: Amount | None = None, *, at: Time) -> Submitted:
        """Refunds ``amount`` of ``order`` (None: the rest); see :meth:`upline.Engine.refund`."""
        t = _at(at)
        event: dict[str, Any] = {"type": "refund", "order": _str(order, "order")}
        if amount is not None:
            event["amount"] = _amount_text(amount, "amount")
        event["at"] = t
        return self._submit(_line(event))

    def redeem(self, member: int, points: Amount, ref: str, *, at: Time) -> Submitted:
        """``member`` spends ``points``; ``ref`` is unique forever. See :meth:`upline.Engine.redeem`."""
        t = _at(at)
        return self._submit(_line({"type": "redeem", "member": _int(member, "member"), "points": _amount_text(points, "points"),
                                   "ref": _str(ref, "ref"), "at": t}))

    def adjust(self, member: int, points: Amount, actor: str, reason: str, *, at: Time) -> Submitted:
        """Adds signed ``points`` to ``member`` (admin token); see :meth:`upline.Engine.adjust`."""
        t = _at(at)
        return self._submit(_line({"type": "adjust", "member": _int(member, "member"), "points": _amount_text(points, "points"),
                                   "actor": _str(actor, "actor"), "reason": _str(reason, "reason"), "at": t}))

    def suspend(self, member: int, *, at: Time) -> Submitted:
        """Suspends ``member`` (admin token); see :meth:`upline.Engine.suspend`."""
        t = _at(at)
        return self._submit(_line({"type": "suspend", "member": _int(member, "member"), "at": t}))

    def reactivate(self, member: int, *, at: Time) -> Submitted:
        """Reactivates ``member`` (admin token); see :meth:`upline.Engine.reactivate`."""
        t = _at(at)
        return self._submit(_line({"type": "reactivate", "member": _int(member, "member"), "at": t}))

    def change_plan(self, plan: PlanSource, actor: str, *, at: Time) -> Submitted:
        """Puts ``plan`` (dict, JSON text or path of a file) in force (admin token); see
        :meth:`upline.Engine.change_plan`. The plan's text is sent as it is (on one line): text
        that is not JSON at all makes the whole event unreadable, so the server answers
        :class:`~upline.InvalidEvent` where an Engine says :class:`~upline.InvalidPlan`."""
        t = _at(at)
        text = _one_line(_plan_text(plan)).strip()
        head = _line({"type": "plan"})[:-1]
        tail = _line({"actor": _str(actor, "actor"), "at": t})[1:]
        return self._submit(f'{head},"plan":{text},{tail}')

    def apply(self, event: Mapping[str, Any] | str) -> Submitted:
        """Submits one event given as a dict or JSON text, converted as :meth:`upline.Engine.apply`
        converts it. Returns a :class:`~upline.Submitted` or raises :class:`~upline.Rejected`."""
        return self._submit(_one_line(_event_text(event)))

    def apply_many(self, events: Iterable[Mapping[str, Any] | str], *, batch_size: int = 10_000) -> list[Result]:
        """Submits events (dicts or JSON text) in order through ``POST /v1/events/batch`` and
        returns one :class:`~upline.Result` per event, each with ``seq``; rejections are reported,
        not raised, as :meth:`upline.Engine.apply_many` does.

        Every event is converted before any is sent (a :class:`TypeError` sends nothing; so does
        a blank JSON text, a :class:`ValueError`, since the batch format skips blank lines). The
        events go in requests of at most ``batch_size`` events (and about 8 MiB); the server
        applies each request's events one after the other, but other clients' events may come
        between two requests. A request that fails raises :class:`ClientError` with ``results``
        holding the results of the requests answered before it (a 403 for an admin event without
        the admin token refuses its whole request: nothing of it was applied).
        """
        if isinstance(events, (str, bytes, Mapping)):
            raise TypeError("events: expected an iterable of events, got a single " + type(events).__name__)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size: expected an int >= 1, got {batch_size!r}")
        lines = []
        for i, e in enumerate(events):
            text = _one_line(_event_text(e, f"events[{i}]"))
            if not text.strip():
                raise ValueError(f"events[{i}]: blank JSON text is not an event")
            lines.append(text.encode("utf-8"))
        results: list[Result] = []
        start = 0
        while start < len(lines):
            end, size = start, 0
            while end < len(lines) and end - start < batch_size and (size == 0 or size + len(lines[end]) < 8 << 20):
                size += len(lines[end]) + 1
                end += 1
            body = b"\n".join(lines[start:end]) + b"\n"
            try:
                data = self._call("POST", "/v1/events/batch", body, "application/x-ndjson")
                assert data is not None
                try:
                    answers = [json.loads(line) for line in data.splitlines() if line.strip()]
                except ValueError:
                    raise _bad(f"POST /v1/events/batch: the answer is not JSON Lines: {data[:200]!r}") from None
                if len(answers) != end - start:
                    raise _bad(f"POST /v1/events/batch: {end - start} events sent, {len(answers)} results received")
                results.extend(map(_result, answers))
            except ClientError as e:
                e.results = results
                raise
            start = end
        return results

    # ---- queries ------------------------------------------------------------------------------

    def member(self, member: int, *, min_seq: int | None = None) -> Member | None:
        """A copy of ``member``'s state, or None if no such member, as :meth:`upline.Engine.member`
        returns it: ``referrals`` (members it sponsored directly) and ``benefits`` (the plan in
        force's benefits of its tier) come from the server's member object too."""
        m = _member_id(member)
        q = _seq_query(min_seq)
        if m is None:
            return None
        d = self._get_json(f"/v1/members/{m}{q}", none_if_missing=True)
        return None if d is None else self._value(_member, d, "member")

    def progress(self, member: int, *, min_seq: int | None = None) -> dict[str, Any] | None:
        """``member``'s progress toward the next tier as the server reports it (``{"tier": NEXT,
        "criteria": [{"criterion", "have", "need", "met", …}]}``, decimals as strings), None at
        the top tier or for an unknown member."""
        m = _member_id(member)
        q = _seq_query(min_seq)
        if m is None:
            return None
        d = self._get_json(f"/v1/members/{m}{q}", none_if_missing=True)
        return None if d is None else d.get("progress")

    def rank_card(self, member: int, *, min_seq: int | None = None) -> dict[str, Any] | None:
        """``member``'s rank card (GET /v1/members/{id}/rank-card), or None if no such member: the
        dict :meth:`upline.Engine.rank_card` returns."""
        m = _member_id(member)
        q = _seq_query(min_seq)
        if m is None:
            return None
        d = self._get_json(f"/v1/members/{m}/rank-card{q}", none_if_missing=True)
        if d is not None and not isinstance(d, dict):
            raise _bad(f"GET /v1/members/{m}/rank-card: not a JSON object")
        return d

    def statement(self, member: int, *, from_: object = None, until: object = None, min_seq: int | None = None) -> Statement | None:
        """``member``'s statement over [``from_``, ``until``) (GET /v1/members/{id}/statement), or
        None if no such member by then: the :class:`upline.Statement` :func:`upline.statement`
        returns, computed by the server from its journal (docs/SPEC.md §13). Bounds as there."""
        from .lab import Statement, _time_text

        m = _member_id(member)
        query = [(k, v) for k, v in (("from", _time_text(from_, "from_")), ("until", _time_text(until, "until"))) if v is not None]
        q = _seq_query(min_seq)
        q += ("&" if q else "?") + "&".join(f"{k}={urllib.parse.quote(v, safe='')}" for k, v in query) if query else ""
        if m is None:
            return None
        data = self._call("GET", f"/v1/members/{m}/statement{q}", none_if_missing=True)
        if data is None:
            return None
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        try:
            return Statement._of(text.rstrip("\n"))
        except ValueError:
            raise _bad(f"GET /v1/members/{m}/statement: the answer is not JSON: {text[:200]!r}") from None

    def order(self, order: str, *, min_seq: int | None = None) -> Order | None:
        """The accepted order with this id, or None."""
        _str(order, "order")
        q = _seq_query(min_seq)
        if not order or "\0" in order:
            return None  # no accepted order has such an id
        d = self._get_json(f"/v1/orders/{urllib.parse.quote(order, safe='')}{q}", none_if_missing=True)
        return None if d is None else self._value(_order, d, "order")

    @staticmethod
    def _value(build: Any, d: Any, what: str) -> Any:
        try:
            return build(d)
        except (KeyError, TypeError, ValueError, ArithmeticError) as e:
            raise _bad(f"not a {what} object: {json.dumps(d)[:200]} ({type(e).__name__}: {e})") from None

    def census(self, *, min_seq: int | None = None) -> dict[str, int]:
        """Members per current tier, ``{tier name: count}``, lowest tier first, every tier of the
        plan in force listed (0 for a tier nobody holds), as :meth:`upline.Engine.census`.

        The server has no census endpoint: this reads the **whole state dump** (``GET /v1/dump``:
        one line of some 200 bytes per member, written on the server's sequencer while events
        queue behind it, then parsed here) and then the plan (``GET /v1/plan``). Plans only
        ever append tiers, so a tier appended between the two reads is listed with 0, which is
        also what the dump says. For frequent polling keep a census of your own from the effects
        (``promoted``, ``placed``) instead.
        """
        dump = self.dump(min_seq=min_seq)
        counts: dict[str, int] = {}
        try:
            for m in dump["members"]:
                counts[m["tier"]] = counts.get(m["tier"], 0) + 1
        except (KeyError, TypeError) as e:
            raise _bad(f"GET /v1/dump: not a state dump ({type(e).__name__}: {e})") from None
        tiers = self.tiers
        unknown = set(counts) - set(tiers)
        if unknown:
            raise _bad(f"GET /v1/dump: members hold tiers {sorted(unknown)!r} that the plan in force {list(tiers)!r} lacks")
        return {t: counts.get(t, 0) for t in tiers}

    @property
    def plan(self) -> dict[str, Any]:
        """The plan in force, in canonical form (every default written out): ``GET /v1/plan``, a
        fresh dict on each access, as :attr:`upline.Engine.plan` returns it."""
        d = self._get_json("/v1/plan")
        if not isinstance(d, dict) or not isinstance(d.get("tiers"), list) or not isinstance(d.get("name"), str):
            raise _bad(f"GET /v1/plan: not a plan: {json.dumps(d)[:200]}")
        return d

    @property
    def plan_name(self) -> str:
        """The name of the plan in force."""
        return str(self.plan["name"])

    @property
    def tiers(self) -> tuple[str, ...]:
        """Tier names of the plan in force, lowest first."""
        try:
            return tuple(str(t["name"]) for t in self.plan["tiers"])
        except (KeyError, TypeError) as e:
            raise _bad(f"GET /v1/plan: a tier without a name ({type(e).__name__}: {e})") from None

    @property
    def money_scale(self) -> int:
        """Decimals of money amounts."""
        return int(self.plan["money_scale"])

    @property
    def points_scale(self) -> int:
        """Decimals of points."""
        return int(self.plan["points_scale"])

    def status(self, *, min_seq: int | None = None) -> dict[str, Any]:
        """``GET /v1/status``: ``{"seq", "durable_seq", "applied", "rejected", "members",
        "orders", "clock", "digest"}`` at one instant."""
        d = self._get_json("/v1/status" + _seq_query(min_seq))
        if not isinstance(d, dict) or not all(k in d for k in ("seq", "durable_seq", "applied", "rejected", "members", "orders", "clock", "digest")):
            raise _bad(f"GET /v1/status: unexpected answer {d!r}"[:300])
        return d

    def digest(self, *, min_seq: int | None = None) -> str:
        """SHA-256 of the server's canonical state, 64 hex digits (:meth:`upline.Engine.digest`)."""
        return str(self.status(min_seq=min_seq)["digest"])

    def dump_json(self, *, min_seq: int | None = None) -> str:
        """The state dump as JSON text, byte for byte what ``upline replay --dump`` writes."""
        data = self._call("GET", "/v1/dump" + _seq_query(min_seq))
        assert data is not None
        return data.decode("utf-8")

    def dump(self, *, min_seq: int | None = None) -> dict[str, Any]:
        """The state dump (SPEC §10) as a dict, as :meth:`upline.Engine.dump` returns it."""
        text = self.dump_json(min_seq=min_seq)
        try:
            return json.loads(text)  # type: ignore[no-any-return]
        except ValueError:
            raise _bad(f"GET /v1/dump: the answer is not JSON: {text[:200]!r}") from None

    @property
    def clock(self) -> int:
        """The largest ``at`` of the accepted events (0 before any)."""
        return int(self.status()["clock"])

    @property
    def applied(self) -> int:
        """Number of accepted events."""
        return int(self.status()["applied"])

    @property
    def rejected(self) -> int:
        """Number of rejected events."""
        return int(self.status()["rejected"])

    @property
    def member_count(self) -> int:
        """Number of members."""
        return int(self.status()["members"])

    @property
    def order_count(self) -> int:
        """Number of accepted orders."""
        return int(self.status()["orders"])

    @property
    def last_seq(self) -> int:
        """The sequence number of the last event the server has applied (from any client)."""
        return int(self.status()["seq"])

    @property
    def durable_seq(self) -> int:
        """The last sequence number the server has made durable."""
        return int(self.status()["durable_seq"])
