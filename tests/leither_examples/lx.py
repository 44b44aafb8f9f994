"""Shared by the Leither example programs transcribed into Python (tests/leither_examples/*.py).

Each program is a call-for-call transcription of one Go program in Leither's
`example/rpc/` that uses `lapi.LApiStub`. Here the stub is PyPI `hprose` 1.4.3 (the 2.0 wire)
over HTTP at `<base>/webapi/`, the base URL coming from argv[1] (default
http://127.0.0.1:4800, where the Go programs dial).

What this module owns:
  * `Program`: runs a transcription and reports. Every remote call prints one line,
    `CALL ok <Fn>` or `CALL FAIL <Fn>: <error>`; a check of a value prints
    `EXPECT ok|FAIL <what>`; the last line is
    `RESULT <program>: PASS|FAIL (<n> calls ok, <m> failed[: names]; <k> expectations failed)`.
    Where the Go program panics, `must` raises and the program exits 1 with
    `PANIC <Fn>: <error>`. Deferred calls (Go's `defer stub.MMClose(...)`) run in `finally`
    and their errors are reported but ignored, as Go ignores them.
  * `get_local_passport`: `lapi.GetLocalPassport` (lapi/rpc.go): GET
    `/getvar?name=ppt&arg0=<hours>&nojson`, 200 and a non-empty body, or an error.
  * `gob_decode`: enough of Go's encoding/gob to read what `LApiStub.GetVarObj` reads
    (`GetGobVar` returns gob bytes): type definitions, bool, ints, uints, floats, strings,
    bytes, slices, arrays, maps and structs (struct -> dict by field name).
  * probe mode (LX_PROBE=1, for a "before" picture, never for the verdict): where the
    session bootstrap is missing on the node, carry on with a stand-in so the later calls
    still get tried: the pass from LX_PPT when /getvar fails, our `Login(ppt)` when
    `LoginWithPPT` fails, `GetVar` when `GetGobVar` fails. Each stand-in prints
    `SUBST ...`; the failed call still counts, so the verdict stays FAIL.
  * `field`: a field of a reply object by name, case-insensitive (Go's hprose decoder matches
    struct fields that way; a node may send `Sid` or `sid`, a map or a class object).
"""
import os
import struct
import sys
import traceback
import urllib.error
import urllib.parse
import urllib.request

_here = os.path.dirname(os.path.abspath(__file__))
_peers = os.path.join(os.path.dirname(_here), 'peers')
sys.path.insert(0, os.path.join(_peers, '.pylib'))  # tests/peers/install.sh's fallback

try:
    from hprose.httpclient import HproseHttpClient
except ImportError as e:  # pragma: no cover
    print('PANIC import hprose 1.4.3: %s (run: bash tests/peers/install.sh)' % e)
    sys.exit(2)


class CallError(Exception):
    """A remote call answered with an error (Go: a non-nil err from the stub)."""

    def __init__(self, fn, err):
        Exception.__init__(self, '%s: %s' % (fn, err))
        self.fn = fn
        self.err = err


def field(obj, name, default=None):
    """obj[name] / obj.name, ignoring case; `default` when there is no such field."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(k, str) and k.lower() == name.lower():
                return v
        return default
    for k, v in getattr(obj, '__dict__', {}).items():
        if k.lower() == name.lower():
            return v
    return default


def text(v):
    """[]byte or string from the wire as a Python str."""
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).decode('utf-8', 'replace')
    return v


def short(v, n=300):
    s = repr(v) if not isinstance(v, str) else v
    return s if len(s) <= n else s[:n] + '... (%d chars)' % len(s)


class Program:
    """One transcribed program: its stub, its report, its exit code."""

    def __init__(self, name):
        self.name = name
        self.base = (sys.argv[1] if len(sys.argv) > 1 else 'http://127.0.0.1:4800').rstrip('/')
        self.client = HproseHttpClient(self.base + '/webapi/')
        self.client.timeout = 30
        self.ok_calls = []
        self.failed_calls = []
        self.failed_expects = []
        self.probe = bool(os.environ.get('LX_PROBE'))
        self.substituted = []

    # --- calls -------------------------------------------------------------------------------

    def try_call(self, fn, *args):
        """Calls fn(args...); returns (result, None) or (None, error text). Reports either."""
        try:
            r = self.client.invoke(fn, list(args))
        except Exception as e:  # noqa: BLE001 - any failure of the call is its error
            err = '%s' % (e,) or type(e).__name__
            if os.environ.get('LX_DEBUG'):
                traceback.print_exc()
            self.failed_calls.append(fn)
            print('CALL FAIL %s: %s' % (fn, short(err)))
            sys.stdout.flush()
            return None, err
        self.ok_calls.append(fn)
        print('CALL ok %s -> %s' % (fn, short(r, 120)))
        sys.stdout.flush()
        return r, None

    def must(self, fn, *args):
        """Go's `x, err := stub.Fn(...); if err != nil { panic(err) }` (or `return err`)."""
        r, err = self.try_call(fn, *args)
        if err is not None:
            raise CallError(fn, err)
        return r

    def must_or(self, fn, args, alt_fn, alt_args, alt_map=lambda r: r):
        """`must(fn, *args)`; in probe mode a failure tries alt_fn(alt_args) instead."""
        r, err = self.try_call(fn, *args)
        if err is None:
            return r
        if self.probe:
            print('SUBST %s -> %s (probe mode)' % (fn, alt_fn))
            self.substituted.append(fn)
            return alt_map(self.must(alt_fn, *alt_args))
        raise CallError(fn, err)

    def login_with_ppt(self, ppt):
        """`stub.LoginWithPPT(strPPT)` (probe mode: else our `Login(ppt)`)."""
        return self.must_or('LoginWithPPT', [ppt], 'Login', [ppt])

    def deferred(self, fn, *args):
        """Go's `defer stub.Fn(...)`: runs at the end, its error is ignored (but reported)."""
        self.try_call(fn, *args)

    def get_var_obj(self, sid, name, *args):
        """`LApiStub.GetVarObj`: GetGobVar, then gob-decode the bytes."""
        r, err = self.try_call('GetGobVar', sid, name, *args)
        if err is not None:
            if not self.probe:
                raise CallError('GetGobVar', err)
            print('SUBST GetGobVar -> GetVar (probe mode)')
            self.substituted.append('GetGobVar')
            return self.must('GetVar', sid, name, *args)
        data = r
        if isinstance(data, str):
            data = data.encode('latin-1')
        try:
            return gob_decode(bytes(data))
        except Exception as e:  # noqa: BLE001
            self.failed_calls.append('GetGobVar(gob)')
            print('CALL FAIL GetGobVar: the reply is not gob: %s (bytes %r)' % (e, short(data)))
            raise CallError('GetGobVar', 'reply is not gob: %s' % e)

    def get_local_passport(self, port, valid_hours):
        try:
            return self._get_local_passport(port, valid_hours)
        except CallError:
            if self.probe and os.environ.get('LX_PPT'):
                print('SUBST GetLocalPassport -> $LX_PPT (probe mode)')
                self.substituted.append('GetLocalPassport')
                return os.environ['LX_PPT']
            raise

    def _get_local_passport(self, port_unused, valid_hours):
        """`lapi.GetLocalPassport(port, validPeriod)`. The Go code always asks 127.0.0.1:<port>;
        here the host and port come from the base URL (the port argument is the Go one, 4800,
        kept for the call-for-call reading)."""
        url = '%s/getvar?name=ppt&arg0=%d&nojson' % (self.base, valid_hours)
        try:
            with urllib.request.urlopen(url, timeout=30) as resp:
                status, body = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read()
        except Exception as e:  # noqa: BLE001
            self.failed_calls.append('GetLocalPassport')
            print('CALL FAIL GetLocalPassport: request failed: %s' % e)
            raise CallError('GetLocalPassport', 'request failed: %s' % e)
        if status != 200:
            self.failed_calls.append('GetLocalPassport')
            print('CALL FAIL GetLocalPassport: status %d: %s' % (status, short(body)))
            raise CallError('GetLocalPassport', 'status %d' % status)
        ppt = body.decode('utf-8', 'replace')
        if ppt == '':
            self.failed_calls.append('GetLocalPassport')
            print('CALL FAIL GetLocalPassport: empty pass')
            raise CallError('GetLocalPassport', 'empty pass')
        self.ok_calls.append('GetLocalPassport')
        print('CALL ok GetLocalPassport -> %d bytes' % len(ppt))
        return ppt

    # --- checks the Go program makes only by printing (its comments say what to see) ---------

    def expect(self, what, got, want):
        if got == want:
            print('EXPECT ok %s' % what)
        else:
            self.failed_expects.append(what)
            print('EXPECT FAIL %s: got %s, want %s' % (what, short(got), short(want)))
        sys.stdout.flush()

    # --- running -----------------------------------------------------------------------------

    def run(self, main):
        code = 0
        try:
            main(self)
        except CallError as e:
            print('PANIC %s: %s' % (e.fn, short(e.err)))
            code = 1
        except Exception as e:  # noqa: BLE001 - a bug in the transcription or a bad reply shape
            traceback.print_exc()
            print('PANIC %s: %s' % (type(e).__name__, short(str(e))))
            code = 1
        if self.failed_expects or self.substituted:
            code = 1
        failed = sorted(set(self.failed_calls))
        print('RESULT %s: %s (%d calls ok, %d failed%s; %d expectations failed)' % (
            self.name, 'PASS' if code == 0 else 'FAIL', len(self.ok_calls), len(self.failed_calls),
            (': ' + ', '.join(failed)) if failed else '', len(self.failed_expects)))
        sys.stdout.flush()
        sys.exit(code)


# --- Go encoding/gob, decoding only ----------------------------------------------------------
#
# A gob stream is a sequence of messages: uint byte count, then int type id, then the value.
# A negative id defines that type (the value is a wireType); a positive one sends a value of
# it. A top-level value that is not a struct is preceded by a 0 byte. Structs are sequences of
# (uint field-number delta, value), ended by a 0 delta; zero fields are left out.

_BOOL, _INT, _UINT, _FLOAT, _BYTES, _STRING, _COMPLEX, _INTERFACE = range(1, 9)
_WIRE_TYPE, _ARRAY_T, _COMMON_T, _SLICE_T, _STRUCT_T, _FIELD_T, _FIELD_SLICE_T, _MAP_T = range(16, 24)

# The bootstrap types that describe the others, with the field names gob gives them.
_BOOT = {
    _COMMON_T: ('struct', [('Name', _STRING), ('Id', _INT)]),
    _ARRAY_T: ('struct', [('CommonType', _COMMON_T), ('Elem', _INT), ('Len', _INT)]),
    _SLICE_T: ('struct', [('CommonType', _COMMON_T), ('Elem', _INT)]),
    _FIELD_T: ('struct', [('Name', _STRING), ('Id', _INT)]),
    _FIELD_SLICE_T: ('slice', _FIELD_T),
    _STRUCT_T: ('struct', [('CommonType', _COMMON_T), ('Field', _FIELD_SLICE_T)]),
    _MAP_T: ('struct', [('CommonType', _COMMON_T), ('Key', _INT), ('Elem', _INT)]),
    _WIRE_TYPE: ('struct', [('ArrayT', _ARRAY_T), ('SliceT', _SLICE_T), ('StructT', _STRUCT_T),
                            ('MapT', _MAP_T), ('GobEncoderT', _COMMON_T),
                            ('BinaryMarshalerT', _COMMON_T), ('TextMarshalerT', _COMMON_T)]),
}


class _Gob:
    def __init__(self, data):
        self.b = data
        self.i = 0
        self.types = dict(_BOOT)

    def byte(self):
        if self.i >= len(self.b):
            raise ValueError('gob: unexpected end of data at %d' % self.i)
        c = self.b[self.i]
        self.i += 1
        return c

    def uint(self):
        c = self.byte()
        if c < 0x80:
            return c
        n = 256 - c
        if n > 8:
            raise ValueError('gob: bad uint length %d' % n)
        v = 0
        for _ in range(n):
            v = (v << 8) | self.byte()
        return v

    def int(self):
        u = self.uint()
        return ~(u >> 1) if u & 1 else u >> 1

    def float(self):
        u = self.uint()
        return struct.unpack('<d', u.to_bytes(8, 'big'))[0]  # byte-reversed float64 bits

    def bytes(self):
        n = self.uint()
        if self.i + n > len(self.b):
            raise ValueError('gob: %d bytes promised, %d left' % (n, len(self.b) - self.i))
        v = self.b[self.i:self.i + n]
        self.i += n
        return v

    def value(self, tid):
        if tid == _BOOL:
            return self.uint() != 0
        if tid == _INT:
            return self.int()
        if tid == _UINT:
            return self.uint()
        if tid == _FLOAT:
            return self.float()
        if tid == _BYTES:
            return self.bytes()
        if tid == _STRING:
            return self.bytes().decode('utf-8', 'replace')
        if tid == _COMPLEX:
            return complex(self.float(), self.float())
        if tid == _INTERFACE:
            name = self.bytes().decode()
            if not name:
                return None
            inner = self.int()
            self.uint()  # byte count of what follows
            self.uint()  # the singleton 0
            return self.value(inner)
        t = self.types.get(tid)
        if t is None:
            raise ValueError('gob: unknown type id %d' % tid)
        kind = t[0]
        if kind == 'struct':
            out = {}
            fnum = -1
            while True:
                delta = self.uint()
                if delta == 0:
                    return out
                fnum += delta
                if fnum >= len(t[1]):
                    raise ValueError('gob: field %d of a %d-field struct' % (fnum, len(t[1])))
                name, ftid = t[1][fnum]
                out[name] = self.value(ftid)
        if kind in ('slice', 'array'):
            n = self.uint()
            return [self.value(t[1]) for _ in range(n)]
        if kind == 'map':
            n = self.uint()
            return {self.value(t[1]): self.value(t[2]) for _ in range(n)}
        if kind == 'opaque':  # GobEncoder / BinaryMarshaler / TextMarshaler: their own bytes
            return self.bytes()
        raise ValueError('gob: cannot decode kind %s' % kind)

    def define(self, tid, wire):
        if 'ArrayT' in wire:
            a = wire['ArrayT']
            self.types[tid] = ('array', a['Elem'])
        elif 'SliceT' in wire:
            self.types[tid] = ('slice', wire['SliceT']['Elem'])
        elif 'StructT' in wire:
            fields = [(f.get('Name', ''), f.get('Id', 0)) for f in wire['StructT'].get('Field', [])]
            self.types[tid] = ('struct', fields)
        elif 'MapT' in wire:
            m = wire['MapT']
            self.types[tid] = ('map', m['Key'], m['Elem'])
        else:
            self.types[tid] = ('opaque',)

    def decode(self):
        while self.i < len(self.b):
            n = self.uint()
            end = self.i + n
            tid = self.int()
            if tid < 0:
                self.define(-tid, self.value(_WIRE_TYPE))
                self.i = end
                continue
            t = self.types.get(tid)
            if t is None or t[0] != 'struct':
                if self.uint() != 0:
                    raise ValueError('gob: a top-level non-struct value without its 0 byte')
            v = self.value(tid)
            return v
        raise ValueError('gob: no value in %d bytes' % len(self.b))


def gob_decode(data):
    """The first value in a gob stream (after the type definitions it needs)."""
    return _Gob(data).decode()
