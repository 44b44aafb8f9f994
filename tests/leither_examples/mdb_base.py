#!/usr/bin/env python3
"""Leither's example/rpc/mdb/1base/mdb.go, call for call: a database Mimei, Set and Get.

MMCreate(sid, appid "", ext "ext", mark "mark testmdbbase", tp 2, right 0x07276705): six
arguments as lapi.MiMeiStub has them (a fixed mark gives the same Mimei on every run).
Usage: mdb_base.py [http://HOST:PORT]
"""
import lx
from lx import field, text


def testmdb(p, sid):
    print('testmdb')
    mid = p.must('MMCreate', sid, '', 'ext', 'mark testmdbbase', 2, 0x07276705)
    print('mid=', mid)

    mmsid = p.must('MMOpen', sid, mid, 'cur')
    try:
        print('mmsid=', mmsid)
        for i in range(10):
            key, value = 'key%d' % i, 'value%d' % i
            p.must('Set', mmsid, key, value)
            print('Set', key, value)

        for i in range(10):
            key = 'key%d' % i
            value = p.must('Get', mmsid, key)
            print('Get', key, text(value))
            p.expect('Get %s' % key, text(value), 'value%d' % i)
    finally:
        p.deferred('MMClose', mmsid)


def main(p):
    str_ppt = p.get_local_passport(4800, 24)
    reply = p.login_with_ppt(str_ppt)
    sid = field(reply, 'Sid')
    try:
        testmdb(p, sid)
    finally:
        p.deferred('Logout', sid, '')


lx.Program('mdb/1base/mdb.go').run(main)
