"""The small HTTP servers beside the AWS endpoint (IMDS, the C1WS manager stand-in): quiet,
HTTP/1.1, on 127.0.0.1, each request on a thread of its own."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, data, ctype="text/plain", headers=()):
        data = data if isinstance(data, bytes) else data.encode()
        self.send_response(code)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def serve(handler, port=0):
    """Serves `handler` (a Handler subclass) on 127.0.0.1:`port` (0: a free one) until exit."""
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
