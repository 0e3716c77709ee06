#!/usr/bin/python3
"""Differential test of `upline whatif` against an independent reading of docs/LAB.md.

usage: whatif_differential.py UPLINE PLANS_DIR [--cases N] [--seed S] [--keep DIR] [--verbose]

For each random case: a history from `upline generate` (plus hand-made lines: adjustments, a plan
event, suspensions, blank lines, junk), plan a (a bundled plan file) and a random plan b; then
`upline whatif` is run and its report compared, field by field and key order included, with a report
computed here from `upline replay --effects --dump` of each side (SPEC §9, §10) and the event lines,
by the rules of LAB.md only. Twice per run the `--data` form is compared byte for byte with the
`--events` form.

The last line is "whatif-differential: ok (N cases)" and the exit status 0 when everything matched;
every divergence is printed (case parameters, field path, expected, got) and the exit status is 1.
"""

import argparse
import copy
import datetime
import json
import os
import random
import shutil
import sys
import tempfile
import time
from fractions import Fraction

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
from spec_text import BLANK, fmt_units, run, to_units  # noqa: E402


# ---------------------------------------------------------------- numbers

def ratio(points_units, pscale, money_units, mscale):
    """LAB.md: points per money unit, exact, rounded once half to even to 6 places; None if the
    divisor is not positive."""
    if money_units <= 0:
        return None
    q = Fraction(points_units * 10 ** mscale, money_units * 10 ** pscale)
    r = round(q * 10 ** 6)  # Fraction.__round__: half to even; symmetric for negatives
    return fmt_units(r, 6)


# ---------------------------------------------------------------- periods

DAY = 86400000


def period_of(ms, kind):
    days = ms // DAY
    d = datetime.date(1970, 1, 1) + datetime.timedelta(days=days)
    if kind == 'day':
        return d.isoformat(), days * DAY
    if kind == 'week':
        monday = days - d.weekday()
        md = datetime.date(1970, 1, 1) + datetime.timedelta(days=monday)
        return md.isoformat(), monday * DAY
    first = datetime.date(d.year, d.month, 1)
    return '%04d-%02d' % (d.year, d.month), (first - datetime.date(1970, 1, 1)).days * DAY


# ---------------------------------------------------------------- running the tool


def replay(upline, plan_path, events_path, work, tag):
    fx = os.path.join(work, tag + '.effects.jsonl')
    dump = os.path.join(work, tag + '.state.json')
    p = run([upline, 'replay', '--plan', plan_path, '--events', events_path,
             '--effects', fx, '--dump', dump])
    if p.returncode != 0:
        raise RuntimeError('replay %s failed (%d): %s' % (tag, p.returncode, p.stderr.decode()))
    with open(fx, 'rb') as f:
        effects = [json.loads(l) for l in f.read().decode().split('\n') if l]
    with open(dump, 'rb') as f:
        dump_lines = f.read().decode().split('\n')
    head = dump_lines[0]
    if head.endswith('"members":[]}'):
        top = json.loads(head)
        members = []
    else:
        top = json.loads(head + ']}')
        members = [json.loads(l.rstrip(',')) for l in dump_lines[1:] if l and l != ']}']
    return effects, top, members


# ---------------------------------------------------------------- the expected report

def side_report(plan0, lines, effects, top, members, period_kind):
    """One SIDE of the report from the side's event lines (non-blank, in order, as applied), the
    effects of its replay and its dump."""
    assert len(lines) == len(effects), (len(lines), len(effects))
    plan = plan0
    ms, ps = plan.get('money_scale', 2), plan.get('points_scale', 2)
    clock = 0
    own = 0
    upline = {}
    adj_in = claw = redeem = adj_out = 0
    purchased = refunded = 0
    promotions = {}
    orders = {}  # order id -> [amount units, refunded units]
    periods = []  # [label, start, purchased, refunded, paid, clawed]
    for line, fx in zip(lines, effects):
        if fx['status'] != 'ok':
            continue
        ev = json.loads(line)
        at = max(clock, ev['at'])
        clock = at
        label, start = period_of(at, period_kind)
        if not periods or periods[-1][0] != label:
            assert not periods or periods[-1][1] < start
            periods.append([label, start, 0, 0, 0, 0])
        per = periods[-1]
        t = ev['type']
        if t == 'purchase':
            a = to_units(ev['amount'], ms)
            orders[ev['order']] = [a, 0]
            purchased += a
            per[2] += a
        elif t == 'refund':
            o = orders[ev['order']]
            a = to_units(ev['amount'], ms) if ev.get('amount') is not None else o[0] - o[1]
            o[1] += a
            refunded += a
            per[3] += a
        elif t == 'plan':
            plan = ev['plan']
        for e in fx['effects']:
            et = e['type']
            if et == 'credit':
                p = to_units(e['points'], ps)
                if e['kind'] == 'own':
                    own += p
                    per[4] += p
                elif e['kind'] == 'upline':
                    upline[e['tier']] = upline.get(e['tier'], 0) + p
                    per[4] += p
                elif e['kind'] == 'adjust':
                    adj_in += p
                else:
                    raise AssertionError(e)
            elif et == 'debit':
                p = to_units(e['points'], ps)
                if e['kind'] == 'clawback':
                    claw += p
                    per[5] += p
                elif e['kind'] == 'redeem':
                    redeem += p
                elif e['kind'] == 'adjust':
                    adj_out += p
                else:
                    raise AssertionError(e)
            elif et == 'promoted':
                promotions[e['to']] = promotions.get(e['to'], 0) + 1
    # a plan event cannot change the scales (SPEC §7.6)
    assert (plan.get('money_scale', 2), plan.get('points_scale', 2)) == (ms, ps)
    tiers = [t['name'] for t in plan['tiers']]
    for name in list(upline) + list(promotions):
        assert name in tiers, name
    census = {n: 0 for n in tiers}
    bal_total = life_total = 0
    balances = {}
    tier_of = {}
    for m in members:
        census[m['tier']] += 1
        b = to_units(m['balance'], ps)
        bal_total += b
        life_total += to_units(m['lifetime'], ps)
        balances[m['id']] = b
        tier_of[m['id']] = m['tier']
    side = {
        'plan': plan['name'],
        'digest': top['digest'],
        'applied': top['applied'],
        'rejected': top['rejected'],
        'census': census,
        'balance_total': fmt_units(bal_total, ps),
        'lifetime_total': fmt_units(life_total, ps),
        'issued': {'own': fmt_units(own, ps),
                   'upline': {n: fmt_units(upline.get(n, 0), ps) for n in tiers},
                   'adjust': fmt_units(adj_in, ps)},
        'removed': {'clawback': fmt_units(claw, ps), 'redeem': fmt_units(redeem, ps),
                    'adjust': fmt_units(adj_out, ps)},
        'purchased': fmt_units(purchased, ms),
        'refunded': fmt_units(refunded, ms),
        'payout_ratio': ratio(own + sum(upline.values()) - claw, ps, purchased - refunded, ms),
        'promotions': {n: promotions.get(n, 0) for n in tiers},  # every tier, as census (LAB.md leaves it open)
        'periods': [{'period': p[0], 'start': p[1], 'purchased': fmt_units(p[2], ms),
                     'refunded': fmt_units(p[3], ms), 'paid': fmt_units(p[4], ps),
                     'clawed_back': fmt_units(p[5], ps),
                     'payout_ratio': ratio(p[4] - p[5], ps, p[2] - p[3], ms)} for p in periods],
    }
    return side, {'ps': ps, 'balances': balances, 'tiers': tier_of, 'total': bal_total}


def differences(a, b, top_n):
    s = max(a['ps'], b['ps'])
    fa, fb = 10 ** (s - a['ps']), 10 ** (s - b['ps'])
    ids = sorted(set(a['balances']) | set(b['balances']))
    moved = [{'member': i, 'a': a['tiers'][i], 'b': b['tiers'][i]} for i in ids
             if i in a['tiers'] and i in b['tiers'] and a['tiers'][i] != b['tiers'][i]]
    rows = []
    for i in ids:
        va = a['balances'].get(i, 0) * fa
        vb = b['balances'].get(i, 0) * fb
        if va != vb:
            rows.append((i, va, vb, vb - va))
    gain = sorted([r for r in rows if r[3] > 0], key=lambda r: (-r[3], r[0]))
    lose = sorted([r for r in rows if r[3] < 0], key=lambda r: (r[3], r[0]))

    def out(r):
        return {'member': r[0], 'a': fmt_units(r[1], s), 'b': fmt_units(r[2], s),
                'delta': fmt_units(r[3], s)}
    return {
        'tier_moves': len(moved),
        'tier_moved': moved[:top_n],
        'balance_total': fmt_units(b['total'] * fb - a['total'] * fa, s),
        'gaining': len(gain),
        'losing': len(lose),
        'gainers': [out(r) for r in gain[:top_n]],
        'losers': [out(r) for r in lose[:top_n]],
    }


# ---------------------------------------------------------------- random inputs

def rnd_rate(rng, r, lo=0.3, hi=1.8):
    """Perturb a rate string: at most 6 decimals, 0..1000."""
    v = Fraction(r) * Fraction(rng.randint(int(lo * 100), int(hi * 100)), 100)
    u = round(v * 10 ** 6)
    u = max(0, min(u, 1000 * 10 ** 6))
    return fmt_rate(u)


def fmt_rate(u):
    s = fmt_units(u, 6).rstrip('0').rstrip('.')
    return s if s else '0'


def perturb_plan(rng, base, compatible, name):
    """A plan b: rates, thresholds, ratios, multipliers perturbed. When `compatible`, it can be
    installed as a plan event over `base` (SPEC §7.6): same scales, tiers kept (names, widths,
    fills), tiers may be appended."""
    p = copy.deepcopy(base)
    p['name'] = name
    p['version'] = rng.randint(1, 9)
    for shop in p['shops'].values():
        if rng.random() < 0.6:
            shop['ratio'] = rnd_rate(rng, shop['ratio'])
        if rng.random() < 0.3:
            shop['min_basket'] = rng.choice(['0', '10.00', '25.00', '35.00'])
    if rng.random() < 0.3:
        p['shops']['extra'] = {'ratio': '2'}
    if rng.random() < 0.5 and p.get('history'):
        for band in p['history']:
            band['multiplier'] = rnd_rate(rng, band['multiplier'], 0.8, 1.3)
    if rng.random() < 0.3:
        p['compression'] = not p.get('compression', False)
    if rng.random() < 0.4:
        p['refund_window_days'] = rng.choice([None, 0, 1, 3, 7, 60])
    for i, t in enumerate(p['tiers']):
        if rng.random() < 0.7:
            t['rates'] = [rnd_rate(rng, r) for r in t['rates']]
        if rng.random() < 0.2:
            if rng.random() < 0.5 and t['rates']:
                t['rates'] = t['rates'][:rng.randint(0, len(t['rates']))]
            else:
                t['rates'] = t['rates'] + [rng.choice(['0.01', '0.005', '0.1'])
                                           for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.3:
            t['accrual'] = rnd_rate(rng, t.get('accrual', '1'), 0.8, 1.4)
        if rng.random() < 0.3:
            t['upline_multiplier'] = rnd_rate(rng, t.get('upline_multiplier', '1'), 0.5, 1.5)
        pa = t.get('promote_at')
        if pa:
            if 'lifetime_points' in pa and rng.random() < 0.7:
                lp = int(Fraction(pa['lifetime_points'])) * rng.choice([1, 1, 2, 5]) // rng.choice([1, 2, 4, 10, 20])
                pa['lifetime_points'] = str(max(lp, 0))
            if 'direct_referrals' in pa and rng.random() < 0.4:
                pa['direct_referrals']['count'] = rng.randint(1, 4)
            if rng.random() < 0.15:
                pa['filled_levels'] = rng.randint(1, 2)
        if not compatible:
            if rng.random() < 0.15:
                t['name'] = t['name'] + '-b'
            if rng.random() < 0.1:
                t['width'] = rng.randint(2, 5)
            if rng.random() < 0.1:
                t['fill'] = 'under_sponsor'
    # fix min_tier references after renames
    names = [t['name'] for t in p['tiers']]
    for i, t in enumerate(p['tiers']):
        dr = (t.get('promote_at') or {}).get('direct_referrals')
        if dr and dr['min_tier'] not in names:
            dr['min_tier'] = names[min(i - 1, len(names) - 1)] if i > 0 else names[0]
    if rng.random() < 0.25:
        p['tiers'].append({'name': 'diamond', 'width': 2, 'accrual': '1.4', 'upline_multiplier': '2',
                           'rates': ['0.05', '0.01'],
                           'promote_at': {'lifetime_points': str(rng.choice([1500, 3000, 30000])),
                                          'direct_referrals': {'count': 1, 'min_tier': names[-1]}}})
    if rng.random() < 0.3:
        p['rewards'] = [{'id': 'b-%d' % i, 'lifetime_points': str(rng.choice([0, 50, 300, 2000]))}
                        for i in range(rng.randint(0, 3))]
    if not compatible and rng.random() < 0.3:
        p['points_scale'] = rng.choice([0, 1, 3, 4])
    if not compatible and rng.random() < 0.15:
        p['money_scale'] = 3
    return p


def amount_str(rng, lo, hi, scale=2):
    return fmt_units(rng.randint(lo, hi), scale)


def make_history(rng, upline, work, plan_a, plan_name_for_generate, hand):
    members = rng.randint(200, 2500)
    purchases = rng.randint(800, 4000)
    gseed = rng.randint(0, 2 ** 64 - 1)
    step = rng.choice([60000, 600000, 3600000, 6 * 3600000, 86400000, rng.randint(60000, 86400000)])
    refund = rng.choice([0, 20, 100, 300])
    redeem = rng.choice([0, 10, 100, 400])
    inter = rng.random() < 0.5
    start = rng.choice([1767225600000, 1767225600000 + rng.randint(0, 400) * DAY + rng.randint(0, DAY - 1)])
    gen = [upline, 'generate', '--members', str(members), '--purchases', str(purchases),
           '--seed', str(gseed), '--step', str(step), '--refund-per-mille', str(refund),
           '--redeem-per-mille', str(redeem), '--start', str(start), '--plan', plan_name_for_generate]
    if inter:
        gen.append('--interleave')
    p = run(gen)
    if p.returncode != 0:
        raise RuntimeError('generate failed: %s' % p.stderr.decode())
    lines = p.stdout.decode().split('\n')
    if lines and lines[-1] == '':
        lines.pop()
    params = {'members': members, 'purchases': purchases, 'gen_seed': gseed, 'step': step,
              'refund_pm': refund, 'redeem_pm': redeem, 'interleave': inter, 'start': start}
    if hand:
        ids = [1000 + 7 * n for n in range(members)]
        ats = [json.loads(l)['at'] for l in lines]
        extra = []
        inserts = []
        n_extra = rng.randint(3, 25)
        for k in range(n_extra):
            pos = rng.randint(0, len(lines))
            near = ats[min(pos, len(lines) - 1)]
            kind = rng.choice(['adj+', 'adj+', 'adj-', 'adj-', 'plan', 'junk', 'junk', 'blank',
                               'suspend', 'reactivate', 'late', 'jump', 'refundnull', 'buy'])
            m = rng.choice(ids)
            if kind == 'adj+':
                line = json.dumps({'type': 'adjust', 'member': m,
                                   'points': rng.choice([amount_str(rng, 1, 500000), '1500', '6000.5']),
                                   'actor': 'support', 'reason': 'bonus', 'at': near})
            elif kind == 'adj-':
                line = json.dumps({'type': 'adjust', 'member': m,
                                   'points': '-' + amount_str(rng, 1, 200000),
                                   'actor': 'support', 'reason': 'correction', 'at': near})
            elif kind == 'plan':
                hp = perturb_plan(rng, plan_a, True, 'history plan %d' % k)
                line = json.dumps({'type': 'plan', 'plan': hp, 'actor': 'ops', 'at': near})
            elif kind == 'junk':
                line = rng.choice([
                    'not json at all',
                    '[1,2,3]',
                    '{"type":"teleport","at":1}',
                    '{"type":"purchase","order":"h-x","member":%d,"shop":"main","amount":100,"at":%d}' % (m, near),
                    '{"type":"purchase","order":"h-y%d","member":%d,"shop":"nowhere","amount":"5.00","at":%d}' % (k, m, near),
                    '{"type":"adjust","member":%d,"points":"0","actor":"x","reason":"y","at":%d}' % (m, near),
                    '{"type":"join","member":%d,"sponsor":%d,"at":%d}' % (m, ids[0], near),
                    '{"type":"refund","order":"nope","at":%d}' % near,
                    '{"type":"plan","plan":{"name":"bad"},"actor":"ops","at":%d}' % near,
                    '{"type":"adjust","member":%d,"points":"1.00","actor":"x","reason":"y","at":%d}' % (m, 2 ** 63),
                ])
            elif kind == 'blank':
                line = rng.choice(['', '   ', '\t', ' \r'])
            elif kind == 'suspend':
                line = json.dumps({'type': 'suspend', 'member': m, 'at': near})
            elif kind == 'reactivate':
                line = json.dumps({'type': 'reactivate', 'member': m, 'at': near})
            elif kind == 'late':  # an `at` below the clock: applied at the clock
                line = json.dumps({'type': 'adjust', 'member': m, 'points': '3.00', 'actor': 'a',
                                   'reason': 'late', 'at': rng.randint(0, max(near - 1, 0))})
            elif kind == 'jump':  # the clock jumps ahead: later events apply at it
                line = json.dumps({'type': 'suspend', 'member': m,
                                   'at': near + rng.randint(1, 45) * DAY})
            elif kind == 'refundnull':
                line = json.dumps({'type': 'refund', 'order': 'o-%d' % rng.randint(0, purchases - 1),
                                   'amount': None, 'at': near})
            else:
                line = json.dumps({'type': 'purchase', 'order': 'h-%d' % k, 'member': m,
                                   'shop': rng.choice(['main', 'outlet', 'extra']),
                                   'amount': amount_str(rng, 100, 900000), 'at': near})
            inserts.append((pos, k, line))
            extra.append(kind)
        inserts.sort()
        merged = []
        j = 0
        for i in range(len(lines) + 1):
            while j < len(inserts) and inserts[j][0] == i:
                merged.append(inserts[j][2])
                j += 1
            if i < len(lines):
                merged.append(lines[i])
        lines = merged
        if rng.random() < 0.4:
            # a tail of purchases of 1.28 and 2.56, each 40 days after the last: each is alone in
            # its period, whose payout ratio is (paid units)/128 or /256 — often a tie at 6 places
            t = max(ats) + 40 * DAY
            for j in range(rng.randint(1, 4)):
                lines.append(json.dumps({'type': 'purchase', 'order': 't-%d' % j,
                                         'member': rng.choice(ids), 'shop': 'main',
                                         'amount': rng.choice(['1.28', '2.56']), 'at': t}))
                t += 40 * DAY
                extra.append('tie')
        params['extra'] = extra
    path = os.path.join(work, 'events.jsonl')
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path, lines, params


# ---------------------------------------------------------------- comparison

def compare(exp, got, path, out):
    if isinstance(exp, dict):
        if not isinstance(got, dict):
            out.append((path, exp, got))
            return
        if list(exp) != list(got):
            if set(exp) != set(got):
                out.append((path + ' (keys)', list(exp), list(got)))
            else:
                out.append((path + ' (key order)', list(exp), list(got)))
        for k in exp:
            if k in got:
                compare(exp[k], got[k], path + '.' + k, out)
        return
    if isinstance(exp, list):
        if not isinstance(got, list):
            out.append((path, exp, got))
            return
        if len(exp) != len(got):
            out.append((path + ' (length)', len(exp), len(got)))
        for i, (e, g) in enumerate(zip(exp, got)):
            compare(e, g, '%s[%d]' % (path, i), out)
        return
    if type(exp) is not type(got) or exp != got:
        out.append((path, exp, got))


def coverage(rep, lines_a, fx_a, lines_b, fx_b, frm, bal_a, bal_b):
    """What a case exercised (printed with --verbose, counted in the summary)."""
    f = []
    d = rep['differences']
    if bal_a['ps'] != bal_b['ps']:
        f.append('scales-differ')
    if rep['a']['purchased'] != rep['b']['purchased'] or rep['a']['refunded'] != rep['b']['refunded']:
        f.append('money-differs')
    if d['gaining'] and d['losing']:
        f.append('gain+lose')
    if d['tier_moves']:
        f.append('tier-moves')
    if frm is not None:
        f.append('from')
    for side, lines, fx in (('a', lines_a, fx_a), ('b', lines_b, fx_b)):
        for i, (l, e) in enumerate(zip(lines, fx)):
            if '"type": "plan"' in l or '"type":"plan"' in l:
                if frm is not None and side == 'b' and i == frm:
                    continue
                f.append('plan-%s-%s' % (side, 'ok' if e['status'] == 'ok' else 'rejected'))
    for side in ('a', 'b'):
        for p in rep[side]['periods']:
            if p['purchased'] in ('1.28', '2.56') and p['refunded'] == '0.00':
                q = Fraction(to_units(p['paid'], bal_a['ps'] if side == 'a' else bal_b['ps']))
                q = q / (128 if p['purchased'] == '1.28' else 256) * 10 ** 6 \
                    / Fraction(10) ** ((bal_a['ps'] if side == 'a' else bal_b['ps']) - 2)
                if q.denominator == 2:
                    f.append('ratio-tie')
            if p['payout_ratio'] is None:
                f.append('null-ratio')
            elif p['payout_ratio'].startswith('-'):
                f.append('negative-ratio')
            if p['start'] <= 0:
                f.append('epoch-period')
    return sorted(set(f))


def short(v):
    s = json.dumps(v)
    return s if len(s) <= 300 else s[:297] + '...'


# ---------------------------------------------------------------- one case

def one_case(upline, plans_dir, rng, case_no, work, check_data):
    a_name = rng.choice(['four-tier', 'deep'])
    plan_a_path = os.path.join(plans_dir, a_name + '.json')
    with open(plan_a_path) as f:
        plan_a = json.load(f)
    hand = rng.random() < 0.75
    events_path, raw_lines, params = make_history(rng, upline, work, plan_a, a_name, hand)
    lines = [l for l in raw_lines if not BLANK.match(l)]
    n = len(lines)

    use_from = rng.random() < 0.35
    same = rng.random() < 0.12
    if same:
        plan_b = copy.deepcopy(plan_a)
    else:
        plan_b = perturb_plan(rng, plan_a, use_from, 'plan b %d' % case_no)
    plan_b_path = os.path.join(work, 'plan-b.json')
    with open(plan_b_path, 'w') as f:
        json.dump(plan_b, f, indent=rng.choice([None, 1]))

    opts = []
    period = rng.choice([None, 'day', 'week', 'month'])
    if period:
        opts += ['--period', period]
    top_n = rng.choice([None, None, 0, 1, 3, 25])
    if top_n is not None:
        opts += ['--top', str(top_n)]
    until = None
    if rng.random() < 0.3:
        until = rng.choice([rng.randint(1, n), rng.randint(n // 2, n), n, 0, n + rng.randint(1, 50)])
        opts += ['--until', str(until)]
    frm = None
    if use_from:
        hi = min(until, n) if until is not None else n
        frm = rng.choice([0, rng.randint(0, hi), rng.randint(0, hi), hi])
        opts += ['--from', str(frm)]
    params.update({'plan_a': a_name, 'plan_b': 'same as a' if same else plan_b['name'],
                   'opts': ' '.join(opts), 'events': n})

    # ---- expected: side a
    last = until if until is not None else n
    lines_a = lines[:last]
    ev_a = os.path.join(work, 'events-a.jsonl')
    with open(ev_a, 'w') as f:
        f.write(''.join(l + '\n' for l in lines_a))
    fx_a, top_a, mem_a = replay(upline, plan_a_path, ev_a, work, 'a')

    # ---- expected: side b
    if frm is None:
        lines_b = lines_a
        plan_b0 = plan_b
        ins = None
    else:
        clock = 0
        for l, fx in zip(lines_a[:frm], fx_a[:frm]):
            if fx['status'] == 'ok':
                clock = max(clock, json.loads(l)['at'])
        ins = json.dumps({'type': 'plan', 'plan': plan_b, 'actor': 'whatif', 'at': clock})
        lines_b = lines_a[:frm] + [ins] + lines_a[frm:]
        plan_b0 = plan_a
    ev_b = os.path.join(work, 'events-b.jsonl')
    with open(ev_b, 'w') as f:
        f.write(''.join(l + '\n' for l in lines_b))
    fx_b, top_b, mem_b = replay(upline, plan_b_path if frm is None else plan_a_path, ev_b, work, 'b')

    cmd = [upline, 'whatif', '--plan', plan_a_path, '--plan-b', plan_b_path, '--events',
           events_path, '--report', '-'] + opts
    t0 = time.time()
    p = run(cmd)
    wall = time.time() - t0
    divergences = []

    if frm is not None and fx_b[frm]['status'] != 'ok':
        # plan b is refused as a plan event: exit 1, no report (LAB.md, Errors)
        st = fx_b[frm]
        want = 'upline whatif: plan b: rejected as a plan event after event %d: %s: ' % (frm, st['status'])
        err = p.stderr.decode()
        if p.returncode != 1:
            divergences.append(('exit status', 1, p.returncode))
        if not err.startswith(want):
            divergences.append(('stderr', want + '...', err.strip()))
        if p.stdout:
            divergences.append(('stdout', '', p.stdout.decode()[:200]))
        return params, divergences, wall, 'refused'

    if p.returncode != 0:
        divergences.append(('exit status', 0, '%d: %s' % (p.returncode, p.stderr.decode().strip())))
        return params, divergences, wall, None
    text = p.stdout.decode()
    if not text.endswith('\n') or text.count('\n') != 1:
        divergences.append(('report layout', 'one line ending with LF', repr(text[-80:])))
    got = json.loads(text)

    side_a, bal_a = side_report(plan_a, lines_a, fx_a, top_a, mem_a, period or 'month')
    side_b, bal_b = side_report(plan_b0, lines_b, fx_b, top_b, mem_b, period or 'month')
    expected = {
        'period': period or 'month',
        'from': frm,
        'until': until,
        'a': side_a,
        'b': side_b,
        'differences': differences(bal_a, bal_b, 10 if top_n is None else top_n),
    }
    compare(expected, got, 'report', divergences)
    feats = coverage(expected, lines_a, fx_a, lines_b, fx_b, frm, bal_a, bal_b)

    if check_data:
        data = os.path.join(work, 'data')
        q = run([upline, 'apply', '--data', data, '--plan', plan_a_path, '--events', events_path,
                 '--sync', 'none'])
        if q.returncode != 0:
            divergences.append(('apply --data', 0, '%d: %s' % (q.returncode, q.stderr.decode()[:300])))
        else:
            r = run([upline, 'whatif', '--data', data, '--plan-b', plan_b_path, '--report', '-'] + opts)
            if r.returncode != 0 or r.stdout != p.stdout:
                divergences.append(('--data report', 'byte for byte the --events report',
                                    '%d: %s%s' % (r.returncode, r.stderr.decode()[:300],
                                                  r.stdout.decode()[:300])))
        shutil.rmtree(data, ignore_errors=True)
    return params, divergences, wall, ','.join(feats + (['data'] if check_data else []))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('upline')
    ap.add_argument('plans_dir')
    ap.add_argument('--cases', type=int, default=12)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--keep', default=None, help='keep each case\'s files under this directory')
    ap.add_argument('--only', type=int, default=None, help='run only case C (0-based) of the seed')
    ap.add_argument('--verbose', action='store_true')
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(2 ** 32)
    upline = os.path.abspath(args.upline)
    plans_dir = os.path.abspath(args.plans_dir)
    print('whatif-differential: seed %d, %d cases' % (seed, args.cases))
    bad = 0
    seen = {}
    t_start = time.time()
    data_cases = {0, args.cases // 2} if args.cases > 1 else {0}
    for c in range(args.cases):
        if args.only is not None and c != args.only:
            continue
        rng = random.Random('%d/%d' % (seed, c))
        if args.keep:
            work = os.path.join(args.keep, 'case-%d' % c)
            shutil.rmtree(work, ignore_errors=True)
            os.makedirs(work)
        else:
            work = tempfile.mkdtemp(prefix='whatif-diff-')
        try:
            params, divs, wall, note = one_case(upline, plans_dir, rng, c, work, c in data_cases)
        finally:
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
        desc = 'case %d (--seed %d --cases %d --only %d): %s' % (c, seed, args.cases, c,
                                                                json.dumps(params))
        if divs:
            bad += 1
            print('DIVERGENCE in ' + desc)
            for path, e, g in divs:
                print('  %s\n    expected: %s\n    got:      %s' % (path, short(e), short(g)))
        elif args.verbose:
            print('ok %s [whatif %.2fs%s]' % (desc, wall, ', ' + note if note else ''))
        for f in (note or '').split(','):
            if f:
                seen[f] = seen.get(f, 0) + 1
    took = time.time() - t_start
    print('whatif-differential: covered ' + ', '.join('%s %d' % kv for kv in sorted(seen.items())))
    if bad:
        print('whatif-differential: FAILED (%d of %d cases diverged, %.1fs)'
              % (bad, 1 if args.only is not None else args.cases, took))
        return 1
    ran = 1 if args.only is not None else args.cases
    print('whatif-differential: %.1fs' % took)
    print('whatif-differential: ok (%d cases)' % ran)
    return 0


if __name__ == '__main__':
    sys.exit(main())
