"""A tiny HTTP file server for the URL-source tests: serves the files of
a folder with a strong ETag (a hash of the content) and Last-Modified,
answers If-None-Match with 304, and logs one line per request
("METHOD PATH STATUS") to the log file.  A file named NAME.status makes
NAME answer with that status code instead (e.g. 500).

usage: http_file_server.py FOLDER PORT_FILE LOG_FILE
Writes the port it listens on to PORT_FILE once it is ready."""
import hashlib
import http.server
import os
import sys

folder, port_file, log_file = sys.argv[1:4]


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def note(self, status):
        with open(log_file, "a") as f:
            f.write(f"{self.command} {self.path} {status}\n")

    def do_GET(self):
        path = os.path.join(folder, self.path.lstrip("/"))
        forced = path + ".status"
        if os.path.exists(forced):
            status = int(open(forced).read().strip())
            self.note(status)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if not os.path.isfile(path):
            self.note(404)
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = open(path, "rb").read()
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if self.headers.get("If-None-Match") == etag:
            self.note(304)
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.note(200)
        self.send_response(200)
        self.send_header("ETag", etag)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
