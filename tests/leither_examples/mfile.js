#!/usr/bin/env node
// Leither's example/rpc/mfile/mfile.go, call for call, over Hprose 3.0 WebSocket (see lx.js):
// open a Mimei and list its files. As mfile.py: the Go program opens Leither's own app Mimei
// (lapi.LeitherApp, which only a Leither node has); ours opens the node's `mmroot` (the test
// prepares it as Leither's setup does); LX_MFILE_MID overrides it.
// Usage: node mfile.js [http://HOST:PORT]
'use strict';
const lx = require('./lx');
const { field } = lx;

const LEITHER_APP = process.env.LX_MFILE_MID || 'mmroot';

async function testmfile(p, sid) {
    console.log('testmfile');
    const mmsid = await p.must('MMOpen', sid, LEITHER_APP, 'last');
    try {
        console.log('mmsid=', mmsid);
        const ayfi = await p.must('MFReaddir', mmsid, -1);
        for (const fi of ayfi) console.log('fi.Name', field(fi, 'FName'));
        p.expect('MFReaddir gives entries with an FName', Array.isArray(ayfi) && ayfi.length > 0
            && ayfi.every((fi) => typeof field(fi, 'FName') === 'string' && field(fi, 'FName') !== ''), true);
    } finally {
        await p.deferred('MMClose', mmsid);
    }
}

new lx.Program('mfile.go').run(async (p) => {
    const strPPT = await p.getLocalPassport(4800, 24);
    const reply = await p.loginWithPPT(strPPT);
    const sid = field(reply, 'Sid');
    try {
        await testmfile(p, sid);
    } finally {
        await p.deferred('Logout', sid, '');
    }
});
