// The page's logic (see index.html). Query parameters: name, pass (defaults below), api (the
// Hprose URL, default <origin>/webapi/). Every call is recorded as {fn, ok, err} in
// window.lxResult.calls; window.lxResult.done turns true at the end, with `error` naming the
// call that stopped the page, if one did.
'use strict';
(function () {
    var q = new URLSearchParams(location.search);
    var name = q.get('name') || 'lxbrowse';
    var pass = q.get('pass') || 'lxbrowse-pass-1';
    var api = q.get('api') || (location.origin + '/webapi/');
    var result = window.lxResult = { done: false, calls: [], files: [], error: null };

    function status(s) {
        var el = document.getElementById('status');
        if (el) el.textContent = s;
    }

    function call(fn, args) {
        return new Promise(function (resolve, reject) {
            var client = call.client || (call.client = new hprose.HttpClient(api, []));
            client.invoke(fn, args).then(function (r) {
                result.calls.push({ fn: fn, ok: true });
                resolve(r);
            }, function (e) {
                var err = (e && e.message) || String(e);
                result.calls.push({ fn: fn, ok: false, err: err });
                reject(new Error(fn + ': ' + err));
            });
        });
    }

    function field(obj, key) {
        if (obj == null) return undefined;
        for (var k in obj) {
            if (k.toLowerCase() === key.toLowerCase()) return obj[k];
        }
        return undefined;
    }

    function bytesText(v) {
        if (typeof v === 'string') return v;
        return new TextDecoder().decode(v instanceof Uint8Array ? v : new Uint8Array(v));
    }

    async function main() {
        status('register');
        // Register(name, pass): on a second run the name exists; that error is not fatal.
        try {
            result.uid = await call('Register', [name, pass]);
        } catch (e) {
            result.registerError = e.message;
        }
        status('login');
        var reply = await call('Login', [name, pass, 'byname']);
        var sid = field(reply, 'Sid');
        result.sid = sid;
        result.loginUid = field(reply, 'Uid');
        if (typeof sid !== 'string' || sid === '') throw new Error('Login: no Sid in ' + JSON.stringify(reply));

        status('open mmroot');
        var mmsid = await call('MMOpen', [sid, 'mmroot', 'last']);
        var infos = await call('MFReaddir', [mmsid, -1]);
        var list = document.getElementById('files');
        infos.forEach(function (fi) {
            var entry = { name: field(fi, 'FName'), size: field(fi, 'FSize'), dir: !!field(fi, 'FIsDir') };
            result.files.push(entry);
            var li = document.createElement('li');
            li.textContent = entry.name + (entry.dir ? '/' : ' (' + entry.size + ' bytes)');
            list.appendChild(li);
        });

        var file = result.files.filter(function (f) { return !f.dir && f.name; })[0];
        if (!file) throw new Error('MFReaddir: mmroot has no file to open: ' + JSON.stringify(result.files));
        status('open ' + file.name);
        result.opened = file.name;
        var fsid = await call('MFOpenByPath', [sid, mmsid, '/' + file.name, 0]);
        var data = await call('MFGetData', [fsid, 0, 4096]);
        var text = bytesText(data);
        result.dataLength = new TextEncoder().encode(text).length;
        result.wantLength = Math.min(Number(file.size) || 0, 4096);
        document.getElementById('content').textContent = text;
        await call('MMClose', [fsid]).catch(function () {});
        await call('MMClose', [mmsid]).catch(function () {});
        await call('Logout', [sid, '']).catch(function () {});
        status('done');
    }

    window.addEventListener('load', function () {
        main().catch(function (e) {
            result.error = e.message;
            status('error: ' + e.message);
        }).then(function () {
            result.done = true;
        });
    });
})();
