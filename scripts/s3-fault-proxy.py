#!/usr/bin/env python3
"""An HTTP proxy for the tests, between Estuary and an S3 server (moto), that injects the faults S3 shows.

    s3-fault-proxy.py --upstream 127.0.0.1:PORT [--sts-credentials KEY:SECRET]

It listens on a free loopback port and says so on stderr as werkzeug does: " * Running on http://127.0.0.1:PORT". Requests are forwarded byte-faithfully (the
Host header included, so SigV4 signatures still verify upstream) unless a fault is due. Faults are set with
PUT /__faults {"sequence": [...], "repeat": false, "delay": 1.0} and apply to the following S3 requests in order:

    pass          forward the request
    500 / 503     answer InternalError / ServiceUnavailable without forwarding
    slowdown      answer 503 SlowDown without forwarding
    429           answer 429 without forwarding
    reset         read the request, then reset the connection without forwarding
    reset-after   forward the request (S3 acts on it), then reset the connection instead of answering
    slow          forward, then hold the answer for "delay" seconds

GET /__faults answers {"requests": N, "applied": {fault: count}}.

With --sts-credentials, an unsigned STS AssumeRoleWithWebIdentity call (which AWS's STS accepts unsigned) is
signed with those keys before it is forwarded, because moto checks every request's signature.
"""

import argparse
import json
import socket
import struct
import sys
import threading
import time
import http.client
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ERRORS = {
    "500": (500, "InternalError", "We encountered an internal error. Please try again."),
    "503": (503, "ServiceUnavailable", "Please reduce your request rate."),
    "slowdown": (503, "SlowDown", "Please reduce your request rate."),
    "429": (429, "TooManyRequests", "Too many requests."),
}
FAULTS = set(ERRORS) | {"pass", "reset", "reset-after", "slow"}


class Plan:
    def __init__(self):
        self.lock = threading.Lock()
        self.sequence = []
        self.repeat = False
        self.delay = 1.0
        self.position = 0
        self.requests = 0
        self.applied = {}

    def set(self, config):
        sequence = config.get("sequence", [])
        unknown = [f for f in sequence if f not in FAULTS]
        if unknown:
            raise ValueError(f"unknown faults {unknown}; known: {sorted(FAULTS)}")
        with self.lock:
            self.sequence = sequence
            self.repeat = bool(config.get("repeat", False))
            self.delay = float(config.get("delay", 1.0))
            self.position = 0

    def next(self):
        with self.lock:
            self.requests += 1
            fault = "pass"
            if self.position < len(self.sequence):
                fault = self.sequence[self.position]
                self.position += 1
                if self.repeat and self.position == len(self.sequence):
                    self.position = 0
            self.applied[fault] = self.applied.get(fault, 0) + 1
            return fault, self.delay

    def stats(self):
        with self.lock:
            return {"requests": self.requests, "applied": dict(self.applied)}


def make_handler(upstream, plan, sts_credentials):
    host, port = upstream.rsplit(":", 1)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        upstream_connection = None

        def log_message(self, *args):
            pass

        def read_body(self):
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                body = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return body
                    body += self.rfile.read(size)
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length", "0") or "0"))

        def answer(self, status, body, headers=()):
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def reset(self):
            # SO_LINGER with a zero timeout: close sends RST, as a dropped connection does.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()

        def forward(self, body):
            headers = [(k, v) for k, v in self.headers.items() if k.lower() != "transfer-encoding"]
            if body and not any(k.lower() == "content-length" for k, _ in headers):
                headers.append(("Content-Length", str(len(body))))
            if sts_credentials and b"Action=AssumeRoleWithWebIdentity" in body and not self.headers.get("Authorization"):
                headers = self.sign_sts(headers, body)
            for attempt in range(2):
                if self.upstream_connection is None:
                    self.upstream_connection = http.client.HTTPConnection(host, int(port), timeout=120)
                connection = self.upstream_connection
                try:
                    connection.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                    for name, value in headers:
                        connection.putheader(name, value)
                    connection.endheaders(body if body else None)
                    response = connection.getresponse()
                    return response.status, response.read(), response.getheaders()
                except (ConnectionError, http.client.HTTPException):
                    connection.close()
                    self.upstream_connection = None
                    if attempt == 1:
                        raise

        def sign_sts(self, headers, body):
            from botocore.auth import SigV4Auth
            from botocore.awsrequest import AWSRequest
            from botocore.credentials import Credentials

            key, secret = sts_credentials.split(":", 1)
            request = AWSRequest(method="POST", url=f"http://{self.headers['Host']}{self.path}", data=body,
                                 headers={k: v for k, v in headers if k.lower() != "content-length"})
            SigV4Auth(Credentials(key, secret), "sts", "us-east-1").add_auth(request)
            return list(request.headers.items()) + [("Content-Length", str(len(body)))]

        def control(self):
            if self.command == "PUT":
                try:
                    plan.set(json.loads(self.read_body() or b"{}"))
                except ValueError as error:
                    return self.answer(400, str(error).encode())
                return self.answer(204, b"")
            return self.answer(200, json.dumps(plan.stats()).encode(), [("Content-Type", "application/json")])

        def handle_any(self):
            if self.path.startswith("/__faults"):
                return self.control()
            body = self.read_body()
            fault, delay = plan.next()
            if fault in ERRORS:
                status, code, message = ERRORS[fault]
                xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
                       f"<Message>{message}</Message></Error>").encode()
                return self.answer(status, xml, [("Content-Type", "application/xml")])
            if fault == "reset":
                return self.reset()
            try:
                status, payload, headers = self.forward(body)
            except (ConnectionError, http.client.HTTPException, OSError) as error:
                return self.answer(502, f"upstream: {error}".encode())
            if fault == "reset-after":
                return self.reset()
            if fault == "slow":
                time.sleep(delay)
            passed = [(k, v) for k, v in headers
                      if k.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date")]
            self.answer(status, payload, passed)

        do_GET = do_PUT = do_POST = do_DELETE = handle_any

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--sts-credentials", default="")
    parser.add_argument("--port", type=int, default=0)
    options = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", options.port),
                                 make_handler(options.upstream, Plan(), options.sts_credentials))
    server.daemon_threads = True
    print(f" * Running on http://127.0.0.1:{server.server_address[1]}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
