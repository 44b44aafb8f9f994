#!/usr/bin/env node
// Leither's example/rpc/mdb/3backup/bk.go, call for call, over Hprose 3.0 WebSocket (see
// lx.js): Lpush ten values, back the database up with MMBackup(mmsid, mid, "MMBackup") (the
// mmsid where lapi declares sid, as the Go program sends it), and read the list back from the
// version. Usage: node mdb_backup.js [http://HOST:PORT]
'use strict';
const lx = require('./lx');
const { field, text } = lx;

async function read(p, mmsid, when) {
    console.log('read');
    const got = [];
    for (let i = 0; i < 10; i++) {
        const value = await p.must('Lindex', mmsid, 'key', i);
        console.log('Lindex', 'key', i, text(value));
        got.push(text(value));
    }
    p.expect('Lindex 0..9 ' + when, got, [...Array(10).keys()].map((i) => 'value' + (9 - i)));
}

async function testBackup(p, sid) {
    console.log('testBackup');
    const mid = await p.must('MMCreate', sid, '', 'ext', 'mark testmdbBackup', 2, 0x07276705);
    console.log('mid=', mid);
    const mmsid = await p.must('MMOpen', sid, mid, 'cur');
    try {
        console.log('mmsid=', mmsid);
        console.log('write');
        for (let i = 0; i < 10; i++) {
            await p.must('Lpush', mmsid, 'key', 'value' + i);
            console.log('Lpush', 'key', 'value' + i);
        }
        await read(p, mmsid, 'in cur');
        let ver = await p.must('MMBackup', mmsid, mid, 'MMBackup');
        if (typeof ver === 'number') ver = String(ver);
        console.log('ver =', ver);
        p.expect('MMBackup returns a version', typeof ver === 'string' && ver !== '', true);
        const mmsid2 = await p.must('MMOpen', sid, mid, ver);
        try {
            console.log('mmsid2=', mmsid2);
            await read(p, mmsid2, 'in the backed-up version');
        } finally {
            await p.deferred('MMClose', mmsid2);
        }
    } finally {
        await p.deferred('MMClose', mmsid);
    }
}

new lx.Program('mdb/3backup/bk.go').run(async (p) => {
    const strPPT = await p.getLocalPassport(4800, 24);
    const reply = await p.loginWithPPT(strPPT);
    const sid = field(reply, 'Sid');
    try {
        await testBackup(p, sid);
    } finally {
        await p.deferred('Logout', sid, '');
    }
});
