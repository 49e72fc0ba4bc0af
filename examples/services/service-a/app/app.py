"""service-a: answers /health, /version and /ping. Standard library only."""
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = os.environ.get("APP_VERSION", "dev")


def route(path):
    if path == "/health":
        return 200, {"status": "ok"}
    if path == "/version":
        return 200, {"version": VERSION}
    if path == "/ping":
        return 200, {"message": "pong"}
    return 404, {"error": f"no route for {path}"}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        status, body = route(self.path.split("?")[0])
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8080"))
    ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()
