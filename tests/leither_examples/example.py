#!/usr/bin/env python3
"""Leither's example/rpc/example.go, call for call: the node's version as a guest.

Go: stub.GetVarObj(&ver, "", lapi.ApiVarVersion) -> GetGobVar("", "ver") and a gob string.
Usage: example.py [http://HOST:PORT]
"""
import lx


def main(p):
    # No login: the empty session id is Leither's guest.
    ver = p.get_var_obj('', 'ver')  # lapi.ApiVarVersion
    print('cur ver:', ver)
    p.expect('the version is a non-empty string', isinstance(ver, str) and ver != '', True)


lx.Program('example.go').run(main)
