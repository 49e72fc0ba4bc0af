"""service-b: /ping_service_a calls service-a's /ping and adds its own message."""
import json
import os
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = os.environ.get("APP_VERSION", "dev")
SERVICE_A_URL = os.environ.get("SERVICE_A_URL", "http://service-a:8080")


def fetch_json(url):
    with urllib.request.urlopen(url, timeout=5) as res:
        return json.loads(res.read())


def route(path, fetch=fetch_json):
    if path == "/health":
        return 200, {"status": "ok"}
    if path == "/version":
        return 200, {"version": VERSION}
    if path == "/ping_service_a":
        try:
            answer = fetch(f"{SERVICE_A_URL}/ping")
        except OSError as error:
            return 502, {"error": f"service-a unreachable: {error}"}
        return 200, {"message": f"{answer['message']} (via Service B)"}
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
