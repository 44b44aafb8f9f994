#!/usr/bin/env python3
"""Leither's example/rpc/mfile/mfile.go, call for call: open a Mimei and list its files.

Substitution: the Go program opens lapi.LeitherApp ("Fc1BRTFafOGzq5P8KmkVJqwS2v2", Leither's
own web app, a fixed Mimei ID that exists only on a Leither node). Our node's closest thing
is its web root Mimei `mmroot` (the files served at `/`), opened by that name the same way;
LX_MFILE_MID overrides it.
Usage: mfile.py [http://HOST:PORT]
"""
import os

import lx
from lx import field

LEITHER_APP = os.environ.get('LX_MFILE_MID', 'mmroot')


def testmfile(p, sid):
    print('testmfile')
    mmsid = p.must('MMOpen', sid, LEITHER_APP, 'last')
    try:
        print('mmsid=', mmsid)
        ayfi = p.must('MFReaddir', mmsid, -1)
        for fi in ayfi:
            print('fi.Name', field(fi, 'FName'))
        p.expect('MFReaddir gives entries with an FName', len(ayfi) > 0 and all(
            isinstance(field(fi, 'FName'), str) and field(fi, 'FName') for fi in ayfi), True)
    finally:
        p.deferred('MMClose', mmsid)


def main(p):
    str_ppt = p.get_local_passport(4800, 24)
    reply = p.login_with_ppt(str_ppt)
    sid = field(reply, 'Sid')
    try:
        testmfile(p, sid)
    finally:
        p.deferred('Logout', sid, '')


lx.Program('mfile.go').run(main)
