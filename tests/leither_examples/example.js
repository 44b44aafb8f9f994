#!/usr/bin/env node
// Leither's example/rpc/example.go, call for call, over Hprose 3.0 WebSocket (see lx.js):
// the node's version as a guest, GetVarObj(&ver, "", lapi.ApiVarVersion) = GetGobVar + gob.
// Usage: node example.js [http://HOST:PORT]
'use strict';
const lx = require('./lx');

new lx.Program('example.go').run(async (p) => {
    const ver = await p.getVarObj('', 'ver'); // lapi.ApiVarVersion
    console.log('cur ver:', ver);
    p.expect('the version is a non-empty string', typeof ver === 'string' && ver !== '', true);
});
