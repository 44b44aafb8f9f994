#!/usr/bin/env python3
"""Drives a Leither node through PyPI `hprose` 1.4.3 (the 2.0-style wire), over HTTP.

Usage: py_hprose2.py http://127.0.0.1:PORT

Prints one line per check ("PASS name" / "FAIL name: why"), a few "note:" lines that are
not checks, and ends with "N passed, M failed"; exits 1 if any check failed.

Known bugs of hprose 1.4.3 itself on Python 3 that these checks step around (they are the
client's, not the node's):
  * HproseWriter.writeString counts code points, not UTF-16 code units, so any string with a
    character outside the BMP (an emoji) goes out with a wrong length, and a one-character
    emoji goes out as a `u` tag with 4 UTF-8 bytes. Such strings are sent as hand-built,
    correctly counted frames through the client's own transport and reader instead; what the
    node does with the stock (wrong) frame is printed as a note.
  * The client has no function-list call; the empty request `z` is sent through its
    transport and the `F` reply read with its reader.
The client has no WebSocket transport and no batch API.
"""
import io
import math
import os
import sys
import time
import traceback

_here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_here, '.pylib'))  # install.sh's fallback when venv is missing

try:
    import hprose
    from hprose.httpclient import HproseHttpClient
    from hprose.io import HproseReader, HproseTags
except ImportError as e:  # pragma: no cover
    print('FAIL import hprose 1.4.3: %s (run: bash tests/peers/install.sh)' % e)
    print('0 passed, 1 failed')
    sys.exit(1)

passed = 0
failed = 0


def check(name, fn):
    """Runs fn(); it returns None/True on success, a string (the reason) or False on failure."""
    global passed, failed
    try:
        r = fn()
        ok = r is None or r is True
        why = '' if ok else (r if isinstance(r, str) else 'returned %r' % (r,))
    except Exception as e:  # noqa: BLE001 - a check failing for any reason is a failed check
        ok = False
        why = '%s: %s' % (type(e).__name__, e)
        if os.environ.get('PEERS_DEBUG'):
            traceback.print_exc()
    if len(why) > 300:
        why = why[:300] + '... (%d chars)' % len(why)
    if ok:
        passed += 1
        print('PASS %s' % name)
    else:
        failed += 1
        print('FAIL %s: %s' % (name, why))
    sys.stdout.flush()


def note(msg):
    print('note: %s' % msg)
    sys.stdout.flush()


def raises(fn, *needles):
    """Checks that fn() raises and that the message contains every needle (case-insensitive)."""
    try:
        r = fn()
    except Exception as e:  # noqa: BLE001
        msg = str(e)
        missing = [n for n in needles if n.lower() not in msg.lower()]
        if missing:
            return 'error %r does not mention %r' % (msg, missing)
        return None
    return 'no error raised; got %r' % (r,)


def same(got, want, path='value'):
    """Deep, type-strict equality (int is not float, bool is not int); None or a reason."""
    if isinstance(want, float):
        if not isinstance(got, float):
            return '%s: want float %r, got %s %r' % (path, want, type(got).__name__, got)
        if math.isnan(want):
            return None if math.isnan(got) else '%s: want nan, got %r' % (path, got)
        return None if got == want else '%s: want %r, got %r' % (path, want, got)
    if type(got) is not type(want):
        return '%s: want %s %r, got %s %r' % (path, type(want).__name__, want,
                                             type(got).__name__, got)
    if isinstance(want, (list, tuple)):
        if len(got) != len(want):
            return '%s: want %d items, got %d: %r' % (path, len(want), len(got), got)
        for i, (g, w) in enumerate(zip(got, want)):
            r = same(g, w, '%s[%d]' % (path, i))
            if r:
                return r
        return None
    if isinstance(want, dict):
        if set(got) != set(want):
            return '%s: want keys %r, got %r' % (path, sorted(map(repr, want)), sorted(map(repr, got)))
        for k in want:
            r = same(got[k], want[k], '%s[%r]' % (path, k))
            if r:
                return r
        return None
    return None if got == want else '%s: want %r, got %r' % (path, want, got)


def hprose_str(s):
    """A correctly counted hprose string (length in UTF-16 code units)."""
    units = len(s.encode('utf-16-le')) // 2
    return b's' + str(units).encode() + b'"' + s.encode('utf-8') + b'"'


def raw_call(client, request):
    """Sends request bytes through the client's own HTTP transport; returns the reply bytes."""
    return client._sendAndReceive(request)


def read_reply(reply):
    """Reads an R/E reply with the client's own reader; returns the value or raises."""
    stream = io.BytesIO(reply)
    reader = HproseReader(stream)
    tag = stream.read(1)
    if tag == HproseTags.TagResult:
        v = reader.unserialize()
        end = stream.read(1)
        if end != HproseTags.TagEnd:
            raise AssertionError('reply not ended by z: %r' % reply)
        return v
    if tag == HproseTags.TagError:
        raise AssertionError('error reply: %s' % reader.readString())
    raise AssertionError('unexpected reply %r' % reply)


def main():
    if len(sys.argv) != 2:
        print('usage: py_hprose2.py http://127.0.0.1:PORT', file=sys.stderr)
        return 2
    base = sys.argv[1].rstrip('/')
    url = base + '/webapi/'
    note('hprose %s (PyPI), Python %s, %s' % (getattr(hprose, '__version__', '1.4.3'),
                                             sys.version.split()[0], url))
    client = HproseHttpClient(url)
    client.timeout = 10

    # A first call: when the transport does not answer, skip the rest (one timeout, not 60).
    probe_ok = []

    def probe():
        r = same(client.Echo('probe'), 'probe')
        if r is None:
            probe_ok.append(True)
        return r
    check("transport answers Echo('probe')", probe)
    if not probe_ok:
        note('skipping the other checks')
        print('%d passed, %d failed' % (passed, failed))
        return 1

    # --- function list: the 2.0 empty request `z` -> `F<list>z` ------------------------------
    def functions():
        reply = raw_call(client, HproseTags.TagEnd)
        if reply[:1] != HproseTags.TagFunctions:
            return 'empty request answered %r, want F<list>z' % reply[:200]
        stream = io.BytesIO(reply[1:])
        names = HproseReader(stream).readList()
        if stream.read(1) != HproseTags.TagEnd:
            return 'function list not ended by z: %r' % reply[:200]
        missing = [n for n in ('Login', 'Logout', 'GetVar', 'Echo') if n not in names]
        return 'missing %r in %r' % (missing, names) if missing else None
    check('function list (empty request z -> F list)', functions)

    # --- Echo through the stock writer ----------------------------------------------------------
    values = [
        ('ascii string', 'hello, leither'),
        ('one-char string (u tag)', 'x'),
        ('one CJK char (u tag, 3 UTF-8 bytes)', '\u4e2d'),
        ('CJK string', '\u4e2d\u6587\u5b57\u7b26\u4e32 Leither \u8282\u70b9'),
        ('empty string (e tag)', ''),
        ('string with quotes and braces', 'a"b{c}d;e\\f\nz'),
        ('int 0', 0),
        ('int 7 (digit tag)', 7),
        ('int 10', 10),
        ('int -1', -1),
        ('int i32 max', 2147483647),
        ('int i32 min', -2147483648),
        ('int 2^31 (l tag)', 2147483648),
        ('int -2^31-1 (l tag)', -2147483649),
        ('int 2^53-1', 2 ** 53 - 1),
        ('int 2^53+1 (not a double)', 2 ** 53 + 1),
        ('int -(2^53+1)', -(2 ** 53 + 1)),
        ('int i64 max', 2 ** 63 - 1),
        ('int i64 min', -(2 ** 63)),
        ('float 1.5', 1.5),
        ('float -0.25', -0.25),
        ('float 0.1', 0.1),
        ('float 2.0 (integral double stays float)', 2.0),
        ('float pi', 3.141592653589793),
        ('float 1e300', 1e300),
        ('float 5e-324', 5e-324),
        ('float inf', float('inf')),
        ('float -inf', float('-inf')),
        ('float nan', float('nan')),
        ('bool true', True),
        ('bool false', False),
        ('null', None),
        ('bytes (b tag)', b'\x00\x01\x02z"\xff'),
        ('empty list', []),
        ('list of mixed', [1, 'two', 3.5, None, True, False, '', 'x']),
        ('nested list', [[1, [2, [3, []]]], ['a', ['b']]]),
        ('empty map', {}),
        ('nested map', {'name': 'leither', 'n': 7, 'big': 2 ** 40, 'f': 0.5,
                        'inner': {'list': [1, 2, {'deep': 'yes'}], 'empty': {}, 'none': None}}),
        ('list with the same string twice (r ref)', ['dup-string', 'dup-string', 'dup-string']),
        ('map whose value repeats its key (r ref)', {'key-one': 'key-one', 'key-two': ['key-one']}),
        ('4 KiB-ish CJK string', '\u6d4b\u8bd5' * 1000),
    ]
    shared = ['shared', 'list']
    values.append(('list with the same list twice (r ref to a list)', [shared, shared, 'shared']))
    for name, v in values:
        check('Echo %s' % name, lambda v=v: same(client.Echo(v), v))

    # The node's value model keeps string map keys only (other keys are stringified on decode,
    # by design: src/api/value.rs), so both answers are right here.
    def int_keys():
        got = client.Echo({1: 'one', 2: 'two'})
        if same(got, {1: 'one', 2: 'two'}) is None:
            return None
        return same(got, {'1': 'one', '2': 'two'})
    check('Echo map with int keys (keys kept or stringified)', int_keys)

    # --- strings outside the BMP: correctly counted frames via the client's transport/reader ---
    astral = [
        ('emoji alone', '\U0001F600'),
        ('emoji mixed with text', 'a\U0001F600b\U0001F389c'),
        ('emoji then CJK then emoji', '\U0001F600\u4e2d\U0001F389'),
        ('many emoji', '\U0001F680' * 300),
    ]
    for name, v in astral:
        def echo_astral(v=v):
            req = b'Cs4"Echo"a1{' + hprose_str(v) + b'}z'
            return same(read_reply(raw_call(client, req)), v)
        check('Echo %s (UTF-16 length)' % name, echo_astral)
    try:
        got = client.Echo('a\U0001F600b')
        note("stock 1.4.3 writer sends 'a<emoji>b' as s3 (wrong, should be s4); node answered %r"
             % (got,))
    except Exception as e:  # noqa: BLE001
        note("stock 1.4.3 writer sends 'a<emoji>b' as s3 (wrong, should be s4); node answered "
             'with an error: %s' % e)

    try:
        note('Echo(2**70) (an l beyond i64) answered %r' % (client.Echo(2 ** 70),))
    except Exception as e:  # noqa: BLE001
        note('Echo(2**70) (an l beyond i64) answered with an error: %s' % e)

    def nested(depth):
        v = 'x'
        for _ in range(depth):
            v = [v]
        return v
    check('Echo of a list nested 30 deep', lambda: same(client.Echo(nested(30)), nested(30)))
    # The node refuses past its nesting limit (32); the reason must reach the caller: this
    # client shows only "400:" when the reason is in the body of a non-200 reply.
    check('a request nested 100 deep is refused with a message that says why',
          lambda: raises(lambda: client.Echo(nested(100)), 'deep'))
    check('still usable after a refused request', lambda: same(client.Echo('ok'), 'ok'))

    def two_args():
        try:
            return same(client.Echo('first', 'second'), 'first')
        except Exception as e:  # noqa: BLE001
            return None if 'Echo' in str(e) else 'error %r' % (str(e),)
    check('Echo with two arguments: the first back or an error naming Echo', two_args)

    # --- byref: the client asks for the arguments back (T after the argument list) -------------
    def byref():
        args = ['by-ref']
        r = client.invoke('Echo', args, byref=True)
        return same(r, 'by-ref')
    check('Echo with byref flag (T after arguments) is answered', byref)

    # --- sessions --------------------------------------------------------------------------------
    session = {}

    def login_guest():
        s = client.Login()
        if not isinstance(s, dict):
            return 'Login() returned %r, want a map' % (s,)
        session.update(s)
        sid, uid, rights, expires = s.get('sid'), s.get('uid'), s.get('rights'), s.get('expires')
        if not isinstance(sid, str) or not sid:
            return 'sid %r is not a non-empty string (%r)' % (sid, s)
        if uid != '':
            return 'guest uid is %r, want ""' % (uid,)
        if rights != 'guest':
            return 'rights is %r, want "guest"' % (rights,)
        if not isinstance(expires, int) or isinstance(expires, bool) or expires <= time.time():
            return 'expires %r is not a future unix time in seconds' % (expires,)
        return None
    check('Login() -> guest session map', login_guest)
    sid = session.get('sid', 'no-session')

    def getvar_ver():
        v = client.GetVar(sid, 'ver')
        return None if isinstance(v, str) and v else 'ver is %r' % (v,)
    check("GetVar(sid, 'ver') is a version string", getvar_ver)

    def getvar_hostid():
        v = client.GetVar(sid, 'hostid')
        return None if isinstance(v, str) and len(v) == 27 else 'hostid is %r' % (v,)
    check("GetVar(sid, 'hostid') has 27 chars", getvar_hostid)

    def getvar_peerid():
        v = client.GetVar(sid, 'peerid')
        return None if isinstance(v, str) and v.startswith('12D3KooW') else 'peerid is %r' % (v,)
    check("GetVar(sid, 'peerid') starts with 12D3KooW", getvar_peerid)

    def getvar_hostpk():
        v = client.GetVar(sid, 'hostpk')
        return None if v not in (None, '', b'') else 'hostpk is %r' % (v,)
    check("GetVar(sid, 'hostpk') is not empty", getvar_hostpk)

    def getvar_nodeinfo():
        v = client.GetVar(sid, 'nodeinfo')
        return None if isinstance(v, dict) and v else 'nodeinfo is %r' % (v,)
    check("GetVar(sid, 'nodeinfo') is a map", getvar_nodeinfo)

    def getvar_userid():
        v = client.GetVar(sid, 'userid')
        return None if v == '' else 'guest userid is %r, want ""' % (v,)
    check("GetVar(sid, 'userid') is \"\" for a guest", getvar_userid)

    check("GetVar(sid, 'no-such-var') raises",
          lambda: raises(lambda: client.GetVar(sid, 'no-such-var')))
    check('unknown function raises an error naming it',
          lambda: raises(lambda: client.NoSuchFunctionXyz(1), 'NoSuchFunctionXyz'))
    check('Login(bad pass) raises', lambda: raises(lambda: client.Login('not-a-signed-pass')))

    def logout():
        r = client.Logout(sid)
        return same(r, True)
    check('Logout(sid) -> true', logout)
    check("GetVar(sid, 'ver') after Logout raises an error mentioning the session",
          lambda: raises(lambda: client.GetVar(sid, 'ver'), 'session'))

    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
