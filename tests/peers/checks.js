// The check harness shared by js_hprose2.js and js_hprose3.js: one line per check
// ("PASS name" / "FAIL name: why"), "note:" lines that are not checks, and a closing
// "N passed, M failed" line; deep, type-strict comparison; the Echo values both clients send.
'use strict';

let passed = 0;
let failed = 0;
// hprose 3.0 reads `n` as undefined; its script sets this so undefined stands for null.
const options = { undefinedIsNull: false };

function clip(s) {
    s = String(s);
    return s.length > 300 ? s.slice(0, 300) + '... (' + s.length + ' chars)' : s;
}

// Runs fn(); it resolves to undefined/true on success, or a string (the reason) on failure.
async function check(name, fn) {
    let why = null;
    try {
        const r = await fn();
        if (r !== undefined && r !== null && r !== true) {
            why = typeof r === 'string' ? r : 'returned ' + show(r);
        }
    } catch (e) {
        why = (e && e.name ? e.name + ': ' : '') + (e && e.message !== undefined ? e.message : e);
        if (process.env.PEERS_DEBUG) console.error(e);
    }
    if (why === null) {
        passed++;
        console.log('PASS ' + name);
    } else {
        failed++;
        console.log('FAIL ' + name + ': ' + clip(why));
    }
}

function note(msg) {
    console.log('note: ' + clip(msg));
}

// Prints the closing line and exits (open sockets would keep node alive otherwise).
function finish() {
    console.log(passed + ' passed, ' + failed + ' failed');
    process.exit(failed ? 1 : 0);
}

// A whole-script time limit, so a node that never answers fails instead of hanging.
function watchdog(seconds) {
    const t = setTimeout(() => {
        failed++;
        console.log('FAIL watchdog: script still running after ' + seconds + ' s');
        finish();
    }, seconds * 1000);
    t.unref();
}

// The clients throw from socket event handlers on replies they cannot parse (hprose 2.0's
// WebSocketClient on a frame shorter than its 4-byte id): that is a failed check, not a crash.
process.on('uncaughtException', (e) => {
    failed++;
    console.log('FAIL uncaught exception in the client library (a reply it cannot parse?): ' +
        clip(e && e.stack ? e.stack.split('\n').slice(0, 4).join(' | ') : e));
    finish();
});

function show(v) {
    if (typeof v === 'bigint') return v + 'n';
    if (typeof v === 'string') return JSON.stringify(v);
    if (v instanceof Uint8Array) return 'bytes[' + Buffer.from(v).toString('hex') + ']';
    try {
        return JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? x + 'n' : x));
    } catch (e) {
        return String(v);
    }
}

function kind(v) {
    if (v === null) return 'null';
    if (v === undefined) return 'undefined';
    if (Array.isArray(v)) return 'list';
    if (v instanceof Uint8Array || v instanceof ArrayBuffer) return 'bytes';
    if (v instanceof Map) return 'Map';
    return typeof v; // number, bigint, string, boolean, object (a map)
}

// Deep, type-strict equality: undefined when equal, else the reason. Maps may come back as
// plain objects or Object.create(null) dictionaries; only the own enumerable keys count.
function same(got, want, path) {
    path = path || 'value';
    if (options.undefinedIsNull && got === undefined) got = null;
    const kg = kind(got), kw = kind(want);
    if (kg !== kw) return path + ': want ' + kw + ' ' + show(want) + ', got ' + kg + ' ' + show(got);
    switch (kw) {
        case 'number':
            if (Number.isNaN(want)) return Number.isNaN(got) ? undefined : path + ': want NaN, got ' + got;
            return Object.is(got, want) || got === want ? undefined : path + ': want ' + want + ', got ' + got;
        case 'list': {
            if (got.length !== want.length) {
                return path + ': want ' + want.length + ' items, got ' + got.length + ': ' + show(got);
            }
            for (let i = 0; i < want.length; i++) {
                const r = same(got[i], want[i], path + '[' + i + ']');
                if (r) return r;
            }
            return undefined;
        }
        case 'bytes': {
            const g = Buffer.from(got), w = Buffer.from(want);
            return g.equals(w) ? undefined : path + ': want ' + show(want) + ', got ' + show(got);
        }
        case 'object': {
            const gk = Object.keys(got).sort(), wk = Object.keys(want).sort();
            if (gk.join('\u0000') !== wk.join('\u0000')) {
                return path + ': want keys ' + show(wk) + ', got ' + show(gk);
            }
            for (const k of wk) {
                const r = same(got[k], want[k], path + '[' + JSON.stringify(k) + ']');
                if (r) return r;
            }
            return undefined;
        }
        default:
            return got === want ? undefined : path + ': want ' + show(want) + ', got ' + show(got);
    }
}

// A first call on a transport: when it fails (refused, timed out, garbage) the transport's
// other checks are skipped, so a dead transport costs one FAIL line and one timeout, not
// one timeout per check. Resolves to true when the transport answers.
async function probe(label, call) {
    let ok = false;
    await check(label + "transport answers Echo('probe')", async () => {
        const r = same(await call('Echo', 'probe'), 'probe');
        ok = r === undefined;
        return r;
    });
    if (!ok) note(label + 'skipping the other checks of this transport');
    return ok;
}

// Checks that the promise rejects and that the message mentions every needle (any case).
async function rejects(promise, ...needles) {
    let r;
    try {
        r = await promise;
    } catch (e) {
        const msg = String(e && e.message !== undefined ? e.message : e);
        const missing = needles.filter((n) => !msg.toLowerCase().includes(n.toLowerCase()));
        return missing.length ? 'error ' + JSON.stringify(msg) + ' does not mention ' + show(missing) : undefined;
    }
    return 'no error raised; got ' + show(r);
}

// An unregistered class: both clients send its instances as `c5"Point"2{s1"x"s1"y"}o0{..}`;
// the node answers a map with the same fields.
class Point {
    constructor(x, y) {
        this.x = x;
        this.y = y;
    }
}

// A list nested `depth` deep around 'x' (the node refuses past its nesting limit, 32).
function nested(depth) {
    let v = 'x';
    for (let i = 0; i < depth; i++) v = [v];
    return v;
}

// Checks that a call the node must refuse (too deep) fails with a message saying why; a bare
// HTTP status ("400:") is what the 3.0 client shows when the reason is only in a 4xx body.
async function refusedWithReason(call) {
    return rejects(call('Echo', nested(100)), 'deep');
}

// Echo values that both JS clients send the same way ([name, value]).
function echoValues() {
    const shared = ['shared', 'list'];
    return [
        ['ascii string', 'hello, leither'],
        ['one-char string (u tag)', 'x'],
        ['one CJK char (u tag, 3 UTF-8 bytes)', '\u4e2d'],
        ['CJK string', '\u4e2d\u6587\u5b57\u7b26\u4e32 Leither \u8282\u70b9'],
        ['emoji alone (s2: one surrogate pair)', '\u{1F600}'],
        ['emoji mixed with text (UTF-16 length)', 'a\u{1F600}b\u{1F389}c'],
        ['emoji then CJK then emoji', '\u{1F600}\u4e2d\u{1F389}'],
        ['many emoji', '\u{1F680}'.repeat(300)],
        ['empty string (e tag)', ''],
        ['string with quotes and braces', 'a"b{c}d;e\\f\nz'],
        ['int 0', 0],
        ['int 7 (digit tag)', 7],
        ['int 10', 10],
        ['int -1', -1],
        ['int i32 max', 2147483647],
        ['int i32 min', -2147483648],
        ['number 2^31 (beyond i32)', 2147483648],
        ['number -2^31-1', -2147483649],
        ['number 2^40', 2 ** 40],
        ['number 2^53-1', 2 ** 53 - 1],
        ['number -(2^53-1)', -(2 ** 53 - 1)],
        ['float 1.5', 1.5],
        ['float -0.25', -0.25],
        ['float 0.1', 0.1],
        ['float pi', Math.PI],
        ['float 1e21 (d1e+21)', 1e21],
        ['float 1e300', 1e300],
        ['float 5e-324', 5e-324],
        ['float Infinity', Infinity],
        ['float -Infinity', -Infinity],
        ['float NaN', NaN],
        ['bool true', true],
        ['bool false', false],
        ['null', null],
        ['bytes (b tag)', new Uint8Array([0, 1, 2, 0x7a, 0x22, 0xff])],
        ['class instance (c and o tags) comes back with its fields', new Point(1, 'two')],
        ['two instances of one class (one c, two o)', [new Point(1, 2), new Point(3, [4])]],
        ['empty list', []],
        ['list of mixed', [1, 'two', 3.5, null, true, false, '', 'x']],
        ['nested list', [[1, [2, [3, []]]], ['a', ['b']]]],
        ['empty map', {}],
        ['nested map', { name: 'leither', n: 7, big: 2 ** 40, f: 0.5,
            inner: { list: [1, 2, { deep: 'yes' }], empty: {}, none: null } }],
        ['list with the same string twice (r ref)', ['dup-string', 'dup-string', 'dup-string']],
        ['map whose value repeats its key (r ref)', { 'key-one': 'key-one', 'key-two': ['key-one'] }],
        ['list with the same list twice (r ref to a list)', [shared, shared, 'shared']],
        ['4 KiB-ish CJK string', '\u6d4b\u8bd5'.repeat(1000)],
    ];
}

const API = ['Login', 'Logout', 'GetVar', 'Echo'];

// The session checks, given call(name, ...args) -> Promise; `label` prefixes each name.
async function sessionChecks(label, call) {
    const session = {};
    await check(label + 'Login() -> guest session map', async () => {
        const s = await call('Login');
        if (kind(s) !== 'object') return 'Login() returned ' + show(s) + ', want a map';
        Object.assign(session, s);
        if (typeof s.sid !== 'string' || !s.sid) return 'sid is not a non-empty string: ' + show(s);
        if (s.uid !== '') return 'guest uid is ' + show(s.uid) + ', want ""';
        if (s.rights !== 'guest') return 'rights is ' + show(s.rights) + ', want "guest"';
        const exp = typeof s.expires === 'bigint' ? Number(s.expires) : s.expires;
        if (!Number.isInteger(exp) || exp <= Date.now() / 1000) {
            return 'expires ' + show(s.expires) + ' is not a future unix time in seconds';
        }
    });
    const sid = session.sid || 'no-session';
    await check(label + "GetVar(sid, 'ver') is a version string", async () => {
        const v = await call('GetVar', sid, 'ver');
        if (typeof v !== 'string' || !v) return 'ver is ' + show(v);
    });
    await check(label + "GetVar(sid, 'hostid') has 27 chars", async () => {
        const v = await call('GetVar', sid, 'hostid');
        if (typeof v !== 'string' || v.length !== 27) return 'hostid is ' + show(v);
    });
    await check(label + "GetVar(sid, 'peerid') starts with 12D3KooW", async () => {
        const v = await call('GetVar', sid, 'peerid');
        if (typeof v !== 'string' || !v.startsWith('12D3KooW')) return 'peerid is ' + show(v);
    });
    await check(label + "GetVar(sid, 'hostpk') is not empty", async () => {
        const v = await call('GetVar', sid, 'hostpk');
        if (v === null || v === undefined || v.length === 0) return 'hostpk is ' + show(v);
    });
    await check(label + "GetVar(sid, 'nodeinfo') is a map", async () => {
        const v = await call('GetVar', sid, 'nodeinfo');
        if (kind(v) !== 'object' || Object.keys(v).length === 0) return 'nodeinfo is ' + show(v);
    });
    await check(label + "GetVar(sid, 'userid') is \"\" for a guest", async () => {
        const v = await call('GetVar', sid, 'userid');
        if (v !== '') return 'guest userid is ' + show(v) + ', want ""';
    });
    await check(label + "GetVar(sid, 'no-such-var') raises", () => rejects(call('GetVar', sid, 'no-such-var')));
    await check(label + 'unknown function raises an error naming it',
        () => rejects(call('NoSuchFunctionXyz', 1), 'NoSuchFunctionXyz'));
    await check(label + 'Login(bad pass) raises', () => rejects(call('Login', 'not-a-signed-pass')));
    await check(label + 'Logout(sid) -> true', async () => same(await call('Logout', sid), true));
    await check(label + "GetVar(sid, 'ver') after Logout raises an error mentioning the session",
        () => rejects(call('GetVar', sid, 'ver'), 'session'));
}

module.exports = { nested, refusedWithReason, options, probe, check, note, finish, watchdog, show, kind, same, rejects, echoValues, sessionChecks, API };
