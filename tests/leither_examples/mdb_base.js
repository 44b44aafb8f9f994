#!/usr/bin/env node
// Leither's example/rpc/mdb/1base/mdb.go, call for call, over Hprose 3.0 WebSocket (see lx.js):
// MMCreate (six arguments) a database Mimei, MMOpen "cur", Set key0..9, Get them back.
// Usage: node mdb_base.js [http://HOST:PORT]
'use strict';
const lx = require('./lx');
const { field, text } = lx;

async function testmdb(p, sid) {
    console.log('testmdb');
    const mid = await p.must('MMCreate', sid, '', 'ext', 'mark testmdbbase', 2, 0x07276705);
    console.log('mid=', mid);
    const mmsid = await p.must('MMOpen', sid, mid, 'cur');
    try {
        console.log('mmsid=', mmsid);
        for (let i = 0; i < 10; i++) {
            await p.must('Set', mmsid, 'key' + i, 'value' + i);
            console.log('Set', 'key' + i, 'value' + i);
        }
        for (let i = 0; i < 10; i++) {
            const value = await p.must('Get', mmsid, 'key' + i);
            console.log('Get', 'key' + i, text(value));
            p.expect('Get key' + i, text(value), 'value' + i);
        }
    } finally {
        await p.deferred('MMClose', mmsid);
    }
}

new lx.Program('mdb/1base/mdb.go').run(async (p) => {
    const strPPT = await p.getLocalPassport(4800, 24);
    const reply = await p.loginWithPPT(strPPT);
    const sid = field(reply, 'Sid');
    try {
        await testmdb(p, sid);
    } finally {
        await p.deferred('Logout', sid, '');
    }
});
