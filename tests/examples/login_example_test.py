#!/usr/bin/env python3
"""The client examples' login and API handlers against a real idsignd.

  login_example_test.py --idsign=BIN --idsignd=BIN [--example=python|node]
                        [--softhsm2-util=BIN] [unittest arguments]

Creates a throwaway SoftHSM2 token in a temporary directory, imports a random
40-hex-digit secret with `idsign key import` (twice: the second key is put in
monitor mode with `idsign key rollout`), starts idsignd on 127.0.0.1 (port
0), then starts the example's login server (examples/<example>/) issuing
user_hash, issuing JWTs, on the monitored key, and pointed at a unix socket
where nothing listens. A second idsignd on the same token serves mutual TLS
with a caller policy (a throwaway CA made with the openssl command), and two
more login servers reach it with client certificates: one the policy grants,
one it does not. The checks compare with Python's hmac module and PyJWT, the
oracles: never with values computed by idsign.
"""

import argparse
import hashlib
import hmac
import json
import secrets
import shutil
import sys
import time
import unittest
import urllib.error
import urllib.request

try:
    import jwt
except ImportError:
    sys.exit("login_example_test: PyJWT is missing (Debian: python3-jwt; "
             "scripts/install-deps.sh installs it)")

sys.dont_write_bytecode = True  # nothing written into the source tree
from example_fixture import ALICE, BOB, JWT_TTL, MONITORED_KEY, Fixture

args = None      # command-line options, set in main()
fixture = None   # the running servers, set in setUpModule()


def setUpModule():  # pylint: disable=invalid-name
    global fixture  # pylint: disable=global-statement
    fixture = Fixture(args)
    try:
        fixture.start_login_server("user_hash", "--issue=user_hash")
        fixture.start_login_server("jwt", "--issue=jwt")
        fixture.start_login_server("unreachable", "--issue=both",
                                   idsign_address=fixture.nobody_address())
        fixture.start_login_server("monitored", "--issue=user_hash",
                                   key=MONITORED_KEY)
        tls_address = fixture.start_tls_idsignd()
        for client in ("backend-a", "backend-b"):
            fixture.start_login_server(client, *fixture.tls_flags(client),
                                       idsign_address=tls_address)
    except BaseException:
        fixture.close()
        raise


def request(server, path, body=None, headers=None):
    """(status, headers, JSON body) of one HTTP request."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(fixture.login_servers[server] + path,
                                 data=data, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, response.headers, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.load(error)


def login(server, user):
    return request(server, "/login", {"username": user["username"],
                                      "password": user["password"]})


def expected_hash(data):
    return hmac.new(fixture.secret.encode(), data.encode(),
                    hashlib.sha256).hexdigest()


def decode_jwt(token):
    return jwt.decode(token, fixture.secret, algorithms=["HS256"],
                      options={"require": ["exp", "iat"]})


class LoginUserHashTest(unittest.TestCase):

    def test_user_hash_is_hmac_sha256_of_the_user_id(self):
        status, _, body = login("user_hash", ALICE)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["user_hash"], expected_hash(ALICE["user_id"]))
        self.assertEqual(body["user_id"], ALICE["user_id"])
        self.assertEqual(body["email"], ALICE["email"])
        self.assertEqual(body["key_version"], 1)
        self.assertNotIn("jwt", body)

    def test_user_hash_falls_back_to_the_email(self):
        status, _, body = login("user_hash", BOB)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["user_hash"], expected_hash(BOB["email"]))
        self.assertEqual(body["user_id"], "")

    def test_wrong_password_gets_401_and_no_hash(self):
        status, _, body = request("user_hash", "/login",
                                  {"username": "alice", "password": "nope"})
        self.assertEqual(status, 401)
        self.assertNotIn("user_hash", body)


class LoginJwtTest(unittest.TestCase):
    """Needs SignJwt."""

    def test_jwt_verifies_and_carries_the_identity(self):
        status, _, body = login("jwt", ALICE)
        self.assertEqual(status, 200, body)
        self.assertEqual(jwt.get_unverified_header(body["jwt"])["alg"],
                         "HS256")
        claims = decode_jwt(body["jwt"])
        self.assertEqual(claims["user_id"], ALICE["user_id"])
        self.assertEqual(claims["email"], ALICE["email"])
        self.assertEqual(claims["exp"] - claims["iat"], JWT_TTL)
        self.assertLessEqual(abs(claims["iat"] - time.time()), 300)
        self.assertEqual(body["jwt_expires_at"], claims["exp"])
        self.assertNotIn("user_hash", body)

    def test_jwt_of_an_email_only_user_names_the_email(self):
        status, _, body = login("jwt", BOB)
        self.assertEqual(status, 200, body)
        claims = decode_jwt(body["jwt"])
        self.assertEqual(claims["user_id"], BOB["email"])
        self.assertEqual(claims["email"], BOB["email"])


class UnreachableIdsignTest(unittest.TestCase):

    def test_login_gets_503_and_no_unsigned_value(self):
        status, headers, body = login("unreachable", ALICE)
        self.assertEqual(status, 503, body)
        self.assertIsNotNone(headers.get("Retry-After"))
        self.assertIn("error", body)
        for field in ("user_hash", "jwt", "user_id", "email"):
            self.assertNotIn(field, body)

    def test_api_gets_503(self):
        status, _, body = request("unreachable", "/api/me", headers={
            "X-User-Id": ALICE["user_id"],
            "X-User-Hash": expected_hash(ALICE["user_id"])})
        self.assertEqual(status, 503, body)


class MutualTlsTest(unittest.TestCase):

    def test_granted_client_certificate_gets_the_user_hash(self):
        status, _, body = login("backend-a", ALICE)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["user_hash"], expected_hash(ALICE["user_id"]))

    def test_caller_the_policy_does_not_grant_gets_500_and_no_hash(self):
        # PERMISSION_DENIED is a misconfiguration, not worth a retry.
        status, _, body = login("backend-b", ALICE)
        self.assertEqual(status, 500, body)
        self.assertNotIn("user_hash", body)


class ApiUserHashTest(unittest.TestCase):

    def test_valid_user_hash_is_allowed(self):
        status, _, body = request("user_hash", "/api/me", headers={
            "X-User-Id": ALICE["user_id"],
            "X-User-Hash": expected_hash(ALICE["user_id"])})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["user_id"], ALICE["user_id"])
        self.assertTrue(body["verified"])
        self.assertEqual(body["reason"], "VALID")

    def test_email_user_hash_is_allowed(self):
        status, _, body = request("user_hash", "/api/me", headers={
            "X-User-Email": BOB["email"],
            "X-User-Hash": expected_hash(BOB["email"])})
        self.assertEqual(status, 200, body)

    def test_another_users_hash_is_denied(self):
        # A key in enforce mode (the default) denies what does not verify.
        status, _, body = request("user_hash", "/api/me", headers={
            "X-User-Id": ALICE["user_id"],
            "X-User-Hash": expected_hash("43")})
        self.assertEqual(status, 401, body)
        self.assertNotIn("user_id", body)

    def test_missing_user_hash_is_denied(self):
        status, _, body = request("user_hash", "/api/me", headers={
            "X-User-Id": ALICE["user_id"]})
        self.assertEqual(status, 401, body)


class ApiMonitorModeTest(unittest.TestCase):
    """Needs `idsign key rollout` and Verify's decision."""

    def setUp(self):
        if fixture.rollout_error:
            self.fail(fixture.rollout_error)

    def test_wrong_user_hash_is_allowed_and_reported(self):
        status, _, body = request("monitored", "/api/me", headers={
            "X-User-Id": ALICE["user_id"],
            "X-User-Hash": expected_hash("43")})
        self.assertEqual(status, 200, body)
        self.assertFalse(body["verified"])
        self.assertEqual(body["reason"], "INVALID")
        self.assertEqual(body["mode"], "MONITOR")

    def test_missing_user_hash_is_allowed_and_reported(self):
        status, _, body = request("monitored", "/api/me", headers={
            "X-User-Id": ALICE["user_id"]})
        self.assertEqual(status, 200, body)
        self.assertFalse(body["verified"])
        self.assertEqual(body["reason"], "MISSING")

    def test_valid_user_hash_is_verified(self):
        status, _, body = request("monitored", "/api/me", headers={
            "X-User-Id": ALICE["user_id"],
            "X-User-Hash": expected_hash(ALICE["user_id"])})
        self.assertEqual(status, 200, body)
        self.assertTrue(body["verified"])
        self.assertEqual(body["mode"], "MONITOR")


class ApiJwtTest(unittest.TestCase):
    """Needs SignJwt and VerifyJwt."""

    def test_jwt_from_login_is_allowed(self):
        status, _, issued = login("jwt", ALICE)
        self.assertEqual(status, 200, issued)
        status, _, body = request("jwt", "/api/me", headers={
            "Authorization": "Bearer " + issued["jwt"]})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["user_id"], ALICE["user_id"])
        self.assertEqual(body["email"], ALICE["email"])
        self.assertTrue(body["verified"])

    def test_jwt_made_with_pyjwt_and_the_secret_is_allowed(self):
        now = int(time.time())
        token = jwt.encode({"user_id": "7", "iat": now, "exp": now + 60},
                           fixture.secret, algorithm="HS256")
        status, _, body = request("jwt", "/api/me", headers={
            "Authorization": "Bearer " + token})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["user_id"], "7")

    def test_jwt_made_with_another_secret_is_denied(self):
        now = int(time.time())
        token = jwt.encode({"user_id": "42", "iat": now, "exp": now + 60},
                           secrets.token_hex(20), algorithm="HS256")
        status, _, body = request("jwt", "/api/me", headers={
            "Authorization": "Bearer " + token})
        self.assertEqual(status, 401, body)


def main():
    global args  # pylint: disable=global-statement
    parser = argparse.ArgumentParser()
    parser.add_argument("--idsign", required=True)
    parser.add_argument("--idsignd", required=True)
    parser.add_argument("--softhsm2-util",
                        default=shutil.which("softhsm2-util") or
                        "softhsm2-util")
    parser.add_argument("--openssl",
                        default=shutil.which("openssl") or "openssl")
    parser.add_argument("--example", choices=("python", "node"),
                        default="python")
    args, rest = parser.parse_known_args()
    program = unittest.main(argv=[sys.argv[0], *rest], verbosity=2,
                            exit=False)
    ok = program.result.wasSuccessful()
    if fixture is not None:
        if not ok:
            fixture.dump_logs()
        fixture.close()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
