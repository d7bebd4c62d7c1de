#!/usr/bin/env python3
"""A loopback stand-in for two things the observability test needs next to the agent:

- Security Hub's BatchImportFindings (any POST): accepts every finding but the first of
  each batch, which it rejects, so the sink has sent, failed and pending findings;
- a scrape target (GET /metrics) serving the --textfile a one-shot run wrote, as
  node_exporter's textfile collector would.

Usage: fake_sink.py PORT_FILE TEXTFILE   (writes the port it listens on to PORT_FILE)
"""
import json, os, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def reply(self, code, body, ctype):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        doc = json.loads(self.rfile.read(n) or b"{}")
        ids = [f.get("Id", "") for f in doc.get("Findings", [])]
        failed = [{"Id": i, "ErrorCode": "InvalidInput", "ErrorMessage": "rejected by the test"} for i in ids[:1]]
        self.reply(200, json.dumps({"FailedCount": len(failed), "SuccessCount": len(ids) - len(failed),
                                    "FailedFindings": failed}), "application/json")

    def do_GET(self):
        if self.path.split("?")[0] != "/metrics":
            return self.reply(404, "not found\n", "text/plain")
        try:
            with open(sys.argv[2]) as f:
                text = f.read()
        except OSError:
            return self.reply(503, "no textfile yet\n", "text/plain")
        self.reply(200, text, "text/plain; version=0.0.4")


srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
srv.serve_forever()
