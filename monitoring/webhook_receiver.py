#!/usr/bin/env python3
"""A loopback webhook receiver for Alertmanager (tests and demo).

    python3 monitoring/webhook_receiver.py PORT OUTFILE

Appends the body of every POST (Alertmanager's JSON notification) to
OUTFILE as one line and answers 200.  Listens on 127.0.0.1 only.
"""
import http.server
import json
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    """Store each notification; GET / answers 200 (readiness)."""

    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(n)
        try:
            line = json.dumps(json.loads(body), separators=(",", ":"))
        except ValueError:
            line = json.dumps({"unparsed": body.decode("utf-8", "replace")})
        with open(OUT, "a") as f:
            f.write(line + "\n")
        self.send_response(200)
        self.end_headers()

    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"movierec webhook receiver\n")

    def log_message(self, fmt, *args):
        pass


if __name__ == "__main__":
    OUT = sys.argv[2]
    http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
