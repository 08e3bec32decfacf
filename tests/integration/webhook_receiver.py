#!/usr/bin/python3
"""A webhook receiver for dagrun's tests (standard library only).

Listens on 127.0.0.1 on a free port, which it writes to --port-file once
it is ready (written to a temp file and renamed, so a reader never sees
half a number).  Every POST is answered 500 for the first --fail-first
requests carrying one Idempotency-Key, then 200; with --hang it never
answers at all.  Each request is appended to --log as one JSON line,
before the answer is sent:

  {"path", "key" (Idempotency-Key), "event" (X-Dagrun-Event),
   "content_type", "status" (what was answered), "body" (parsed JSON, or
   the raw text), "sig_ok" (with --secret: whether X-Dagrun-Signature is
   the HMAC-SHA256 of the body; else null)}

Stop it with SIGTERM.
"""
import argparse
import hashlib
import hmac
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--fail-first", type=int, default=0)
    ap.add_argument("--secret")
    ap.add_argument("--hang", action="store_true")
    args = ap.parse_args()
    lock = threading.Lock()
    seen = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(n)
            if args.hang:
                time.sleep(3600)
                return
            key = self.headers.get("Idempotency-Key")
            sig_ok = None
            if args.secret is not None:
                want = "sha256=" + hmac.new(args.secret.encode(), raw,
                                            hashlib.sha256).hexdigest()
                sig_ok = self.headers.get("X-Dagrun-Signature") == want
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
            with lock:
                seen[key] = seen.get(key, 0) + 1
                status = 500 if seen[key] <= args.fail_first else 200
                rec = {"path": self.path, "key": key,
                       "event": self.headers.get("X-Dagrun-Event"),
                       "content_type": self.headers.get("Content-Type"),
                       "status": status, "body": body, "sig_ok": sig_ok}
                with open(args.log, "a") as f:
                    f.write(json.dumps(rec, sort_keys=True) + "\n")
            reply = b"ok\n" if status == 200 else b"try again\n"
            self.send_response(status)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
