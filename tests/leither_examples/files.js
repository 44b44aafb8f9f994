#!/usr/bin/env node
// Leither's example/rpc/files/files.go, call for call, over Hprose 3.0 WebSocket (see lx.js):
// log in with the local pass, write "hello world" to a temp file, copy it to /testfiles.txt,
// read it back with MMOpenUrl, recreate /testdir/, list /, remove the file.
// Usage: node files.js [http://HOST:PORT]
'use strict';
const lx = require('./lx');
const { field, text } = lx;

const TEST_FILE = '/testfiles.txt'; // the same as "files://testfiles.txt", "files/testfiles.txt"
const TEST_DIR = '/testdir/';

new lx.Program('files.go').run(async (p) => {
    const strPPT = await p.getLocalPassport(4800, 24);
    console.log('strPPT:', strPPT);
    const reply = await p.loginWithPPT(strPPT);
    const sid = field(reply, 'Sid');
    try {
        console.log('reply', sid, field(reply, 'Uid'));
        p.expect('LoginWithPPT gives a Sid', typeof sid === 'string' && sid !== '', true);

        let [, err] = await p.tryCall('FilesRm', sid, TEST_FILE, false, true);
        if (err !== null) console.log('err:', err);

        const fsid = await p.must('MFOpenTempFile', sid);
        console.log('fsid', fsid);
        try {
            const count = await p.must('MFSetData', fsid, new Uint8Array(Buffer.from('hello world')), 0);
            console.log('count', count);
            p.expect('MFSetData wrote 11 bytes', count, 11);

            let ipfsid;
            [ipfsid, err] = await p.tryCall('MFTemp2Files', fsid, TEST_FILE);
            if (err !== null) console.log('err:', err); // the name may exist already
            console.log('ipfsid', ipfsid);

            const fsid2 = await p.must('MMOpenUrl', sid, TEST_FILE);
            try {
                const data = await p.must('MFGetData', fsid2, 0, 100);
                console.log('data:', text(data));
                p.expect('MFGetData reads the file back', text(data), 'hello world');

                let fi;
                [fi, err] = await p.tryCall('FilesStat', sid, TEST_DIR);
                if (err === null) {
                    console.log('fi:', fi);
                    await p.tryCall('FilesRm', sid, TEST_DIR, true, true);
                } else if (!err.includes('no link named')) {
                    throw new lx.CallError('FilesStat', err);
                }

                await p.must('FilesMkdir', sid, TEST_DIR, true);
                const links = await p.must('FilesLs', sid, '/');
                console.log('links count：', links.length);
                for (const link of links) {
                    console.log(field(link, 'Name') + '\t' + field(link, 'Hash') + '\t' + field(link, 'Type'));
                }
                p.expect('FilesLs / lists testdir', links.map((l) => field(l, 'Name')).includes('testdir'), true);

                [, err] = await p.tryCall('FilesRm', sid, TEST_FILE, false, true);
                if (err !== null) console.log('err:', err);
            } finally {
                await p.deferred('MMClose', fsid2);
            }
        } finally {
            await p.deferred('MMClose', fsid);
        }
    } finally {
        await p.deferred('Logout', sid, '');
    }
});
