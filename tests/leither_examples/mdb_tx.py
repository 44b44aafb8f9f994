#!/usr/bin/env python3
"""Leither's example/rpc/mdb/2tx/tx.go, call for call: transactions on a database Mimei.

Write a hash, read it; Begin, overwrite, read, Rollback, read; Begin, overwrite, read, Commit,
read. The Go program only prints what it reads; its comments say what a reader should see
(inside a transaction: the new values 100..109; after the rollback: 0..9; after the commit:
100..109, the comment there repeats the rollback's by mistake), which `expect` checks.
Usage: mdb_tx.py [http://HOST:PORT]
"""
import lx
from lx import field, text


def write(p, mmsid, off):
    print('write')
    key = 'key'
    for i in range(10):
        fld, value = 'field%d' % i, 'value%d' % (i + off)
        p.must('Hset', mmsid, key, fld, value)
        print('hset', key, fld, value)


def read(p, mmsid, off, when):
    print('read')
    key = 'key'
    got = []
    for i in range(10):
        fld = 'field%d' % i
        value = p.must('Hget', mmsid, key, fld)
        print('HGet', key, fld, text(value))
        got.append(text(value))
    p.expect('Hget field0..9 %s' % when, got, ['value%d' % (i + off) for i in range(10)])


def test_rollback(p, mmsid):
    print('testRollback')
    p.must('Begin', mmsid, 10)
    write(p, mmsid, 100)
    read(p, mmsid, 100, 'inside the transaction')
    p.must('Rollback', mmsid)
    read(p, mmsid, 0, 'after Rollback')


def test_commit(p, mmsid):
    print('testCommit')
    p.must('Begin', mmsid, 10)
    write(p, mmsid, 100)
    read(p, mmsid, 100, 'inside the second transaction')
    p.must('Commit', mmsid)
    read(p, mmsid, 100, 'after Commit')


def test_tx(p, sid):
    print('testx')
    mid = p.must('MMCreate', sid, '', 'ext', 'mark testmdbtx', 2, 0x07276705)
    print('mid=', mid)
    mmsid = p.must('MMOpen', sid, mid, 'cur')
    try:
        print('mmsid=', mmsid)
        write(p, mmsid, 0)
        read(p, mmsid, 0, 'after the first write')
        test_rollback(p, mmsid)
        test_commit(p, mmsid)
    finally:
        p.deferred('MMClose', mmsid)


def main(p):
    str_ppt = p.get_local_passport(4800, 24)
    reply = p.login_with_ppt(str_ppt)
    sid = field(reply, 'Sid')
    try:
        test_tx(p, sid)
    finally:
        p.deferred('Logout', sid, '')


lx.Program('mdb/2tx/tx.go').run(main)
