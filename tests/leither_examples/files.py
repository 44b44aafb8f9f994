#!/usr/bin/env python3
"""Leither's example/rpc/files/files.go, call for call: the node's `files` tree (IPFS MFS).

Log in with the node's local pass, write "hello world" to a temp file, copy it to
/testfiles.txt, read it back through MMOpenUrl, recreate /testdir/, list /, remove the file.
Usage: files.py [http://HOST:PORT]
"""
import lx
from lx import field, text

TEST_FILE = '/testfiles.txt'  # the same as "files://testfiles.txt" and "files/testfiles.txt"
TEST_DIR = '/testdir/'


def main(p):
    str_ppt = p.get_local_passport(4800, 24)
    print('strPPT:', str_ppt)

    reply = p.login_with_ppt(str_ppt)
    print('LoginWithPPT', reply, None)
    sid = field(reply, 'Sid')
    try:
        print('reply', sid, field(reply, 'Uid'))
        p.expect('LoginWithPPT gives a Sid', isinstance(sid, str) and sid != '', True)

        # Remove the test file first; an error is only printed.
        _, err = p.try_call('FilesRm', sid, TEST_FILE, False, True)
        if err is not None:
            print('err:', err)

        fsid = p.must('MFOpenTempFile', sid)
        print('fsid', fsid)
        try:
            count = p.must('MFSetData', fsid, b'hello world', 0)
            print('count', count)
            p.expect('MFSetData wrote 11 bytes', count, 11)

            # Copy the temp file to /testfiles.txt; an error (say, the name exists) is printed.
            ipfsid, err = p.try_call('MFTemp2Files', fsid, TEST_FILE)
            if err is not None:
                print('err:', err)
            print('ipfsid', ipfsid)

            fsid2 = p.must('MMOpenUrl', sid, TEST_FILE)
            try:
                data = p.must('MFGetData', fsid2, 0, 100)
                print('data:', text(data))
                p.expect('MFGetData reads the file back', text(data), 'hello world')

                # Is the directory there? Then remove it. Any error but IPFS's
                # "no link named {name} under {node}" is fatal.
                fi, err = p.try_call('FilesStat', sid, TEST_DIR)
                if err is None:
                    print('fi:', fi)
                    p.try_call('FilesRm', sid, TEST_DIR, True, True)
                elif 'no link named' not in err:
                    raise lx.CallError('FilesStat', err)

                p.must('FilesMkdir', sid, TEST_DIR, True)
                links = p.must('FilesLs', sid, '/')
                print('links count：', len(links))
                for link in links:
                    print('%s\t%s\t%s' % (field(link, 'Name'), field(link, 'Hash'),
                                          field(link, 'Type')))
                names = [field(link, 'Name') for link in links]
                p.expect('FilesLs / lists testdir', 'testdir' in names, True)

                _, err = p.try_call('FilesRm', sid, TEST_FILE, False, True)
                if err is not None:
                    print('err:', err)
            finally:
                p.deferred('MMClose', fsid2)
        finally:
            p.deferred('MMClose', fsid)
    finally:
        p.deferred('Logout', sid, '')


lx.Program('files.go').run(main)
