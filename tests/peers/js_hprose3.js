#!/usr/bin/env node
// Drives a Leither node through npm `@hprose/rpc-core` 3 + `@hprose/rpc-node` 3 over HTTP
// (POST <url>/webapi/) and over WebSocket (ws://<host:port>/ws/).
//
// Usage: node js_hprose3.js http://127.0.0.1:PORT
//
// Prints one line per check, "note:" lines that are not checks, and ends with
// "N passed, M failed"; exits 1 if any check failed.
//
// What this client does on the wire (hprose 3.0 for TypeScript/Node.js):
//  * the function list is a call of the function `~` (a one-character name, so `Cu~z`),
//    answered with an ordinary result `Ra<n>{names}z`;
//  * a call with no arguments has no argument list at all (`Cs5"Login"z`);
//  * safe integers past int32 go out as `l`, other numbers as `d`, BigInt as `l`; `l` comes
//    back as a (possibly rounded) number unless codec.longType is 'bigint';
//  * request headers go out first as a map: `Hm1{...}C...z`; a reply may start with `H` too;
//  * `n` is read back as undefined (the checks take it for null); a Buffer goes out as an object
//    of class "Buffer" (c/o tags), a Uint8Array as bytes (b);
//  * there is no batch call in 3.0;
//  * over WebSocket it asks for the subprotocol `hprose` (the `ws` library rejects a handshake
//    whose reply does not name it) and frames every message as a 4-byte big-endian id plus
//    the request; a reply id with the high bit set carries an error text and closes the socket.
'use strict';

const { Client, ClientContext, DefaultClientCodec } = require('@hprose/rpc-core');
require('@hprose/rpc-node'); // registers the http(s) and ws(s) transports
const { nested, refusedWithReason, options, probe, check, note, finish, watchdog, same, rejects, echoValues, sessionChecks, API, show } = require('./checks');

options.undefinedIsNull = true; // this client reads `n` as undefined

function newClient(uri, longType) {
    const client = new Client(uri);
    client.timeout = 10000;
    if (longType) {
        const codec = new DefaultClientCodec();
        codec.longType = longType;
        client.codec = codec;
    }
    return client;
}

async function suite(label, uri) {
    const client = newClient(uri);
    const call = (name, ...args) => client.invoke(name, args);
    if (!(await probe(label, call))) {
        await client.abort();
        return;
    }

    await check(label + "function list (call '~' -> R list, via useServiceAsync)", async () => {
        const names = await client.invoke('~');
        if (!Array.isArray(names)) return "'~' returned " + show(names) + ', want a list of names';
        const missing = API.filter((n) => !names.includes(n));
        if (missing.length) return 'missing ' + missing.join(', ') + ' in ' + show(names);
        const proxy = await client.useServiceAsync();
        return same(await proxy.Echo('via useServiceAsync'), 'via useServiceAsync');
    });

    for (const [name, v] of echoValues()) {
        await check(label + 'Echo ' + name, async () => same(await call('Echo', v), v));
    }
    await check(label + 'Echo ES Map with string keys (m tag)', async () => {
        const m = new Map([['a', 1], ['b', [2]]]);
        return same(await call('Echo', m), { a: 1, b: [2] });
    });
    // Either answer is fine: the first argument back, or an error naming Echo (the node
    // checks arity); what matters is a clean reply.
    await check(label + 'Echo with two arguments: the first back or an error naming Echo', async () => {
        try {
            return same(await call('Echo', 'first', 'second'), 'first');
        } catch (e) {
            return String(e.message).includes('Echo') ? undefined : 'error ' + JSON.stringify(e.message);
        }
    });
    await check(label + 'Echo of a list nested 30 deep', async () => same(await call('Echo', nested(30)), nested(30)));
    await check(label + 'a request nested 100 deep is refused with a message that says why',
        () => refusedWithReason(call));
    await check(label + 'still usable after a refused request', async () => same(await call('Echo', 'ok'), 'ok'));

    // Integers past 2^53 only survive as BigInt, on a client that reads `l` as BigInt.
    const big = newClient(uri, 'bigint');
    const bigs = [
        ['2^31', 2n ** 31n],
        ['2^53+1', 2n ** 53n + 1n],
        ['-(2^53+1)', -(2n ** 53n + 1n)],
        ['i64 max', 2n ** 63n - 1n],
        ['i64 min', -(2n ** 63n)],
    ];
    for (const [name, v] of bigs) {
        await check(label + 'Echo BigInt ' + name + ' (l tag, longType bigint)', async () =>
            same(await big.invoke('Echo', [v]), v));
    }
    try {
        note(label + 'Echo BigInt 2^70 (an l beyond i64) answered ' + show(await big.invoke('Echo', [2n ** 70n])));
    } catch (e) {
        note(label + 'Echo BigInt 2^70 (an l beyond i64) answered with an error: ' + e.message);
    }

    await check(label + 'request headers (H map before the call) are accepted', async () => {
        const ctx = new ClientContext({ requestHeaders: { trace: 'peer-test', n: 1 } });
        return same(await client.invoke('Echo', ['with headers'], ctx), 'with headers');
    });

    await check(label + '20 concurrent Echo calls', async () => {
        const ps = [];
        for (let i = 0; i < 20; i++) ps.push(call('Echo', 'c' + i + '-\u4e2d'));
        const rs = await Promise.all(ps);
        for (let i = 0; i < 20; i++) {
            if (rs[i] !== 'c' + i + '-\u4e2d') return 'call ' + i + ' got ' + JSON.stringify(rs[i]);
        }
    });

    await sessionChecks(label, call);
    await check(label + 'still usable after errors', async () => same(await call('Echo', 'after'), 'after'));
    await client.abort();
    await big.abort();
}

async function main() {
    if (process.argv.length !== 3) {
        console.error('usage: node js_hprose3.js http://127.0.0.1:PORT');
        process.exit(2);
    }
    watchdog(150);
    const base = process.argv[2].replace(/\/+$/, '');
    const httpUri = base + '/webapi/';
    const wsUri = base.replace(/^http/, 'ws') + '/ws/';
    note('@hprose/rpc-core ' + require('@hprose/rpc-core/package.json').version + ', @hprose/rpc-node ' +
        require('@hprose/rpc-node/package.json').version + ' (npm), node ' + process.version +
        ', ' + httpUri + ' and ' + wsUri);
    await suite('http: ', httpUri);
    await suite('ws: ', wsUri);
    finish();
}

main().catch((e) => {
    console.log('FAIL script error: ' + (e && e.stack ? e.stack : e));
    finish();
});
