#!/usr/bin/env node
// Drives a Leither node through npm `hprose` 2.0.51 over HTTP (POST <url>/webapi/) and over
// WebSocket (ws://<host:port>/ws/).
//
// Usage: node js_hprose2.js http://127.0.0.1:PORT
//
// Prints one line per check, "note:" lines that are not checks, and ends with
// "N passed, M failed"; exits 1 if any check failed.
//
// What this client does on the wire (hprose 2.0 for Node.js):
//  * the function list is the empty request `z`, answered `F<list>z`; the client only asks
//    for it when it has no ES Proxy, so the check hides Proxy while the client is created;
//  * numbers: int32 as `i`/digit, any other number as `d` (it never sends `l`), reads `l` past
//    2^53 back as a string;
//  * a one-character string is `u`, a longer one `s<UTF-16 length>"..."` (an emoji is 2);
//  * batches: client.batch.begin(); calls; client.batch.end() -> one request `C..C..C..z`,
//    answered with one R or E per call in order, then `z`;
//  * over WebSocket every message is a 4-byte big-endian request id followed by the request;
//    the reply must carry the same id. No subprotocol is asked for.
'use strict';

const hprose = require('hprose');
const { nested, refusedWithReason, probe, check, note, finish, watchdog, same, rejects, echoValues, sessionChecks, API } = require('./checks');

async function functionList(label, Ctor, uri) {
    await check(label + 'function list (empty request z -> F list, via useService)', async () => {
        const savedProxy = global.Proxy;
        let client;
        try {
            global.Proxy = undefined;
            client = new Ctor(uri, undefined, { timeout: 10000 });
        } finally {
            global.Proxy = savedProxy;
        }
        const stub = await client.ready();
        const missing = API.filter((n) => typeof stub[n] !== 'function');
        if (typeof client.close === 'function') client.close();
        if (missing.length) return 'functions missing after useService: ' + missing.join(', ');
        // A Proxy stub would answer any name: this proves the list was really fetched.
        if (stub.NoSuchFunctionXyz !== undefined) return 'the stub came from a Proxy, not from the F list';
    });
}

async function suite(label, client) {
    const call = (name, ...args) => client.invoke(name, args);

    // The stub way (useService with names given, no list request).
    await check(label + 'useService stub call Echo', async () => {
        const stub = client.useService(API, true);
        return same(await stub.Echo('via stub'), 'via stub');
    });

    for (const [name, v] of echoValues()) {
        await check(label + 'Echo ' + name, async () => same(await call('Echo', v), v));
    }
    // The node keeps only string map keys (src/api/value.rs); JS objects have only those.
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

    await check(label + '20 concurrent Echo calls', async () => {
        const ps = [];
        for (let i = 0; i < 20; i++) ps.push(call('Echo', 'c' + i + '-\u4e2d'));
        const rs = await Promise.all(ps);
        for (let i = 0; i < 20; i++) {
            if (rs[i] !== 'c' + i + '-\u4e2d') return 'call ' + i + ' got ' + JSON.stringify(rs[i]);
        }
    });

    // One request holding several calls, one of them failing.
    await check(label + 'batch of 5 calls in one request (one fails)', async () => {
        client.batch.begin();
        const ps = [
            client.invoke('Echo', [1]),
            client.invoke('Echo', ['two']),
            client.invoke('NoSuchFunctionInBatch', []),
            client.invoke('Echo', [[3, 'three', 'three']]),
            client.invoke('Login', []),
        ];
        const done = client.batch.end();
        const rs = await Promise.allSettled(ps);
        await done;
        const want = [1, 'two', null, [3, 'three', 'three']];
        for (const i of [0, 1, 3]) {
            if (rs[i].status !== 'fulfilled') return 'call ' + i + ' rejected: ' + rs[i].reason;
            const r = same(rs[i].value, want[i], 'call ' + i);
            if (r) return r;
        }
        if (rs[2].status !== 'rejected') return 'unknown function in batch did not fail';
        if (!String(rs[2].reason.message).includes('NoSuchFunctionInBatch')) {
            return 'batch error does not name the function: ' + rs[2].reason.message;
        }
        if (rs[4].status !== 'fulfilled' || typeof rs[4].value.sid !== 'string') {
            return 'Login in batch: ' + (rs[4].reason || JSON.stringify(rs[4].value));
        }
    });

    await sessionChecks(label, call);
}

async function main() {
    if (process.argv.length !== 3) {
        console.error('usage: node js_hprose2.js http://127.0.0.1:PORT');
        process.exit(2);
    }
    watchdog(150);
    const base = process.argv[2].replace(/\/+$/, '');
    const httpUri = base + '/webapi/';
    const wsUri = base.replace(/^http/, 'ws') + '/ws/';
    note('hprose ' + require('hprose/package.json').version + ' (npm), node ' + process.version +
        ', ' + httpUri + ' and ' + wsUri);

    const http = new hprose.HttpClient(httpUri, API, { timeout: 10000 });
    if (await probe('http: ', (name, ...args) => http.invoke(name, args))) {
        await functionList('http: ', hprose.HttpClient, httpUri);
        await suite('http: ', http);
    }

    const ws = new hprose.WebSocketClient(wsUri, API, { timeout: 10000 });
    if (await probe('ws: ', (name, ...args) => ws.invoke(name, args))) {
        await functionList('ws: ', hprose.WebSocketClient, wsUri);
        await suite('ws: ', ws);
    }
    ws.close();
    finish();
}

main().catch((e) => {
    console.log('FAIL script error: ' + (e && e.stack ? e.stack : e));
    finish();
});
