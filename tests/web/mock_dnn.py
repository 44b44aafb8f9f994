#!/usr/bin/env python3
"""Mock DNN and providers for trying src/dnn/temp.html in a browser without a node.

  mock_dnn.py provider PORT NAME [hang]
      Answers GET/HEAD /<anything>?dnn=0 with CORS *: a path ending in / or .html gives an HTML
      page saying "content from NAME" that loads ./app.js (relative, so it checks <base>), which
      adds "script from NAME ran"; .txt gives text/plain; .png a 1x1 PNG. Without dnn=0: 400.
      hang: accepts connections and never answers.
  mock_dnn.py dnn PORT URL@GROUP... [visitor=ADDR]
      Answers GET /<path> with temp.html filled as the node fills it: title = the path,
      target = the path, cands = the URL@GROUP arguments (none when the query has nocands),
      note = the query's note=... .

Every server binds 127.0.0.1 and prints "ready PORT" once listening.
"""
import html
import json
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[2] / 'src' / 'dnn' / 'temp.html'
PNG = bytes.fromhex('89504e470d0a1a0a0000000d4948445200000001000000010806000000'
                    '1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a1f1a8'
                    'a30000000049454e44ae426082')


def fill(title, note, data):
    d = json.dumps(data, separators=(',', ':')).replace('<', '\\u003c')
    return (TEMPLATE.read_text().replace('{{title}}', html.escape(title, quote=False))
            .replace('{{note}}', html.escape(note, quote=False)).replace('{{data}}', d))


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *a):
        pass

    def send(self, code, ctype, body, head=False):
        self.send_response(code)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(body)))
        self.send_header('Access-Control-Allow-Origin', '*')
        self.send_header('Cache-Control', 'no-store')
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET(head=True)

    def do_GET(self, head=False):
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)
        if ROLE == 'dnn':
            cands = [] if 'nocands' in q else CANDS
            page = fill(url.path, q.get('note', [''])[0],
                        {'target': url.path, 'cands': cands, 'visitor': VISITOR})
            return self.send(200, 'text/html; charset=utf-8', page.encode(), head)
        if HANG:
            time.sleep(3600)
            return
        p = url.path
        if p.endswith('app.js'):
            js = f'document.body.insertAdjacentHTML("beforeend","<p>script from {NAME} ran</p>")'
            return self.send(200, 'text/javascript', js.encode(), head)
        if q.get('dnn') != ['0']:
            return self.send(400, 'application/json', b'{"error":"want dnn=0"}', head)
        if p.endswith('.txt'):
            return self.send(200, 'text/plain; charset=utf-8', f'plain <text> from {NAME}\n'.encode(), head)
        if p.endswith('.png'):
            return self.send(200, 'image/png', PNG, head)
        if p.endswith('/') or p.endswith('.html'):
            page = (f'<!doctype html><html><head><title>{NAME}</title></head><body>'
                    f'<h1>content from {NAME}</h1><p>path {html.escape(p)}</p>'
                    f'<script src="app.js"></script></body></html>')
            return self.send(200, 'text/html; charset=utf-8', page.encode(), head)
        return self.send(404, 'application/json', b'{"error":"not found"}', head)


if __name__ == '__main__':
    ROLE, port = sys.argv[1], int(sys.argv[2])
    rest = sys.argv[3:]
    NAME = rest[0] if ROLE == 'provider' else ''
    HANG = 'hang' in rest[1:]
    VISITOR = next((a.split('=', 1)[1] for a in rest if a.startswith('visitor=')), '127.0.0.1')
    CANDS = [{'url': a.rsplit('@', 1)[0], 'group': int(a.rsplit('@', 1)[1])}
             for a in rest if '@' in a and ROLE == 'dnn']
    srv = ThreadingHTTPServer(('127.0.0.1', port), Handler)
    srv.daemon_threads = True
    print('ready', srv.server_address[1], flush=True)
    srv.serve_forever()
