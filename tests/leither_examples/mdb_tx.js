#!/usr/bin/env node
// Leither's example/rpc/mdb/2tx/tx.go, call for call, over Hprose 3.0 WebSocket (see lx.js):
// write a hash, read it; Begin, overwrite, read, Rollback, read; Begin, overwrite, read,
// Commit, read. The Go program prints what it reads; `expect` checks what its comments say a
// reader sees (as mdb_tx.py). Usage: node mdb_tx.js [http://HOST:PORT]
'use strict';
const lx = require('./lx');
const { field, text } = lx;

async function write(p, mmsid, off) {
    console.log('write');
    for (let i = 0; i < 10; i++) {
        await p.must('Hset', mmsid, 'key', 'field' + i, 'value' + (i + off));
        console.log('hset', 'key', 'field' + i, 'value' + (i + off));
    }
}

async function read(p, mmsid, off, when) {
    console.log('read');
    const got = [];
    for (let i = 0; i < 10; i++) {
        const value = await p.must('Hget', mmsid, 'key', 'field' + i);
        console.log('HGet', 'key', 'field' + i, text(value));
        got.push(text(value));
    }
    p.expect('Hget field0..9 ' + when, got, [...Array(10).keys()].map((i) => 'value' + (i + off)));
}

async function testTx(p, sid) {
    console.log('testx');
    const mid = await p.must('MMCreate', sid, '', 'ext', 'mark testmdbtx', 2, 0x07276705);
    console.log('mid=', mid);
    const mmsid = await p.must('MMOpen', sid, mid, 'cur');
    try {
        console.log('mmsid=', mmsid);
        await write(p, mmsid, 0);
        await read(p, mmsid, 0, 'after the first write');
        console.log('testRollback');
        await p.must('Begin', mmsid, 10);
        await write(p, mmsid, 100);
        await read(p, mmsid, 100, 'inside the transaction');
        await p.must('Rollback', mmsid);
        await read(p, mmsid, 0, 'after Rollback');
        console.log('testCommit');
        await p.must('Begin', mmsid, 10);
        await write(p, mmsid, 100);
        await read(p, mmsid, 100, 'inside the second transaction');
        await p.must('Commit', mmsid);
        await read(p, mmsid, 100, 'after Commit');
    } finally {
        await p.deferred('MMClose', mmsid);
    }
}

new lx.Program('mdb/2tx/tx.go').run(async (p) => {
    const strPPT = await p.getLocalPassport(4800, 24);
    const reply = await p.loginWithPPT(strPPT);
    const sid = field(reply, 'Sid');
    try {
        await testTx(p, sid);
    } finally {
        await p.deferred('Logout', sid, '');
    }
});
