"""The emulator framework: a threaded HTTP(S) server on loopback with fault injection.

A provider emulator is an object with handle(request) -> Response. EmulatorServer serves it,
records every request (tests count them), and applies queued faults first: status sequences,
latency, dropped connections, malformed JSON and HTML bodies.

Faults and counters can be driven from Python (server.faults.add(...), server.count(...)) or,
for an emulator in another process, over HTTP under the reserved prefix /__emulator__/:
  GET  /__emulator__/requests          -> {"requests": [{"method", "path"}, ...]}
  POST /__emulator__/faults  {"path": regex, "method": opt, "actions": [...]}
  POST /__emulator__/reset
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CONTROL_PREFIX = "/__emulator__/"


class Request(object):
    def __init__(self, method, target, headers, body, client):
        self.method = method
        self.target = target  # the raw request-target: path plus query, exactly as sent
        parts = urlsplit(target)
        self.path = parts.path
        self.raw_query = parts.query
        self.query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        self.headers = headers  # case-insensitive (email.message.Message)
        self.body = body
        self.client = client

    def header(self, name, default=None):
        return self.headers.get(name, default)

    def json(self):
        return json.loads(self.body.decode("utf-8")) if self.body else None


class Response(object):
    def __init__(self, status=200, body=b"", headers=None):
        self.status = status
        self.body = body if isinstance(body, bytes) else body.encode("utf-8")
        self.headers = dict(headers or {})

    @classmethod
    def json(cls, status, obj, headers=None):
        hdrs = {"Content-Type": "application/json"}
        hdrs.update(headers or {})
        return cls(status, json.dumps(obj), hdrs)


HTML_PAGE = "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"


class Faults(object):
    """Queued fault actions, consumed one per matching request, in order.

    An action is a dict:
      {"status": 503, "body": {...} or "text", "headers": {...}}  answer this instead
      {"html": true, "status": 200}    an HTML page (a proxy's error page, a login portal)
      {"malformed": true}              a JSON content type with a truncated body
      {"drop": true}                   close the connection without answering
      {"delay": 1.5}                   wait, then answer normally (or combine with another action)
    """

    def __init__(self):
        self._rules = []
        self._lock = threading.Lock()
        self.latency = 0.0

    def add(self, path, actions, method=None):
        with self._lock:
            self._rules.append({"path": re.compile(path), "method": method, "actions": list(actions)})

    def clear(self):
        with self._lock:
            self._rules = []
            self.latency = 0.0

    def take(self, method, path):
        with self._lock:
            for rule in self._rules:
                if rule["actions"] and rule["path"].search(path) and rule["method"] in (None, method):
                    return rule["actions"].pop(0)
        return None


class EmulatorServer(object):
    def __init__(self, app, host="127.0.0.1", port=0, tls=None):
        self.app = app
        self.faults = Faults()
        self.requests = []
        self._lock = threading.Lock()
        server_cls = _IPv6Server if ":" in host else _Server
        self.httpd = server_cls((host, port), _handler_for(self))
        self.scheme = "http"
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls["server.pem"], tls["server.key"])
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            self.scheme = "https"
        self.host = host
        self.port = self.httpd.server_address[1]
        self._thread = None

    @property
    def address(self):
        return "[%s]:%d" % (self.host, self.port) if ":" in self.host else "%s:%d" % (self.host, self.port)

    @property
    def url(self):
        return "%s://%s" % (self.scheme, self.address)

    def start(self):
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="emulator-%d" % self.port, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def record(self, request):
        with self._lock:
            self.requests.append({"method": request.method, "path": request.path, "target": request.target,
                                  "headers": dict(request.headers.items())})

    def count(self, path=None, method=None):
        """How many requests reached the emulator (matching a path regex and method, if given)."""
        pattern = re.compile(path) if path else None
        with self._lock:
            return sum(1 for r in self.requests
                       if (pattern is None or pattern.search(r["path"])) and method in (None, r["method"]))

    def reset(self):
        with self._lock:
            self.requests = []
        self.faults.clear()
        if hasattr(self.app, "reset"):
            self.app.reset()

    def control(self, request):
        name = request.path[len(CONTROL_PREFIX):]
        if name == "requests" and request.method == "GET":
            with self._lock:
                return Response.json(200, {"requests": [{"method": r["method"], "path": r["path"]} for r in self.requests]})
        if name == "faults" and request.method == "POST":
            spec = request.json() or {}
            self.faults.add(spec.get("path", ".*"), spec.get("actions", []), spec.get("method"))
            return Response.json(200, {"ok": True})
        if name == "reset" and request.method == "POST":
            self.reset()
            return Response.json(200, {"ok": True})
        if hasattr(self.app, "control"):
            answer = self.app.control(name, request)
            if answer is not None:
                return answer
        return Response.json(404, {"error": "unknown control %s" % name})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops SYNs when many clients connect at once, and a
    # dropped SYN costs the client a 1 s retransmission (it showed up in the benchmarks).
    request_queue_size = 128
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # clients that hang up (timeouts, dropped connections) are part of the tests


class _IPv6Server(_Server):
    address_family = socket.AF_INET6


def _handler_for(server):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "keyward-emulator/1"

        def log_message(self, *args):
            pass

        def _dispatch(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Request(self.command, self.path, self.headers, body, self.client_address)
            if request.path.startswith(CONTROL_PREFIX):
                return self._send(server.control(request))
            server.record(request)
            if server.faults.latency:
                time.sleep(server.faults.latency)
            action = server.faults.take(request.method, request.path)
            if action:
                if action.get("delay"):
                    time.sleep(float(action["delay"]))
                if action.get("drop"):
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                if action.get("html"):
                    return self._send(Response(action.get("status", 200), HTML_PAGE, {"Content-Type": "text/html"}))
                if action.get("malformed"):
                    return self._send(Response(action.get("status", 200), '{"successful": tru', {"Content-Type": "application/json"}))
                if "status" in action:
                    payload = action.get("body", {})
                    if isinstance(payload, (dict, list)):
                        return self._send(Response.json(action["status"], payload, action.get("headers")))
                    return self._send(Response(action["status"], payload, action.get("headers")))
            try:
                response = server.app.handle(request)
            except Exception as exc:  # an emulator bug must show up as a 500, not a hang
                response = Response.json(500, {"emulator_error": repr(exc)})
            self._send(response)

        def _send(self, response):
            self.send_response(response.status)
            for name, value in response.headers.items():
                # A list sends the header once per value (several WWW-Authenticate challenges).
                for one in value if isinstance(value, list) else [value]:
                    self.send_header(name, one)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _dispatch

    return Handler


def run_standalone(description, make_app, describe, argv=None, add_arguments=None):
    """An emulator's main(): serve make_app(args) on loopback until interrupted.

    Prints one JSON line first: {"url", "ca_path"} plus describe(app, server, pki, args), which
    is how a demo or a person finds the endpoint, the test CA and the test credentials. describe
    gives "env" (the environment variables with which the collection's lookups and modules use
    this emulator; KEYWARD_CA_PATH is added with --tls) and "lookup" (an example lookup);
    --env-file FILE also writes "env" as `export NAME='value'` lines for a shell to source.
    add_arguments(parser) adds the emulator's own options to --host, --port, --tls and --env-file.
    """
    import argparse

    from ansible_collections.keyward.keys.tests.emulators._pki import make_pki

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tls", metavar="DIR", help="serve HTTPS with a test CA created in DIR")
    parser.add_argument("--env-file", metavar="FILE",
                        help="write the environment a playbook needs to use this emulator, as shell exports")
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args(argv)
    pki = make_pki(args.tls) if args.tls else None
    app = make_app(args)
    server = EmulatorServer(app, host=args.host, port=args.port, tls=pki).start()
    facts = {"url": server.url, "ca_path": pki["ca.pem"] if pki else None}
    facts.update(describe(app, server, pki, args))
    env = facts.setdefault("env", {})
    if pki:
        env["KEYWARD_CA_PATH"] = pki["ca.pem"]
    if args.env_file:
        with open(args.env_file, "w") as handle:
            handle.writelines("export %s='%s'\n" % (name, str(value).replace("'", "'\\''"))
                              for name, value in sorted(env.items()))
    print(json.dumps(facts), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
