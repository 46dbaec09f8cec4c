#!/usr/bin/env python3
"""Example backend: a login handler that gets the app's user_hash and/or JWT
from idsign, and an API handler that verifies them.

  POST /login   {"username": ..., "password": ...}
      200 {"user_id", "email", "user_hash"?, "jwt"?, "jwt_expires_at"?,
           "key_version"}
      401 bad credentials; 503 idsign unreachable or overloaded (retry
      later); 500 idsign refused the call (misconfiguration).
  GET  /api/me  with "Authorization: Bearer <jwt>", or with X-User-Id
                and/or X-User-Email plus X-User-Hash
      200 {"user_id", "email", "verified", "reason", "mode"} when idsign's
          decision is allow (in monitor mode also for a bad or missing
          value, which is logged); 401 when it is deny; 503 as above.

Only standard library HTTP; gRPC through idsign_client. Logs carry status
codes and reasons, never user ids, e-mails, hashes or tokens.
"""

import argparse
import hmac
import http.server
import json
import logging
import os
import sys

import idsign_stubs

try:
    import idsign_client
except idsign_stubs.StubError as stub_error:
    sys.exit(f"login_server: {stub_error}")
except ImportError as import_error:
    sys.exit(f"login_server: {import_error} in {sys.executable}: install "
             "gRPC for Python (Debian: python3-grpcio, with /usr/bin/python3; "
             "or pip install grpcio protobuf)")

log = logging.getLogger("login_server")


def load_users(path):
    """Stands in for your real user store and password check."""
    with open(path, encoding="utf-8") as file:
        return {user["username"]: user for user in json.load(file)["users"]}


def authenticate(users, body):
    """The user whose credentials these are, or None."""
    user = users.get(body.get("username"))
    password = body.get("password")
    if user is None or not isinstance(password, str):
        return None
    if not hmac.compare_digest(user["password"].encode(), password.encode()):
        return None
    return user


class App:
    """What the handlers share: the idsign client and the settings."""

    def __init__(self, client, users, issue, jwt_ttl):
        self.client = client
        self.users = users
        self.issue = issue
        self.jwt_ttl = jwt_ttl


def idsign_failure(error):
    """The HTTP answer to a failed idsign call: never an unsigned value."""
    log.warning("idsign %s failed: %s", error.method, error.code.name)
    if error.transient:
        return 503, {"error": "identity signing is unavailable, try again"}
    return 500, {"error": "identity signing is misconfigured"}


def login(app, body):
    user = authenticate(app.users, body)
    if user is None:
        return 401, {"error": "wrong username or password"}
    user_id, email = user.get("user_id", ""), user.get("email", "")
    result = {"user_id": user_id, "email": email}
    try:
        if app.issue in ("user_hash", "both"):
            result.update(app.client.sign(user_id=user_id, email=email))
        if app.issue in ("jwt", "both"):
            result.update(app.client.sign_jwt(
                user_id=user_id, email=email, ttl_seconds=app.jwt_ttl))
    except idsign_client.IdsignError as error:
        return idsign_failure(error)
    return 200, result


def me(app, headers):
    """Our own API: who is calling, proven by what login handed out."""
    authorization = headers.get("Authorization", "")
    try:
        if authorization.startswith("Bearer "):
            verdict = app.client.verify_jwt(authorization[len("Bearer "):])
        else:
            verdict = app.client.verify(headers.get("X-User-Id", ""),
                                        headers.get("X-User-Email", ""),
                                        headers.get("X-User-Hash", ""))
    except idsign_client.IdsignError as error:
        if error.code.name == "INVALID_ARGUMENT":
            # Malformed or absent identity or hash, as the client sent it.
            return 401, {"error": "identity verification failed"}
        return idsign_failure(error)
    if not verdict.valid:
        log.warning("identity %s%s (mode %s): %s", verdict.reason,
                    f" ({verdict.detail})" if verdict.detail else "",
                    verdict.mode, "allowed" if verdict.allow else "denied")
    if not verdict.allow:
        return 401, {"error": "identity verification failed",
                     "reason": verdict.reason}
    return 200, {"user_id": verdict.user_id, "email": verdict.email,
                 "verified": verdict.valid, "reason": verdict.reason,
                 "mode": verdict.mode}


class Handler(http.server.BaseHTTPRequestHandler):
    app = None  # set by serve()

    def _reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        if status == 503:
            self.send_header("Retry-After", "1")
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):  # pylint: disable=invalid-name
        if self.path != "/login":
            return self._reply(404, {"error": "not found"})
        try:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(min(length, 65536)) or b"{}")
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError:
            return self._reply(400, {"error": "expected a JSON object"})
        return self._reply(*login(self.app, body))

    def do_GET(self):  # pylint: disable=invalid-name
        if self.path != "/api/me":
            return self._reply(404, {"error": "not found"})
        return self._reply(*me(self.app, self.headers))

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        log.info("%s %s", self.address_string(), format % args)


def parse_args(argv):
    env = os.environ.get
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--listen", default=env("LISTEN", "127.0.0.1:8080"),
                        help="host:port for HTTP (port 0: any free port)")
    parser.add_argument("--idsign-server",
                        default=env("IDSIGN_SERVER", "127.0.0.1:50051"))
    parser.add_argument("--key", default=env("IDSIGN_KEY", "demo/web/test"))
    parser.add_argument("--timeout", type=float,
                        default=float(env("IDSIGN_TIMEOUT", "2")),
                        help="deadline of each idsign call, seconds")
    parser.add_argument("--tls-ca", default=env("IDSIGN_TLS_CA", ""))
    parser.add_argument("--tls-cert", default=env("IDSIGN_TLS_CERT", ""))
    parser.add_argument("--tls-key", default=env("IDSIGN_TLS_KEY", ""))
    parser.add_argument("--tls-server-name",
                        default=env("IDSIGN_TLS_SERVER_NAME", ""))
    parser.add_argument("--issue", choices=("user_hash", "jwt", "both"),
                        default=env("ISSUE", "user_hash"),
                        help="what /login returns")
    parser.add_argument("--jwt-ttl", type=int,
                        default=int(env("JWT_TTL", "3600")),
                        help="JWT lifetime, seconds")
    parser.add_argument("--users",
                        default=env("USERS_FILE",
                                    os.path.join(here, "demo_users.json")))
    return parser.parse_args(argv)


def serve(args):
    config = idsign_client.Config(
        server=args.idsign_server, key=args.key, timeout_seconds=args.timeout,
        tls_ca=args.tls_ca, tls_cert=args.tls_cert, tls_key=args.tls_key,
        tls_server_name=args.tls_server_name)
    client = idsign_client.IdsignClient(config)
    Handler.app = App(client, load_users(args.users), args.issue,
                      args.jwt_ttl)
    host, _, port = args.listen.rpartition(":")
    server = http.server.ThreadingHTTPServer((host, int(port)), Handler)
    print(f"listening on http://{host}:{server.server_address[1]} "
          f"(idsign {args.idsign_server}, key {args.key})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        client.close()


def main(argv=None):
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(message)s")
    args = parse_args(argv)
    try:
        serve(args)
    except (OSError, ValueError) as e:
        sys.exit(f"login_server: {e}")


if __name__ == "__main__":
    main()
