#!/usr/bin/env python3
"""Leither's example/rpc/mdb/3backup/bk.go, call for call: back a database Mimei up as a
version and read the list back from that version.

As in the Go program, MMBackup gets the Mimei *session* (mmsid) as its first argument, where
lapi declares `sid`: Leither accepts that, so we send exactly that.
Lpush puts each value at the head, so after value0..value9 Lindex 0..9 reads value9..value0;
the Go program only prints these, `expect` checks them. A fixed mark gives the same Mimei on
every run, so on a rerun the list is longer: the checks look at the first ten only.
Usage: mdb_backup.py [http://HOST:PORT]
"""
import lx
from lx import field, text


def write(p, mmsid):
    print('write')
    key = 'key'
    for i in range(10):
        value = 'value%d' % i
        p.must('Lpush', mmsid, key, value)
        print('Lpush', key, value)


def read(p, mmsid, when):
    print('read')
    key = 'key'
    got = []
    for i in range(10):
        value = p.must('Lindex', mmsid, key, i)
        print('Lindex', key, i, text(value))
        got.append(text(value))
    p.expect('Lindex 0..9 %s' % when, got, ['value%d' % (9 - i) for i in range(10)])


def test_backup(p, sid):
    print('testBackup')
    mid = p.must('MMCreate', sid, '', 'ext', 'mark testmdbBackup', 2, 0x07276705)
    print('mid=', mid)
    mmsid = p.must('MMOpen', sid, mid, 'cur')
    try:
        print('mmsid=', mmsid)
        write(p, mmsid)
        read(p, mmsid, 'in cur')

        ver = p.must('MMBackup', mmsid, mid, 'MMBackup')
        # Go reads the reply into a string; its hprose decoder also takes an integer as its
        # decimal text, so either is fine, and the next call sends a string as Go would.
        if isinstance(ver, int) and not isinstance(ver, bool):
            ver = str(ver)
        print('ver =', ver)
        p.expect('MMBackup returns a version', isinstance(ver, str) and ver != '', True)

        print('read ver', ver)
        mmsid2 = p.must('MMOpen', sid, mid, ver)
        try:
            print('mmsid2=', mmsid2)
            read(p, mmsid2, 'in the backed-up version')
        finally:
            p.deferred('MMClose', mmsid2)
    finally:
        p.deferred('MMClose', mmsid)


def main(p):
    str_ppt = p.get_local_passport(4800, 24)
    reply = p.login_with_ppt(str_ppt)
    sid = field(reply, 'Sid')
    try:
        test_backup(p, sid)
    finally:
        p.deferred('Logout', sid, '')


lx.Program('mdb/3backup/bk.go').run(main)
