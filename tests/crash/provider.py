"""A fake SendGrid v3 mail/send API in a process of its own, recording every message it accepts.

The crash harness needs the provider to outlive the processes it kills, and to tell afterwards
which messages reached it and how often: each request's custom arguments (the outbox id of the
message) are appended to a JSON-lines file before the answer is sent, so a request the client
never saw answered is still counted.

    python -m tests.crash.provider RECORD_FILE PORT_FILE
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def main() -> None:
    record, port_file = Path(sys.argv[1]), Path(sys.argv[2])
    lock = threading.Lock()
    count = [0]

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802 (the http.server API)
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            to = [p["email"] for person in body.get("personalizations", []) for p in person.get("to", [])]
            with lock:
                count[0] += 1
                number = count[0]
                with record.open("a", encoding="utf-8") as out:
                    out.write(json.dumps({"custom_args": body.get("custom_args", {}), "to": to}) + "\n")
            self.send_response(202)
            self.send_header("X-Message-Id", f"fake-{number}")
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    partial = port_file.with_name(port_file.name + ".part")
    partial.write_text(str(server.server_address[1]))
    partial.replace(port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
