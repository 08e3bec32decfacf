"""A tiny remote cache in bazel-remote's HTTP layout, for the remote cache
tests: GET, HEAD and PUT of /ac/KEY and /cas/SHA256, stored as files
FOLDER/ac/KEY and FOLDER/cas/SHA256.  A PUT to /cas/ whose body does not
hash to its name is refused (400), as bazel-remote does.  One line per
request ("METHOD PATH STATUS") goes to the log file.

usage: remote_cache_server.py FOLDER PORT_FILE LOG_FILE [--status N]
                              [--corrupt objects|all]
  --status N         answer every request with status N (e.g. 500)
  --corrupt objects  serve every object that is not a manifest with its
                     first byte changed (same size, wrong hash)
  --corrupt all      the same for manifests too
Writes the port it listens on to PORT_FILE once it is ready.
Python 3 standard library only."""
import hashlib
import http.server
import os
import re
import sys

args = sys.argv[1:]
folder, port_file, log_file = args[:3]
opts = dict(zip(args[3::2], args[4::2]))
forced = int(opts["--status"]) if "--status" in opts else 0
corrupt = opts.get("--corrupt", "")
PATH = re.compile(r"^/(ac|cas)/([0-9a-f]{64})$")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", length=None):
        with open(log_file, "a") as f:
            f.write(f"{self.command} {self.path} {status}\n")
        self.send_response(status)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def target(self):
        """The file for the request's path, or None after answering."""
        if forced:
            self.answer(forced)
            return None
        m = PATH.match(self.path)
        if not m:
            self.answer(400)
            return None
        return os.path.join(folder, m.group(1), m.group(2))

    def existing(self):
        """The file of a GET or HEAD, or None after answering."""
        path = self.target()
        if path is not None and not os.path.isfile(path):
            self.answer(404)
            return None
        return path

    def do_GET(self):
        path = self.existing()
        if path is None:
            return
        body = open(path, "rb").read()
        manifest = body.startswith(b'{"files":')
        if self.path.startswith("/cas/") and body and (
                corrupt == "all" or (corrupt == "objects" and not manifest)):
            body = bytes([body[0] ^ 0x20]) + body[1:]
        self.answer(200, body)

    def do_HEAD(self):
        path = self.existing()
        if path is None:
            return
        self.answer(200, length=os.path.getsize(path))

    def do_PUT(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        path = self.target()
        if path is None:
            return
        if self.path.startswith("/cas/") and \
                hashlib.sha256(body).hexdigest() != os.path.basename(path):
            self.answer(400)
            return
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path + ".tmp", "wb") as f:
            f.write(body)
        os.rename(path + ".tmp", path)
        self.answer(200)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
