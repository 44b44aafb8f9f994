#!/usr/bin/env python3
"""A Mimei database through PyPI `hprose` 1.4.3: the same data redis-cli writes.

Usage: py_db.py http://127.0.0.1:PORT PASS MID

Logs in with PASS (a PPT pass the test signed with the node key), opens database Mimei MID
at cur, reads what redis-cli wrote there (`cli:greeting`, `cli:list`), writes a hash, a
sorted set and a counter that the test then reads back with redis-cli, and checks Redis's
error text for a wrong type. Prints "PASS"/"FAIL" lines and "N passed, M failed".
"""
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_here, '.pylib'))

try:
    from hprose.httpclient import HproseHttpClient
except ImportError as e:  # pragma: no cover
    print('FAIL import hprose 1.4.3: %s (run: bash tests/peers/install.sh)' % e)
    print('0 passed, 1 failed')
    sys.exit(1)

passed = 0
failed = 0


def check(name, got, want):
    global passed, failed
    if isinstance(got, bytes):
        got = got.decode('utf-8', 'replace')
    if got == want:
        passed += 1
        print('PASS %s' % name)
    else:
        failed += 1
        print('FAIL %s: got %r, want %r' % (name, got, want))


def main():
    url, ppt, mid = sys.argv[1].rstrip('/') + '/webapi/', sys.argv[2], sys.argv[3]
    c = HproseHttpClient(url)
    c.timeout = 10
    sid = c.Login(ppt)['sid']
    mm = c.MMOpen(sid, mid, 'cur')
    check('Get of a key redis-cli set', c.Get(mm, 'cli:greeting'), 'hello from redis-cli')
    check('Lrange of a list redis-cli pushed', [x.decode() if isinstance(x, bytes) else x
                                                for x in c.Lrange(mm, 'cli:list', 0, -1)],
          ['a', 'b', 'c'])
    # Leither's Hmset answers only an error: None on success.
    check('Hmset with a dict', c.Hmset(mm, 'py:user', {'name': 'ann', 'lang': 'python'}), None)
    check('Zadd', c.Zadd(mm, 'py:board', 10, 'ann', 20, 'bob'), 2)
    check('Zadd with a ScorePair', c.Zadd(mm, 'py:board', {'Score': 30, 'Member': 'cy'}), 1)
    check('Zrange gives ScorePairs', c.Zrange(mm, 'py:board', 2, 2),
          [{'Score': 30, 'Member': 'cy'}])
    check('Set of a dict', c.Set(mm, 'py:map', {'a': 1, 'b': [1, 2]}), None)
    check('Get gives the dict back', c.Get(mm, 'py:map'), {'a': 1, 'b': [1, 2]})
    check('IncrBy', c.IncrBy(mm, 'py:n', 41), 41)
    check('Incr', c.Incr(mm, 'py:n'), 42)
    try:
        c.Lpush(mm, 'cli:greeting', 'x')
        check('Lpush on a string is refused', 'no error', 'WRONGTYPE')
    except Exception as e:  # noqa: BLE001
        check('Lpush on a string is refused', 'WRONGTYPE' in str(e), True)
    check('the string is unchanged', c.Get(mm, 'cli:greeting'), 'hello from redis-cli')
    print('%d passed, %d failed' % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
