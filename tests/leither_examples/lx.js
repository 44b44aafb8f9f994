// Shared by the Leither example programs transcribed into JavaScript (tests/leither_examples/*.js).
//
// Each program is a call-for-call transcription of one Go program in Leither's `example/rpc/`,
// over the transport the official Go client dials (`lapi.InitLApiStubByUrl`): Hprose 3.0 over
// WebSocket at ws://HOST:PORT/ws3/, here with npm `@hprose/rpc-core` 3 and the WebSocket
// transport of `@hprose/rpc-node` 3 (installed in tests/peers/node_modules by
// tests/peers/install.sh). The base URL is argv[2] (default http://127.0.0.1:4800); the
// WebSocket path is LX_WS_PATH (default /ws3/), so the programs can run against /ws/ meanwhile.
//
// What this module owns, mirroring lx.py (same report lines, so one parser reads both):
//  * `Program`: `CALL ok <Fn>` / `CALL FAIL <Fn>: <error>` per remote call, `EXPECT ok|FAIL`
//    per checked value, `PANIC <Fn>: <error>` where the Go program panics (exit 1), and last
//    `RESULT <program>: PASS|FAIL (...)`. `deferred` is Go's `defer stub.Fn(...)`: its error
//    is reported and ignored. Probe mode (LX_PROBE=1, LX_PPT) as in lx.py: stand-ins for a
//    missing session bootstrap, printed as `SUBST`, never a PASS.
//  * `getLocalPassport`: `lapi.GetLocalPassport` (lapi/rpc.go): GET
//    /getvar?name=ppt&arg0=<hours>&nojson, 200 and a non-empty body.
//  * `gobDecode`: enough of Go's encoding/gob for `GetVarObj` (type definitions, bool, ints,
//    floats, strings, bytes, slices, arrays, maps, structs as objects by field name).
//  * `field`: a reply field by name, case-insensitive, of an object or a Map.
'use strict';

const path = require('path');
const modules = path.join(__dirname, '..', 'peers', 'node_modules');
let Client;
try {
    ({ Client } = require(path.join(modules, '@hprose/rpc-core')));
    require(path.join(modules, '@hprose/rpc-node')); // registers the http and ws transports
} catch (e) {
    console.log('PANIC require @hprose/rpc-core: ' + e.message + ' (run: bash tests/peers/install.sh)');
    process.exit(2);
}

class CallError extends Error {
    constructor(fn, err) {
        super(fn + ': ' + err);
        this.fn = fn;
        this.err = err;
    }
}

function field(obj, name, dflt) {
    if (obj == null) return dflt;
    const want = name.toLowerCase();
    const entries = obj instanceof Map ? [...obj.entries()] : Object.entries(obj);
    for (const [k, v] of entries) {
        if (typeof k === 'string' && k.toLowerCase() === want) return v;
    }
    return dflt;
}

function text(v) {
    if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
    return v;
}

function show(v, n = 300) {
    let s;
    try {
        s = typeof v === 'string' ? v : JSON.stringify(v, (k, x) => {
            if (typeof x === 'bigint') return x.toString();
            if (x instanceof Map) return Object.fromEntries(x);
            if (x instanceof Uint8Array) return 'bytes:' + Buffer.from(x).toString('latin1');
            return x;
        });
    } catch (e) {
        s = String(v);
    }
    if (s === undefined) s = String(v);
    return s.length <= n ? s : s.slice(0, n) + '... (' + s.length + ' chars)';
}

class Program {
    constructor(name) {
        this.name = name;
        this.base = (process.argv[2] || 'http://127.0.0.1:4800').replace(/\/+$/, '');
        const wsPath = process.env.LX_WS_PATH || '/ws3/';
        this.url = this.base.replace(/^http/, 'ws') + wsPath;
        this.client = new Client(this.url);
        this.client.timeout = 30000;
        this.okCalls = [];
        this.failedCalls = [];
        this.failedExpects = [];
        this.substituted = [];
        this.probe = !!process.env.LX_PROBE;
    }

    async tryCall(fn, ...args) {
        try {
            const r = await this.client.invoke(fn, args);
            this.okCalls.push(fn);
            console.log('CALL ok ' + fn + ' -> ' + show(r, 120));
            return [r, null];
        } catch (e) {
            const err = (e && e.message) || String(e);
            this.failedCalls.push(fn);
            console.log('CALL FAIL ' + fn + ': ' + show(err));
            return [undefined, err];
        }
    }

    async must(fn, ...args) {
        const [r, err] = await this.tryCall(fn, ...args);
        if (err !== null) throw new CallError(fn, err);
        return r;
    }

    async deferred(fn, ...args) {
        await this.tryCall(fn, ...args);
    }

    async loginWithPPT(ppt) {
        const [r, err] = await this.tryCall('LoginWithPPT', ppt);
        if (err === null) return r;
        if (!this.probe) throw new CallError('LoginWithPPT', err);
        console.log('SUBST LoginWithPPT -> Login (probe mode)');
        this.substituted.push('LoginWithPPT');
        return this.must('Login', ppt);
    }

    async getVarObj(sid, name, ...args) {
        const [data, err] = await this.tryCall('GetGobVar', sid, name, ...args);
        if (err !== null) {
            if (!this.probe) throw new CallError('GetGobVar', err);
            console.log('SUBST GetGobVar -> GetVar (probe mode)');
            this.substituted.push('GetGobVar');
            return this.must('GetVar', sid, name, ...args);
        }
        const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : Buffer.from(data);
        try {
            return gobDecode(bytes);
        } catch (e) {
            this.failedCalls.push('GetGobVar(gob)');
            console.log('CALL FAIL GetGobVar: the reply is not gob: ' + e.message);
            throw new CallError('GetGobVar', 'reply is not gob: ' + e.message);
        }
    }

    // lapi.GetLocalPassport(port, validPeriod): the Go code asks 127.0.0.1:<port>; here the
    // host and port come from the base URL (port is kept for the call-for-call reading).
    async getLocalPassport(port, hours) {
        const fail = (why) => {
            if (this.probe && process.env.LX_PPT) {
                console.log('CALL FAIL GetLocalPassport: ' + why);
                console.log('SUBST GetLocalPassport -> $LX_PPT (probe mode)');
                this.failedCalls.push('GetLocalPassport');
                this.substituted.push('GetLocalPassport');
                return process.env.LX_PPT;
            }
            this.failedCalls.push('GetLocalPassport');
            console.log('CALL FAIL GetLocalPassport: ' + why);
            throw new CallError('GetLocalPassport', why);
        };
        let resp, body;
        try {
            resp = await fetch(this.base + '/getvar?name=ppt&arg0=' + hours + '&nojson');
            body = await resp.text();
        } catch (e) {
            return fail('request failed: ' + e.message);
        }
        if (resp.status !== 200) return fail('status ' + resp.status + ': ' + show(body));
        if (body === '') return fail('empty pass');
        this.okCalls.push('GetLocalPassport');
        console.log('CALL ok GetLocalPassport -> ' + body.length + ' bytes');
        return body;
    }

    expect(what, got, want) {
        const g = show(got), w = show(want);
        if (g === w) {
            console.log('EXPECT ok ' + what);
        } else {
            this.failedExpects.push(what);
            console.log('EXPECT FAIL ' + what + ': got ' + g + ', want ' + w);
        }
    }

    async run(main) {
        // A WebSocket the transport cannot open may leave the call's promise pending forever:
        // node then exits 0 with nothing printed. The watchdog keeps the process alive and
        // fails it; the exit hook fails any run that never reached its RESULT line.
        let finished = false;
        const limit = Number(process.env.LX_TIMEOUT_MS || 60000);
        const watchdog = setTimeout(() => {
            console.log('PANIC timeout: no answer within ' + limit + ' ms (last calls: ' +
                this.okCalls.concat(this.failedCalls).slice(-3).join(', ') + ')');
            console.log('RESULT ' + this.name + ' (hprose 3.0 ws ' + this.url + '): FAIL (timed out)');
            finished = true;
            process.exit(1);
        }, limit);
        process.on('exit', (c) => {
            if (!finished) {
                console.log('PANIC ' + this.url + ': the program ended without finishing ' +
                    '(a call that never settled: is the WebSocket path served?)');
                console.log('RESULT ' + this.name + ' (hprose 3.0 ws ' + this.url + '): FAIL (did not finish)');
                process.exitCode = 1;
            }
        });
        let code = 0;
        try {
            await main(this);
        } catch (e) {
            if (e instanceof CallError) {
                console.log('PANIC ' + e.fn + ': ' + show(e.err));
            } else {
                console.error(e && e.stack);
                console.log('PANIC ' + ((e && e.name) || 'Error') + ': ' + show(String(e && e.message)));
            }
            code = 1;
        }
        clearTimeout(watchdog);
        finished = true;
        if (this.failedExpects.length || this.substituted.length) code = 1;
        const failed = [...new Set(this.failedCalls)].sort();
        console.log('RESULT ' + this.name + ' (hprose 3.0 ws ' + this.url + '): ' +
            (code === 0 ? 'PASS' : 'FAIL') + ' (' + this.okCalls.length + ' calls ok, ' +
            this.failedCalls.length + ' failed' + (failed.length ? ': ' + failed.join(', ') : '') +
            '; ' + this.failedExpects.length + ' expectations failed)');
        try {
            await this.client.abort();
        } catch (e) { /* closing is best effort */ }
        process.exit(code);
    }
}

// --- Go encoding/gob, decoding only (the format notes are in lx.py) -------------------------
const BOOL = 1, INT = 2, UINT = 3, FLOAT = 4, BYTES = 5, STRING = 6, COMPLEX = 7, IFACE = 8;
const WIRE = 16, ARRAY_T = 17, COMMON_T = 18, SLICE_T = 19, STRUCT_T = 20, FIELD_T = 21,
    FIELD_SLICE_T = 22, MAP_T = 23;
const BOOT = {
    [COMMON_T]: ['struct', [['Name', STRING], ['Id', INT]]],
    [ARRAY_T]: ['struct', [['CommonType', COMMON_T], ['Elem', INT], ['Len', INT]]],
    [SLICE_T]: ['struct', [['CommonType', COMMON_T], ['Elem', INT]]],
    [FIELD_T]: ['struct', [['Name', STRING], ['Id', INT]]],
    [FIELD_SLICE_T]: ['slice', FIELD_T],
    [STRUCT_T]: ['struct', [['CommonType', COMMON_T], ['Field', FIELD_SLICE_T]]],
    [MAP_T]: ['struct', [['CommonType', COMMON_T], ['Key', INT], ['Elem', INT]]],
    [WIRE]: ['struct', [['ArrayT', ARRAY_T], ['SliceT', SLICE_T], ['StructT', STRUCT_T],
        ['MapT', MAP_T], ['GobEncoderT', COMMON_T], ['BinaryMarshalerT', COMMON_T],
        ['TextMarshalerT', COMMON_T]]],
};

function gobDecode(buf) {
    let i = 0;
    const types = Object.assign({}, BOOT);
    const byte = () => {
        if (i >= buf.length) throw new Error('gob: unexpected end of data at ' + i);
        return buf[i++];
    };
    const uint = () => {
        const c = byte();
        if (c < 0x80) return BigInt(c);
        const n = 256 - c;
        if (n > 8) throw new Error('gob: bad uint length ' + n);
        let v = 0n;
        for (let k = 0; k < n; k++) v = (v << 8n) | BigInt(byte());
        return v;
    };
    const num = (b) => (b <= BigInt(Number.MAX_SAFE_INTEGER) && b >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b);
    const int = () => {
        const u = uint();
        return u & 1n ? ~(u >> 1n) : u >> 1n;
    };
    const float = () => {
        const u = uint();
        const b = Buffer.alloc(8);
        b.writeBigUInt64BE(u);
        return b.readDoubleLE(0); // byte-reversed float64 bits
    };
    const bytes = () => {
        const n = Number(uint());
        if (i + n > buf.length) throw new Error('gob: ' + n + ' bytes promised, ' + (buf.length - i) + ' left');
        const v = buf.subarray(i, i + n);
        i += n;
        return v;
    };
    const value = (tid) => {
        switch (tid) {
            case BOOL: return uint() !== 0n;
            case INT: return num(int());
            case UINT: return num(uint());
            case FLOAT: return float();
            case BYTES: return Uint8Array.from(bytes());
            case STRING: return bytes().toString('utf8');
            case COMPLEX: return [float(), float()];
            case IFACE: {
                const name = bytes().toString('utf8');
                if (!name) return null;
                const inner = Number(int());
                uint();
                uint();
                return value(inner);
            }
        }
        const t = types[tid];
        if (!t) throw new Error('gob: unknown type id ' + tid);
        if (t[0] === 'struct') {
            const out = {};
            let f = -1;
            for (;;) {
                const d = Number(uint());
                if (d === 0) return out;
                f += d;
                if (f >= t[1].length) throw new Error('gob: field ' + f + ' of a ' + t[1].length + '-field struct');
                out[t[1][f][0]] = value(t[1][f][1]);
            }
        }
        if (t[0] === 'slice' || t[0] === 'array') {
            const n = Number(uint());
            const out = [];
            for (let k = 0; k < n; k++) out.push(value(t[1]));
            return out;
        }
        if (t[0] === 'map') {
            const n = Number(uint());
            const out = new Map();
            for (let k = 0; k < n; k++) out.set(value(t[1]), value(t[2]));
            return out;
        }
        return Uint8Array.from(bytes()); // GobEncoder and friends: their own bytes
    };
    const define = (tid, w) => {
        if (w.ArrayT) types[tid] = ['array', w.ArrayT.Elem];
        else if (w.SliceT) types[tid] = ['slice', w.SliceT.Elem];
        else if (w.StructT) types[tid] = ['struct', (w.StructT.Field || []).map((f) => [f.Name || '', f.Id || 0])];
        else if (w.MapT) types[tid] = ['map', w.MapT.Key, w.MapT.Elem];
        else types[tid] = ['opaque'];
    };
    while (i < buf.length) {
        const n = Number(uint());
        const end = i + n;
        const tid = Number(int());
        if (tid < 0) {
            define(-tid, value(WIRE));
            i = end;
            continue;
        }
        const t = types[tid];
        if ((!t || t[0] !== 'struct') && uint() !== 0n) {
            throw new Error('gob: a top-level non-struct value without its 0 byte');
        }
        return value(tid);
    }
    throw new Error('gob: no value in ' + buf.length + ' bytes');
}

module.exports = { Program, CallError, field, text, gobDecode };
