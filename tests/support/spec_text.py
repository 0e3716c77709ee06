"""SPEC §2's decimals and a process runner, for the differential tests' independent implementations
(tests/cli/*_differential.py): each reads the rule it checks from the docs on its own, and shares
only this — how a decimal string becomes units and units become text, which SPEC §2 fixes."""

import re
import subprocess

BLANK = re.compile(r'^[ \t\r\n\f\v]*$')
DECIMAL = re.compile(r'^(-?)([0-9]+)(?:\.([0-9]+))?$')


def to_units(text, scale):
    """§2.3: a decimal string to units at `scale`, exactly (ValueError when it does not convert)."""
    m = DECIMAL.match(text)
    if not m:
        raise ValueError('not a decimal: %r' % text)
    neg, ip, fp = m.group(1), m.group(2), (m.group(3) or '').rstrip('0')
    if len(fp) > scale:
        raise ValueError('too many decimals at scale %d: %r' % (scale, text))
    units = int(ip) * 10 ** scale + (int(fp.ljust(scale, '0')) if scale else 0)
    return -units if neg else units


def fmt_units(units, scale):
    """§2.6: exactly `scale` fraction digits, no point at scale 0, zero never signed."""
    sign = '-' if units < 0 else ''
    a = abs(units)
    if scale == 0:
        return sign + str(a)
    s = str(a).rjust(scale + 1, '0')
    return sign + s[:-scale] + '.' + s[-scale:]


def run(cmd, **kw):
    """Runs a command, capturing its output (bytes)."""
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
