#!/usr/bin/python3
"""Differential test of `upline statement` against an independent reading of docs/SPEC.md §13.

usage: statement_differential.py UPLINE [--cases N] [--seed S] [--keep DIR] [--verbose]
                                        [--only C] [--jobs J] [--plans DIR]

For each random case: a plan (a bundled example, its scales, thresholds and rates varied), a history
from `upline generate` plus hand-made lines (adjustments of both signs with odd actor/reason strings,
redemptions, partial and whole refunds, suspensions and reactivations, late and jumping `at`s, late
joins, purchases with unusual order ids and amounts, plan events that change ratios, history bands,
accruals, multipliers and rates, rejected lines, blank lines), a data directory made by
`upline apply` (sometimes with snapshots, small segments and an archive), and the effects and dump of
`upline replay`. The statement of SPEC §13 is computed here from the event lines, the effects and
the plans only (never from the implementation), and compared byte for byte with
`upline statement` for random members (the root, late joiners, never-joined ids) and random periods
(no bounds, from == until, bounds at applied times, before the first and after the last event, in
every syntax of §13). Also checked: the errors (unknown member, until < from, malformed times), that
closing = opening + credits − debits, that consecutive periods tile, and that a statement without
bounds ends at the member's balance in the dump, and that statements leave the data directory as it was.
A bound of 19 digits (10^18 .. 2^63-1, an applied time like any other, §4.2) is expected to be
accepted, as §13 says. An empty bound (`--from ''`) is not checked: on the command line an empty
option is an option not given (§13).

Every divergence is printed (case parameters, command, what differs, expected, got) and the exit
status is 1; otherwise the last line is "statement-differential: ok (N cases, M statements)".
"""

import argparse
import concurrent.futures
import copy
import datetime
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
from fractions import Fraction

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
from spec_text import BLANK, fmt_units, run, to_units  # noqa: E402

DAY = 86400000
HERE = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------- numbers (SPEC §2)


def rate_units(text):
    """§2.4: a rate in millionths."""
    return to_units(text, 6)


def fmt_rate(u):
    """§2.6: a rate (millionths) as its shortest exact decimal."""
    s = fmt_units(u, 6)
    if '.' in s:
        s = s.rstrip('0').rstrip('.')
    return s


def round_half_even(q):
    return round(Fraction(q))  # Fraction.__round__ without digits: ties to even


# ---------------------------------------------------------------- strings (SPEC §10.4)

def jstr(s):
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == '\\':
            out.append('\\\\')
        elif ch == '\n':
            out.append('\\n')
        elif ch == '\r':
            out.append('\\r')
        elif ch == '\t':
            out.append('\\t')
        elif ch == '\b':
            out.append('\\b')
        elif ch == '\f':
            out.append('\\f')
        elif o < 0x20:
            out.append('\\u%04x' % o)
        else:
            out.append(ch)
    out.append('"')
    return ''.join(out)


# ---------------------------------------------------------------- plans

def opt(d, key, default):
    """§3.3: null means absent."""
    v = d.get(key)
    return default if v is None else v


def history_multiplier(plan, n):
    """§3.6: the multiplier of the last band whose `orders` <= n; 1 without history."""
    bands = plan.get('history')
    if bands is None:
        return rate_units('1')
    mult = None
    for b in bands:
        if b['orders'] <= n:
            mult = rate_units(b['multiplier'])
    return mult


def tier_index(plan, name):
    for i, t in enumerate(plan['tiers']):
        if t['name'] == name:
            return i
    raise KeyError(name)


# ---------------------------------------------------------------- time bounds (SPEC §13)

def ms_of(y, mo, d, h=0, mi=0, s=0, ms=0):
    dt = datetime.datetime(y, mo, d, h, mi, s, tzinfo=datetime.timezone.utc)
    return int((dt - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)).total_seconds()) * 1000 + ms


def bound_text(rng, v):
    """A random way of writing the time v (ms) that §13 accepts, and the name of the form."""
    forms = ['ms', 'ms', '@', '@']
    dt = datetime.datetime(1970, 1, 1) + datetime.timedelta(milliseconds=v)
    if 1970 <= dt.year <= 9999:
        forms += ['iso.mmm', 'iso.mmm']
        if v % 1000 == 0:
            forms += ['iso', 'iso']
        if v % DAY == 0:
            forms += ['date', 'date', 'date']
    f = rng.choice(forms)
    if f == 'ms':
        s = str(v)
        if rng.random() < 0.15 and len(s) < 18:
            s = '0' * rng.randint(1, 18 - len(s)) + s
        return s, f
    if f == '@':
        return '@' + str(v), f
    if f == 'date':
        return dt.strftime('%Y-%m-%d'), f
    if f == 'iso':
        return dt.strftime('%Y-%m-%dT%H:%M:%SZ'), f
    return dt.strftime('%Y-%m-%dT%H:%M:%S') + '.%03dZ' % (v % 1000), f


BAD_TIMES = [
    'abc', '', 'x1', '-1', '+5', ' 5', '5 ', '1e3', '1.5', '@', '@-1', '@x', '@ 5', '@@5',
    '2026-02-30', '2023-02-29', '1900-02-29', '2026-04-31', '2026-13-01', '2026-00-10', '2026-01-00',
    '2026-1-01', '2026-01-1', '26-01-01', '2026/01/01', '2026-01-01T', '2026-01-01T00:00:00',
    '2026-01-01t00:00:00z', '2026-01-01T00:00:00z', '2026-01-01T00:00:00.5Z', '2026-01-01T00:00:00.50Z',
    '2026-01-01T00:00:00.0000Z', '2026-01-01T24:00:00Z', '2026-01-01T23:60:00Z',
    '2026-01-01T23:59:60Z', '2026-01-01 00:00:00Z', '2026-01-01T00:00Z', '2026-01-01Z',
    '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00.000+01:00', '\uff15', '2026-01-01\n',
]
# '' is left out of the checks (CLI.md: an empty argument means no bound for `dump --until`; §13 says
# "anything else is refused"): the report lists it as an ambiguity.
BAD_TIMES.remove('')


# ---------------------------------------------------------------- running the tool


def replay(upline, plan_path, events_path, work):
    fx = os.path.join(work, 'effects.jsonl')
    dump = os.path.join(work, 'state.json')
    p = run([upline, 'replay', '--plan', plan_path, '--events', events_path, '--effects', fx,
             '--dump', dump])
    if p.returncode != 0:
        raise RuntimeError('replay failed (%d): %s' % (p.returncode, p.stderr.decode()))
    with open(fx, 'rb') as f:
        effects = [json.loads(l) for l in f.read().decode().split('\n') if l]
    with open(dump, 'rb') as f:
        dump_lines = f.read().decode().split('\n')
    head = dump_lines[0]
    members = {}
    if not head.endswith('"members":[]}'):
        for l in dump_lines[1:]:
            if l and l != ']}':
                m = json.loads(l.rstrip(','))
                members[m['id']] = m
    return effects, members


# ---------------------------------------------------------------- the model (SPEC §13)

class Event:
    __slots__ = ('seq', 'ok', 'applied', 'lines', 'joined')

    def __init__(self, seq, ok):
        self.seq = seq
        self.ok = ok
        self.applied = None
        self.lines = {}    # member -> [(type, kind, units, cause text)]
        self.joined = None


def build_model(plan0, lines, effects, problems):
    """Walks the accepted events with their effects; returns the events with, for each, every
    member's statement lines (without seq, at and balance) and the final plan. `problems` collects
    effects that disagree with §6/§7 as read here (a check of this model as much as of the engine)."""
    assert len(lines) == len(effects), (len(lines), len(effects))
    plan = plan0
    ms, ps = opt(plan0, 'money_scale', 2), opt(plan0, 'points_scale', 2)
    clock = 0
    tier = {}
    norders = {}
    orders = {}
    events = []
    for i, (line, fx) in enumerate(zip(lines, effects)):
        seq = i + 1
        assert fx['seq'] == seq, (fx['seq'], seq)
        ev = Event(seq, fx['status'] == 'ok')
        events.append(ev)
        if not ev.ok:
            continue
        e = json.loads(line)
        ev.applied = max(clock, e['at'])
        clock = ev.applied
        t = e['type']
        cause = {}
        P = None
        if t == 'join':
            ev.joined = e['member']
            tier[e['member']] = 0
        elif t == 'purchase':
            buyer, shop = e['member'], e['shop']
            amount = to_units(e['amount'], ms)
            n = norders.get(buyer, 0)
            shop_d = plan['shops'][shop]
            ratio = rate_units(shop_d['ratio'])
            hist = history_multiplier(plan, n)
            accrual = rate_units(opt(plan['tiers'][tier[buyer]], 'accrual', '1'))
            min_basket = to_units(opt(shop_d, 'min_basket', '0'), ms)
            P = 0 if amount < min_basket else round_half_even(
                Fraction(amount * ratio * hist * accrual * 10 ** ps, 10 ** ms * 10 ** 18))
            head = ',"order":%s,"buyer":%d,"shop":%s,"amount":"%s"' % (
                jstr(e['order']), buyer, jstr(shop), fmt_units(amount, ms))
            cause['own'] = head + ',"ratio":"%s","history":"%s","accrual":"%s"' % (
                fmt_rate(ratio), fmt_rate(hist), fmt_rate(accrual))
            cause['upline_head'] = head
            orders[e['order']] = [buyer, amount, 0]
            norders[buyer] = n + 1
        elif t == 'refund':
            o = orders[e['order']]
            amt = to_units(e['amount'], ms) if e.get('amount') is not None else o[1] - o[2]
            o[2] += amt
            cause['clawback'] = ',"order":%s,"buyer":%d,"refunded":"%s"' % (
                jstr(e['order']), o[0], fmt_units(amt, ms))
        elif t == 'redeem':
            cause['redeem'] = ',"ref":%s' % jstr(e['ref'])
        elif t == 'adjust':
            cause['adjust'] = ',"actor":%s,"reason":%s' % (jstr(e['actor']), jstr(e['reason']))
        promoted_here = []
        for f in fx['effects']:
            ft = f['type']
            if ft in ('credit', 'debit'):
                m, kind = f['member'], f['kind']
                pts = to_units(f['points'], ps)
                if kind == 'own':
                    c = cause['own']
                    if pts != P or m != e['member']:
                        problems.append('seq %d: own credit %s to %d, §6 step 2 gives P = %s to %d'
                                        % (seq, f['points'], m, fmt_units(P, ps), e['member']))
                elif kind == 'upline':
                    ti = tier_index(plan, f['tier'])
                    k = f['level']
                    rate = rate_units(plan['tiers'][ti]['rates'][k - 1])
                    mult = rate_units(opt(plan['tiers'][tier[m]], 'upline_multiplier', '1'))
                    c = cause['upline_head'] + ',"tier":%s,"level":%d,"rate":"%s","multiplier":"%s"' % (
                        jstr(plan['tiers'][ti]['name']), k, fmt_rate(rate), fmt_rate(mult))
                    want = round_half_even(Fraction(P * rate * mult, 10 ** 12))
                    if pts != want:
                        problems.append('seq %d: upline credit %s to %d (tier %s level %d), §6 step 4 '
                                        'gives round(%s × %s × %s) = %s'
                                        % (seq, f['points'], m, f['tier'], k, fmt_units(P, ps),
                                           fmt_rate(rate), fmt_rate(mult), fmt_units(want, ps)))
                else:
                    c = cause[kind]
                if m in promoted_here:
                    problems.append('seq %d: a credit or debit after a promotion of %d' % (seq, m))
                ev.lines.setdefault(m, []).append((ft, kind, pts, c))
            elif ft == 'promoted':
                m = f['member']
                if plan['tiers'][tier[m]]['name'] != f['from']:
                    problems.append('seq %d: promoted %d from %s, the model has it at %s'
                                    % (seq, m, f['from'], plan['tiers'][tier[m]]['name']))
                tier[m] = tier_index(plan, f['to']) if t != 'plan' else tier_index(e['plan'], f['to'])
                promoted_here.append(m)
        if t == 'plan':
            plan = e['plan']
            assert (opt(plan, 'money_scale', 2), opt(plan, 'points_scale', 2)) == (ms, ps)
    return events, plan, ms, ps


def expected_statement(events, ps, member, frm, until):
    """§13 from the model: (text, summary) or (None, None) for an unknown member."""
    end = len(events)
    if until is not None:
        for i, ev in enumerate(events):
            if ev.ok and ev.applied >= until:
                end = i
                break
    read = events[:end]
    if not any(ev.joined == member for ev in read):
        return None, None
    balance = 0
    opening = None
    credits = debits = 0
    out = []
    for ev in read:
        if not ev.ok:
            continue
        inside = frm is None or ev.applied >= frm
        if inside and opening is None:
            opening = balance
        for (ft, kind, pts, cause) in ev.lines.get(member, ()):
            if ft == 'credit':
                balance += pts
            else:
                balance -= pts
            if inside:
                if ft == 'credit':
                    credits += pts
                else:
                    debits += pts
                out.append('{"seq":%d,"at":%d,"type":"%s","kind":"%s","points":"%s","balance":"%s"%s}'
                           % (ev.seq, ev.applied, ft, kind, fmt_units(pts, ps),
                              fmt_units(balance, ps), cause))
    if opening is None:
        opening = balance
    text = ('{"member":%d,"from":%s,"until":%s,"through_seq":%d,"opening_balance":"%s","credits":"%s",'
            '"debits":"%s","closing_balance":"%s","lines":[%s]}'
            % (member, 'null' if frm is None else frm, 'null' if until is None else until,
               read[-1].seq if read else 0, fmt_units(opening, ps), fmt_units(credits, ps),
               fmt_units(debits, ps), fmt_units(balance, ps), ','.join(out)))
    return text, {'opening': opening, 'closing': balance}


# ---------------------------------------------------------------- random inputs

ODD_STRINGS = ['support', 'ops "night" shift', 'back\\slash', 'tab\there', 'line\nbreak',
               'cr\rlf', '\x01\x1f ctl', 'bell\x07', '\b\f', 'ünïcødé ✓ 漢字', 'a/b', 'del\x7f',
               '{"json":1}', "'quote'", ' ', 'x' * 100, 'emoji \U0001f600', 'sep\u2028\u2029', 'nul\x00byte']


ODD_SHOP = 'caf\u00e9 "odd"\\shop\t'


def rnd_rate(rng, r, lo=0.3, hi=1.8):
    v = Fraction(r) * Fraction(rng.randint(int(lo * 100), int(hi * 100)), 100)
    u = max(0, min(round(v * 10 ** 6), 1000 * 10 ** 6))
    return odd_rate(rng, fmt_rate(u))


def odd_rate(rng, s):
    """Write a rate as the plan may (leading zeros, trailing zeros): printed back shortest (§2.6)."""
    x = rng.random()
    if x < 0.12:
        return '0' + s
    if x < 0.25:
        return s + ('.000' if '.' not in s else '00')
    return s


def initial_plan(rng, base):
    p = copy.deepcopy(base)
    p['name'] = 'stmt-diff %d' % rng.randint(0, 999)
    p['money_scale'] = rng.choice([2, 2, 2, 0, 1, 3])
    p['points_scale'] = rng.choice([2, 2, 0, 1, 3, 4])
    if rng.random() < 0.3:
        p['compression'] = not p.get('compression', False)
    if rng.random() < 0.2:
        p['refund_window_days'] = rng.choice([None, 0, 1, 7])
    if rng.random() < 0.3:
        p['shops']['main']['ratio'] = rnd_rate(rng, '1', 0.5, 2.5)
    if rng.random() < 0.3:
        p['shops']['outlet']['ratio'] = rnd_rate(rng, '0.5', 0.5, 2.5)
    if rng.random() < 0.2:
        p['history'] = None if rng.random() < 0.5 else [{'orders': 0, 'multiplier': '1'},
                                                        {'orders': 2, 'multiplier': '1.25'},
                                                        {'orders': 3, 'multiplier': '1.333333'}]
    elif rng.random() < 0.3:
        p.pop('history', None)
    div = rng.choice([1, 10, 50, 200])
    for i, t in enumerate(p['tiers']):
        if rng.random() < 0.3:
            t['rates'] = [rnd_rate(rng, r) for r in t['rates']]
        else:
            t['rates'] = [odd_rate(rng, r) for r in t['rates']]
        if i > 0 and rng.random() < 0.3:
            t['accrual'] = rnd_rate(rng, t.get('accrual', '1'), 0.7, 1.5)
        if rng.random() < 0.3:
            t['upline_multiplier'] = rnd_rate(rng, t.get('upline_multiplier', '1'), 0.5, 1.7)
        if rng.random() < 0.15:
            t['fill'] = 'under_sponsor'
        pa = t.get('promote_at')
        if pa and 'lifetime_points' in pa:
            pa['lifetime_points'] = str(int(Fraction(pa['lifetime_points'])) // div)
        if pa and 'direct_referrals' in pa and rng.random() < 0.5:
            pa['direct_referrals']['count'] = rng.randint(1, 2)
    return p


def perturb_plan(rng, base, name):
    """A plan that can be installed over `base` by a plan event (§7.6)."""
    p = copy.deepcopy(base)
    p['name'] = name
    p['version'] = rng.randint(1, 9)
    for shop in p['shops'].values():
        if rng.random() < 0.6:
            shop['ratio'] = rnd_rate(rng, shop['ratio'])
        if rng.random() < 0.3:
            shop['min_basket'] = rng.choice(['0', '10', '25', '35', None])
    if rng.random() < 0.3:
        p['shops']['extra'] = {'ratio': odd_rate(rng, '2')}
    if rng.random() < 0.3:
        p['shops'][ODD_SHOP] = {'ratio': odd_rate(rng, '1.5')}
    x = rng.random()
    if x < 0.4 and p.get('history'):
        for band in p['history']:
            band['multiplier'] = rnd_rate(rng, band['multiplier'], 0.8, 1.3)
    elif x < 0.55:
        p['history'] = [{'orders': 0, 'multiplier': '1'}, {'orders': rng.randint(1, 3), 'multiplier': '1.5'},
                        {'orders': rng.randint(4, 9), 'multiplier': '2.000000'}]
    elif x < 0.65:
        p['history'] = None
    if rng.random() < 0.3:
        p['compression'] = not p.get('compression', False)
    if rng.random() < 0.3:
        p['refund_window_days'] = rng.choice([None, 0, 3, 60])
    for t in p['tiers']:
        if rng.random() < 0.7:
            t['rates'] = [rnd_rate(rng, r) for r in t['rates']]
        if rng.random() < 0.2:
            if rng.random() < 0.5 and t['rates']:
                t['rates'] = t['rates'][:rng.randint(0, len(t['rates']))]
            else:
                t['rates'] = t['rates'] + [rng.choice(['0.01', '0.005', '0.1', '1.5'])
                                           for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.3:
            t['accrual'] = rnd_rate(rng, opt(t, 'accrual', '1'), 0.8, 1.4)
        if rng.random() < 0.3:
            t['upline_multiplier'] = rnd_rate(rng, opt(t, 'upline_multiplier', '1'), 0.5, 1.5)
        pa = t.get('promote_at')
        if pa and 'lifetime_points' in pa and rng.random() < 0.5:
            pa['lifetime_points'] = str(int(Fraction(pa['lifetime_points'])) // rng.choice([1, 2, 5, 20]))
    names = [t['name'] for t in p['tiers']]
    if rng.random() < 0.25 and 'diamond' not in names:
        p['tiers'].append({'name': 'diamond', 'width': 2, 'accrual': '1.4', 'upline_multiplier': '2.5',
                           'rates': ['0.05', '0.01'],
                           'promote_at': {'lifetime_points': str(rng.choice([10, 100, 1000])),
                                          'direct_referrals': {'count': 1, 'min_tier': names[-1]}}})
    if rng.random() < 0.3:
        p['rewards'] = [{'id': 'b-%d' % i, 'lifetime_points': str(rng.choice([0, 50, 300]))}
                        for i in range(rng.randint(0, 3))]
    return p


def make_history(rng, upline, work, plan, plan_path):
    members = rng.randint(8, 120)
    purchases = rng.randint(30, 500)
    gseed = rng.randint(0, 2 ** 63)
    step = rng.choice([1, 1000, 60000, 3600000, DAY, rng.randint(1, DAY)])
    start = rng.choice([1767225600000, 1767225600000 + rng.randint(0, 400) * DAY + rng.randint(0, DAY - 1),
                        rng.randint(0, 10 ** 6)])
    refund = rng.choice([0, 50, 200, 400])
    redeem = rng.choice([0, 50, 200, 600])
    inter = rng.random() < 0.6
    gen = [upline, 'generate', '--members', str(members), '--purchases', str(purchases),
           '--seed', str(gseed), '--step', str(step), '--refund-per-mille', str(refund),
           '--redeem-per-mille', str(redeem), '--start', str(start), '--plan', plan_path]
    if inter:
        gen.append('--interleave')
    p = run(gen)
    if p.returncode != 0:
        raise RuntimeError('generate failed: %s' % p.stderr.decode())
    lines = [l for l in p.stdout.decode().split('\n') if l]
    params = {'members': members, 'purchases': purchases, 'gen_seed': gseed, 'step': step,
              'start': start, 'refund_pm': refund, 'redeem_pm': redeem, 'interleave': inter}
    ms, ps = opt(plan, 'money_scale', 2), opt(plan, 'points_scale', 2)
    ids = [json.loads(l)['member'] for l in lines if '"join"' in l]
    order_ids = [json.loads(l)['order'] for l in lines if '"purchase"' in l]
    ats = [json.loads(l)['at'] for l in lines]
    n_extra = rng.randint(0, 40)
    blank_ok = rng.random() < 0.5
    inserts = []
    kinds = []
    late_ids = []
    cur_plan = plan
    for k in range(n_extra):
        pos = rng.randint(0, len(lines))
        near = ats[min(pos, len(lines) - 1)]
        kind = rng.choice(['adj+', 'adj+', 'adj-', 'adj-', 'plan', 'plan', 'junk', 'junk', 'blank',
                           'suspend', 'suspend', 'reactivate', 'reactivate', 'late', 'jump', 'refund',
                           'refund', 'refundall', 'buy', 'buy', 'redeem', 'redeem', 'join', 'join'])
        if kind == 'blank' and not blank_ok:
            kind = 'junk'
        m = rng.choice(ids + late_ids)
        pts = lambda lo, hi: fmt_units(rng.randint(lo, hi), ps)  # noqa: E731
        if kind == 'adj+':
            line = json.dumps({'type': 'adjust', 'member': m, 'points': pts(1, 50 * 10 ** ps),
                               'actor': rng.choice(ODD_STRINGS), 'reason': rng.choice(ODD_STRINGS),
                               'at': near}, ensure_ascii=rng.random() < 0.5)
        elif kind == 'adj-':
            line = json.dumps({'type': 'adjust', 'member': m, 'points': '-' + pts(1, 80 * 10 ** ps),
                               'actor': rng.choice(ODD_STRINGS), 'reason': rng.choice(ODD_STRINGS),
                               'at': near}, ensure_ascii=rng.random() < 0.5)
        elif kind == 'plan':
            cur_plan = perturb_plan(rng, cur_plan, 'history plan %d' % k)
            line = json.dumps({'type': 'plan', 'plan': cur_plan, 'actor': 'ops', 'at': near})
        elif kind == 'junk':
            line = rng.choice([
                'not json at all',
                '[1,2,3]',
                '{"type":"teleport","at":1}',
                '{"type":"purchase","order":"j-x","member":%d,"shop":"main","amount":100,"at":%d}' % (m, near),
                '{"type":"purchase","order":"j-y%d","member":%d,"shop":"nowhere","amount":"5","at":%d}' % (k, m, near),
                '{"type":"adjust","member":%d,"points":"0","actor":"x","reason":"y","at":%d}' % (m, near),
                '{"type":"join","member":%d,"sponsor":%d,"at":%d}' % (m, ids[0], near),
                '{"type":"refund","order":"nope","at":%d}' % near,
                '{"type":"redeem","member":%d,"points":"99999999","ref":"big","at":%d}' % (m, near),
                '{"type":"plan","plan":{"name":"bad"},"actor":"ops","at":%d}' % near,
                '{"type":"adjust","member":%d,"points":"1","actor":"x","reason":"y","at":%d}' % (m, 2 ** 63),
                '{"type":"adjust","member":4,"points":"1","actor":"x","reason":"y","at":%d}' % near,
            ])
        elif kind == 'blank':
            line = rng.choice(['', '   ', '\t', ' \r', '\f', '\v'])
        elif kind == 'suspend':
            line = json.dumps({'type': 'suspend', 'member': m, 'at': near})
        elif kind == 'reactivate':
            line = json.dumps({'type': 'reactivate', 'member': m, 'at': near})
        elif kind == 'late':
            line = json.dumps({'type': 'adjust', 'member': m, 'points': pts(1, 5 * 10 ** ps),
                               'actor': 'a', 'reason': 'late', 'at': rng.randint(0, max(near - 1, 0))})
        elif kind == 'jump':
            line = json.dumps({'type': 'suspend', 'member': m,
                               'at': near + rng.choice([1, 1000, DAY, rng.randint(1, 45) * DAY])})
        elif kind == 'refund':
            o = rng.choice(order_ids) if order_ids else 'none'
            amt = fmt_units(rng.randint(1, 30 * 10 ** ms), ms)
            if rng.random() < 0.3:
                amt = '0' + amt + ('00' if '.' in amt else '.0')
            line = json.dumps({'type': 'refund', 'order': o, 'amount': amt, 'at': near})
        elif kind == 'refundall':
            o = rng.choice(order_ids) if order_ids else 'none'
            ev = {'type': 'refund', 'order': o, 'at': near}
            if rng.random() < 0.4:
                ev['amount'] = None
            line = json.dumps(ev)
        elif kind == 'redeem':
            line = json.dumps({'type': 'redeem', 'member': m, 'points': pts(1, 20 * 10 ** ps),
                               'ref': rng.choice(['h-r%d' % k, 'ref "%d"\\' % k, 'réf\t%d' % k]), 'at': near},
                              ensure_ascii=rng.random() < 0.5)
        elif kind == 'join':
            new = 9000000 + k
            line = json.dumps({'type': 'join', 'member': new, 'sponsor': m, 'at': near})
            late_ids.append(new)
        else:
            oid = rng.choice(['h-%d' % k, 'h "q" %d' % k, 'h\\%d\n' % k, 'ħ-%d' % k])
            amt = fmt_units(rng.randint(1, 900 * 10 ** ms), ms)
            if rng.random() < 0.3:
                amt = '00' + amt + ('0' if '.' in amt else '.000')
            line = json.dumps({'type': 'purchase', 'order': oid, 'member': m,
                               'shop': rng.choice(['main', 'main', 'outlet', 'extra', ODD_SHOP]),
                               'amount': amt, 'at': near}, ensure_ascii=rng.random() < 0.5)
            order_ids.append(oid)
        inserts.append((pos, k, line))
        kinds.append(kind)
    inserts.sort(key=lambda x: (x[0], x[1]))
    merged = []
    j = 0
    for i in range(len(lines) + 1):
        while j < len(inserts) and inserts[j][0] == i:
            merged.append(inserts[j][2])
            j += 1
        if i < len(lines):
            merged.append(lines[i])
    # purchases by late joiners after they joined, so that they have lines
    for new in late_ids:
        idx = next((i for i, l in enumerate(merged) if '"member": %d,' % new in l and '"join"' in l), None)
        if idx is not None and rng.random() < 0.7:
            pos = rng.randint(idx + 1, len(merged))
            at = json.loads(merged[pos - 1])['at'] if not BLANK.match(merged[pos - 1]) and merged[pos - 1].startswith('{"type"') else 0
            merged.insert(pos, json.dumps({'type': 'purchase', 'order': 'late-%d' % new, 'member': new,
                                           'shop': 'main', 'amount': fmt_units(rng.randint(1, 500 * 10 ** ms), ms),
                                           'at': at}))
    params['extra'] = kinds
    params['blank_lines'] = blank_ok
    path = os.path.join(work, 'events.jsonl')
    with open(path, 'w', encoding='utf-8', newline='') as f:
        f.write(''.join(l + '\n' for l in merged))
    return path, merged, params, ids, late_ids


# ---------------------------------------------------------------- comparing

def first_difference(exp, got):
    """A short description of where two statement texts differ."""
    try:
        e, g = json.loads(exp), json.loads(got)
    except ValueError:
        e = g = None
    if isinstance(e, dict) and isinstance(g, dict):
        if list(e) != list(g):
            return 'keys', list(e), list(g)
        for k in e:
            if k == 'lines':
                continue
            if e[k] != g[k]:
                return k, e[k], g[k]
        el, gl = e['lines'], g['lines']
        for i in range(max(len(el), len(gl))):
            a = el[i] if i < len(el) else None
            b = gl[i] if i < len(gl) else None
            if a != b or (a is not None and b is not None and list(a) != list(b)):
                return 'lines[%d] (of %d expected, %d got)' % (i, len(el), len(gl)), a, b
    for i, (a, b) in enumerate(zip(exp, got)):
        if a != b:
            return 'text at byte %d' % i, exp[max(0, i - 60):i + 100], got[max(0, i - 60):i + 100]
    return 'text length', len(exp), len(got)


def short(v, n=600):
    s = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
    return s if len(s) <= n else s[:n - 3] + '...'


# ---------------------------------------------------------------- one case

class Case:
    def __init__(self, upline, data, archive, events, ps, params):
        self.upline = upline
        self.data = data
        self.archive = archive
        self.events = events
        self.ps = ps
        self.params = params
        self.divs = []
        self.statements = 0
        self.seen = {}
        self.snapshots = False

    def cover(self, exp, member, frm, until):
        """What a statement exercised (counted in the summary)."""
        f = set()
        for kind in ('own', 'upline', 'clawback', 'redeem', 'adjust'):
            if '"kind":"%s"' % kind in exp:
                f.add('line-' + kind)
        if '"type":"debit","kind":"adjust"' in exp:
            f.add('adjust-debit')
        for key in ('ratio', 'history', 'accrual', 'multiplier'):
            if re.search('"%s":"(?!1")' % key, exp):
                f.add(key + '!=1')
        if re.search('"tier":"(?!bronze")', exp):
            f.add('upline-above-tier-0')
        if re.search(r'"(actor|reason|ref|order|shop)":"[^"]*\\', exp):
            f.add('escaped-string')
        if '"shop":"caf' in exp:
            f.add('odd-shop')
        if re.search(r'"(actor|reason|ref|order|shop)":"[^"]*[^\x00-\x7f]', exp):
            f.add('non-ascii-string')
        if '"lines":[]' in exp:
            f.add('no-lines')
        if '"opening_balance":"-' in exp or '"closing_balance":"-' in exp:
            f.add('negative-balance')
        if frm is not None and until is not None and frm == until:
            f.add('from==until')
        if frm is not None and '"opening_balance":"%s"' % fmt_units(0, self.ps) not in exp:
            f.add('nonzero-opening')
        if self.snapshots and frm is not None:
            f.add('from-with-snapshots')
        if self.archive:
            f.add('archive')
        for x in f:
            self.seen[x] = self.seen.get(x, 0) + 1

    def cmd(self, member, frm_text, until_text):
        c = [self.upline, 'statement', '--data', self.data, '--member', str(member)]
        if frm_text is not None:
            c += ['--from', frm_text]
        if until_text is not None:
            c += ['--until', until_text]
        if self.archive:
            c += ['--archive', self.archive]
        return c

    def div(self, cmd, what, exp, got):
        self.divs.append((' '.join(shlex_quote(x) for x in cmd), what, exp, got))

    def statement(self, member, frm, until, frm_text=None, until_text=None):
        """Runs and checks one statement; returns the parsed JSON (or None)."""
        c = self.cmd(member, frm_text, until_text)
        self.statements += 1
        p = run(c)
        exp, summ = expected_statement(self.events, self.ps, member, frm, until)
        err = p.stderr.decode('utf-8', 'replace')
        if exp is None:
            self.seen['unknown-member'] = self.seen.get('unknown-member', 0) + 1
            want = 'upline statement: --member: member %d is unknown\n' % member
            if p.returncode != 2 or err != want or p.stdout:
                self.div(c, 'unknown member', 'exit 2, stderr %r, no stdout' % want,
                         'exit %d, stderr %r, stdout %r' % (p.returncode, err, p.stdout[:300]))
            return None
        if p.returncode != 0:
            self.div(c, 'exit status', 0, '%d: %s' % (p.returncode, err.strip()))
            return None
        text = p.stdout.decode('utf-8', 'replace')
        if not text.endswith('\n') or text.count('\n') != 1:
            self.div(c, 'layout', 'one line ending with LF', repr(text[-80:]))
        text = text.rstrip('\n')
        if err:
            self.div(c, 'stderr', '', err)
        self.cover(exp, member, frm, until)
        if text != exp:
            where, e, g = first_difference(exp, text)
            self.div(c, where, e, g)
        try:
            got = json.loads(text)
        except ValueError:
            return None
        # §13: closing = opening + credits − debits, on what the command printed
        try:
            o, cr, db, cl = (to_units(got[k], self.ps) for k in
                             ('opening_balance', 'credits', 'debits', 'closing_balance'))
            if cl != o + cr - db:
                self.div(c, 'invariant closing = opening + credits - debits',
                         fmt_units(o + cr - db, self.ps), got['closing_balance'])
            run_bal = o
            for ln in got['lines']:
                run_bal += to_units(ln['points'], self.ps) * (1 if ln['type'] == 'credit' else -1)
                if to_units(ln['balance'], self.ps) != run_bal:
                    self.div(c, 'invariant: line balance = previous + points (seq %d)' % ln['seq'],
                             fmt_units(run_bal, self.ps), ln['balance'])
                    break
        except (KeyError, ValueError, TypeError) as ex:
            self.div(c, 'statement fields', 'the keys of §13', repr(ex))
        return got

    def error(self, member, frm_text, until_text, field, fragment):
        c = self.cmd(member, frm_text, until_text)
        self.statements += 1
        p = run(c)
        err = p.stderr.decode('utf-8', 'replace')
        if p.returncode != 2 or p.stdout or not err.startswith('upline statement: --%s: ' % field) \
                or fragment not in err or err.count('\n') != 1:
            self.div(c, 'error for --%s' % field,
                     'exit 2, one stderr line "upline statement: --%s: ...%s..."' % (field, fragment),
                     'exit %d, stderr %r, stdout %r' % (p.returncode, err, p.stdout[:200]))


def shlex_quote(s):
    import shlex
    return shlex.quote(s)


def dir_digest(path):
    import hashlib
    out = {}
    for name in sorted(os.listdir(path)):
        full = os.path.join(path, name)
        if name != 'LOCK' and os.path.isfile(full):
            with open(full, 'rb') as f:
                out[name] = hashlib.sha256(f.read()).hexdigest()[:16]
    return out


def one_case(upline, plans_dir, seed, case_no, work):
    rng = random.Random('%d/%d' % (seed, case_no))
    base_name = rng.choice(['four-tier', 'deep'])
    with open(os.path.join(plans_dir, base_name + '.json')) as f:
        base = json.load(f)
    plan = initial_plan(rng, base)
    plan_path = os.path.join(work, 'plan.json')
    with open(plan_path, 'w') as f:
        json.dump(plan, f, indent=rng.choice([None, 1]))
    events_path, raw, params, ids, late_ids = make_history(rng, upline, work, plan, plan_path)
    lines = [l for l in raw if not BLANK.match(l)]
    params.update({'plan': base_name, 'money_scale': plan['money_scale'],
                   'points_scale': plan['points_scale'], 'events': len(lines)})

    effects, dump = replay(upline, plan_path, events_path, work)
    problems = []
    events, final_plan, ms, ps = build_model(plan, lines, effects, problems)

    # the data directory
    data = os.path.join(work, 'data')
    aopts = []
    want_archive = rng.random() < 0.2
    snap = want_archive or rng.random() < 0.5
    if snap:
        aopts += ['--snapshot-every', str(rng.choice([1, 2, 5, 17, 60, max(1, len(lines) // 3)]))]
    if want_archive or rng.random() < 0.3:
        aopts += ['--segment-bytes', str(rng.choice([4096, 5000, 10000]))]
    params['apply'] = ' '.join(aopts)
    # apply in one go, or in several runs (the directory reopened, recovery from a snapshot), with
    # `upline snapshot` between runs (background snapshots by count are skipped while one is made)
    n_cuts = rng.choice([0, 0, 1, 2, 4]) if not want_archive else rng.choice([2, 4])
    cuts = sorted(rng.sample(range(1, len(raw)), min(len(raw) - 1, n_cuts))) if len(raw) > 1 else []
    acks = []
    prev = 0
    snapshot_runs = 0
    for cut in cuts + [len(raw)]:
        if prev and (want_archive or rng.random() < 0.6):
            q = run([upline, 'snapshot', '--data', data])
            if q.returncode != 0:
                raise RuntimeError('snapshot failed (%d): %s' % (q.returncode, q.stderr.decode()))
            snap = True
            snapshot_runs += 1
        part = os.path.join(work, 'part.jsonl')
        with open(part, 'w', encoding='utf-8', newline='') as f:
            f.write(''.join(l + '\n' for l in raw[prev:cut]))
        prev = cut
        q = run([upline, 'apply', '--data', data, '--plan', plan_path, '--events', part, '--sync', 'none'] + aopts)
        if q.returncode != 0:
            raise RuntimeError('apply failed (%d): %s' % (q.returncode, q.stderr.decode()))
        acks += [json.loads(l) for l in q.stdout.decode().split('\n') if l]
    params['apply_runs'] = len(cuts) + 1
    params['snapshot_runs'] = snapshot_runs
    case = Case(upline, data, None, events, ps, params)
    case.snapshots = snap
    want_acks = [{'seq': i + 1, 'status': fx['status']} for i, fx in enumerate(effects)]
    if acks != want_acks:
        case.div(['upline', 'apply'], 'acknowledgements (seq numbering)', short(want_acks[:5]), short(acks[:5]))
    for pr in problems[:5]:
        case.div(['upline', 'replay'], 'effects vs SPEC §6 as read here', '', pr)
    if want_archive:
        arch = os.path.join(work, 'archive')
        q = run([upline, 'archive', '--data', data, '--to', arch])
        if q.returncode != 0:
            case.div(['upline', 'archive'], 'exit status', 0, q.stderr.decode())
        elif os.path.isdir(arch) and os.listdir(arch):  # nothing to archive: no directory
            case.archive = arch
            params['archive'] = sorted(os.listdir(arch))[:3]

    before = dir_digest(data)
    acc = [ev for ev in events if ev.ok]
    times = sorted(set(ev.applied for ev in acc)) or [0]
    root = ids[0] if ids else 1
    known = [ev.joined for ev in acc if ev.joined is not None]

    def rand_time():
        x = rng.random()
        if x < 0.45:
            return rng.choice(times)
        if x < 0.6:
            return max(0, rng.choice(times) + rng.choice([-1, 1]))
        if x < 0.7:
            return max(0, times[0] - rng.randint(1, 10 ** 7))
        if x < 0.8:
            return times[-1] + rng.randint(1, 10 ** 7)
        if x < 0.9:
            return rng.randint(times[0], times[-1])
        v = rng.choice(times)
        return v - v % DAY + rng.choice([0, DAY])  # a midnight

    def rand_member():
        x = rng.random()
        if x < 0.15:
            return root
        if x < 0.25 and late_ids:
            return rng.choice(late_ids)
        if x < 0.33:
            return rng.choice([4, 999, 123456789, 9223372036854775807, 9000000 + rng.randint(0, 60)])
        return rng.choice(known) if known else root

    def txt(v):
        if v is None:
            return None
        return bound_text(rng, v)[0]

    # the whole history, against the dump (§10.4)
    for m in [root] + rng.sample(known, min(4, len(known))):
        got = case.statement(m, None, None)
        if got is not None and m in dump and got.get('closing_balance') != dump[m]['balance']:
            case.div(case.cmd(m, None, None), 'closing balance vs the dump', dump[m]['balance'],
                     got.get('closing_balance'))
        if got is not None and got.get('through_seq') != len(lines):
            case.div(case.cmd(m, None, None), 'through_seq without bounds', len(lines), got.get('through_seq'))
    # random statements
    for _ in range(rng.randint(10, 22)):
        m = rand_member()
        x = rng.random()
        if x < 0.15:
            frm, until = rand_time(), None
        elif x < 0.3:
            frm, until = None, rand_time()
        elif x < 0.4:
            frm = until = rand_time()
        else:
            a, b = rand_time(), rand_time()
            frm, until = min(a, b), max(a, b)
        case.statement(m, frm, until, txt(frm), txt(until))
    # tiling: [a,b) + [b,c) = [a,c)
    for _ in range(rng.randint(1, 3)):
        m = rand_member()
        pts = sorted(rand_time() for _ in range(3))
        a = None if rng.random() < 0.2 else pts[0]
        b = pts[1]
        c = None if rng.random() < 0.2 else pts[2]
        s1 = case.statement(m, a, b, txt(a), txt(b))
        s2 = case.statement(m, b, c, txt(b), txt(c))
        s3 = case.statement(m, a, c, txt(a), txt(c))
        if s1 is not None and s2 is not None and s3 is not None:
            cmd = case.cmd(m, txt(a), txt(c))
            if s1['lines'] + s2['lines'] != s3['lines']:
                case.div(cmd, 'tiling: lines of [a,b) + [b,c) != lines of [a,c) (b=%d)' % b,
                         len(s3['lines']), len(s1['lines']) + len(s2['lines']))
            if s1['closing_balance'] != s2['opening_balance'] or s1['opening_balance'] != s3['opening_balance'] \
                    or s2['closing_balance'] != s3['closing_balance']:
                case.div(cmd, 'tiling: balances (b=%d)' % b,
                         [s3['opening_balance'], s3['closing_balance']],
                         [s1['opening_balance'], s1['closing_balance'], s2['opening_balance'],
                          s2['closing_balance']])
    # every applied time as a bound (snapshot and batch boundaries), for one member
    if rng.random() < 0.3 and known:
        m = rng.choice(known)
        for v in rng.sample(times, min(6, len(times))):
            case.statement(m, v, None, txt(v), None)
            case.statement(m, None, v, None, txt(v))
    # after `upline archive`, a period that starts after the newest snapshot's clock needs no archive
    # (§13: the state before `from` is rebuilt from the newest snapshot whose clock is before it)
    if case.archive:
        snaps = sorted(int(n[9:29]) for n in os.listdir(data) if re.match(r'^snapshot-[0-9]{20}\.snap$', n))
        if snaps:
            clock = max([ev.applied for ev in acc if ev.seq <= snaps[-1]] or [0])
            later = [t for t in times if t > clock]
            keep, case.archive = case.archive, None
            for _ in range(rng.randint(1, 3)):
                m = rand_member()
                frm = rng.choice(later + [clock + 1])
                until = rng.choice([None, max(frm, rand_time())])
                case.statement(m, frm, until, txt(frm), txt(until))
                case.seen['archived-without-archive'] = case.seen.get('archived-without-archive', 0) + 1
            case.archive = keep
    # §13: a statement changes nothing
    after = dir_digest(data)
    if after != before:
        case.div(['upline', 'statement', '--data', data], 'the data directory changed',
                 sorted(before.items()), sorted(after.items()))
    # errors
    m = rng.choice(known) if known else root
    hi = rand_time() + 1
    lo = rng.randint(0, hi - 1)
    case.error(m, txt(hi), txt(lo), 'until', '%d is before from (%d)' % (lo, hi))
    # §13: a bound is "milliseconds since the epoch"; applied times go up to 2^63-1 (§4.2), so a bound
    # of 19 digits is a time like any other (an event at 10^18 or later could not be cut otherwise)
    if rng.random() < 0.2:
        big = rng.choice([10 ** 18, 2 ** 63 - 1, 10 ** 18 + rng.randint(0, 10 ** 17)])
        form = rng.choice(['ms', '@'])
        t = ('@' if form == '@' else '') + str(big)
        if rng.random() < 0.5:
            case.statement(m, big, None, t, None)
        else:
            case.statement(m, None, big, None, t)
    for _ in range(2):
        bad = rng.choice(BAD_TIMES)
        field = rng.choice(['from', 'until'])
        c_from = bad if field == 'from' else (txt(rand_time()) if rng.random() < 0.5 else None)
        c_until = bad if field == 'until' else None
        case.error(m, c_from, c_until, field, '"%s"' % bad if '\n' not in bad else '"2026-01-01')
    return case


def run_case(upline, plans_dir, seed, c, keep):
    if keep:
        work = os.path.join(keep, 'case-%d' % c)
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
    else:
        work = tempfile.mkdtemp(prefix='stmt-diff-')
    t0 = time.time()
    try:
        case = one_case(upline, plans_dir, seed, c, work)
        return c, case.params, case.divs, case.statements, time.time() - t0, None, case.seen
    except Exception:  # noqa: BLE001 - reported as a divergence of the case
        import traceback
        return c, {}, [], 0, time.time() - t0, traceback.format_exc(), {}
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('upline')
    ap.add_argument('--cases', type=int, default=24)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--keep', default=None, help="keep each case's files under this directory")
    ap.add_argument('--only', type=int, default=None, help='run only case C (0-based) of the seed')
    ap.add_argument('--jobs', type=int, default=min(4, os.cpu_count() or 1))
    ap.add_argument('--plans', default=os.path.join(HERE, '..', '..', 'examples', 'plans'),
                    help='the directory of four-tier.json and deep.json')
    ap.add_argument('--verbose', action='store_true')
    args = ap.parse_args()
    upline = os.path.abspath(args.upline)
    plans_dir = os.path.abspath(args.plans)
    print('statement-differential: seed %d, %d cases' % (args.seed, args.cases), flush=True)
    todo = [c for c in range(args.cases) if args.only is None or c == args.only]
    t0 = time.time()
    bad = 0
    total = 0
    covered = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futs = [pool.submit(run_case, upline, plans_dir, args.seed, c, args.keep) for c in todo]
        for fut in futs:
            c, params, divs, n, wall, crash, seen = fut.result()
            total += n
            for k, v in seen.items():
                covered[k] = covered.get(k, 0) + v
            desc = 'case %d (--seed %d --only %d): %s' % (c, args.seed, c, json.dumps(params))
            if crash:
                bad += 1
                print('ERROR in case %d (--seed %d --only %d):\n%s' % (c, args.seed, c, crash))
            elif divs:
                bad += 1
                print('DIVERGENCE in ' + desc)
                for cmd, what, e, g in divs:
                    print('  $ %s\n  %s\n    expected: %s\n    got:      %s' % (cmd, what, short(e), short(g)))
            elif args.verbose:
                print('ok %s [%d statements, %.2fs]' % (desc, n, wall))
            sys.stdout.flush()
    took = time.time() - t0
    ran = len(todo)
    print('statement-differential: covered (statements) ' + ', '.join('%s %d' % kv for kv in sorted(covered.items())))
    if bad:
        print('statement-differential: FAILED (%d of %d cases diverged, %d statements, %.1fs)'
              % (bad, ran, total, took))
        return 1
    print('statement-differential: %.1fs' % took)
    print('statement-differential: ok (%d cases, %d statements)' % (ran, total))
    return 0


if __name__ == '__main__':
    sys.exit(main())
