"""A small idsign client for a backend: one gRPC channel, four calls.

IdsignClient is thread-safe (a grpc.Channel may be shared by every request
thread); create one per process and close() it at exit. Every call has a
deadline, and UNAVAILABLE is retried by gRPC itself (the channel's service
config) with exponential backoff. Anything else is raised as IdsignError,
and nothing here ever computes a MAC locally: there is no secret to fall
back on.
"""

import dataclasses
import ipaddress
import json

import grpc

import idsign_stubs

pb, pb_grpc = idsign_stubs.load()

# Retry only what the server says is worth retrying (a token, device or
# session failure, or no connection). RESOURCE_EXHAUSTED means the server
# is shedding load: retrying at once would make that worse.
_SERVICE_CONFIG = json.dumps({
    "methodConfig": [{
        "name": [{"service": "idsign.v1.Signer"}],
        "retryPolicy": {
            "maxAttempts": 3,
            "initialBackoff": "0.1s",
            "maxBackoff": "1s",
            "backoffMultiplier": 2,
            "retryableStatusCodes": ["UNAVAILABLE"],
        },
    }]
})

# Codes after which the caller may try again later (HTTP 503).
TRANSIENT = frozenset({grpc.StatusCode.UNAVAILABLE,
                       grpc.StatusCode.DEADLINE_EXCEEDED,
                       grpc.StatusCode.RESOURCE_EXHAUSTED})


@dataclasses.dataclass(frozen=True)
class Config:
    """Where idsign is and how to reach it."""
    server: str = "127.0.0.1:50051"
    key: str = "demo/web/test"
    timeout_seconds: float = 2.0
    tls_ca: str = ""           # PEM CA bundle; enables TLS
    tls_cert: str = ""         # client certificate for mutual TLS
    tls_key: str = ""          # its private key
    tls_server_name: str = ""  # name to check in the server's certificate


class IdsignError(Exception):
    """An idsign call failed; code is a grpc.StatusCode."""

    def __init__(self, method, code, details):
        super().__init__(f"idsign {method} failed: {code.name}: {details}")
        self.method = method
        self.code = code
        self.details = details

    @property
    def transient(self):
        return self.code in TRANSIENT


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The outcome of Verify or VerifyJwt, reduced to what a handler needs."""
    allow: bool   # act on this: serve the request or answer 401
    valid: bool   # whether the value itself checked out
    reason: str   # VALID, INVALID or MISSING
    mode: str     # MONITOR or ENFORCE
    detail: str = ""  # VerifyJwt: why a token is invalid, e.g. "expired"
    # The identity concerned: the one presented (Verify) or the token's
    # payload (VerifyJwt, empty unless valid). Unproven unless valid.
    user_id: str = ""
    email: str = ""


def _is_loopback(server):
    if server.startswith("unix:"):
        return True
    host = server.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _read(path):
    with open(path, "rb") as file:
        return file.read()


def make_channel(config):
    """A channel to idsign: TLS when tls_ca is set, else plaintext (loopback
    only, as idsignd itself insists)."""
    options = [("grpc.service_config", _SERVICE_CONFIG),
               ("grpc.enable_retries", 1)]
    if not config.tls_ca:
        if config.tls_cert or config.tls_key or config.tls_server_name:
            raise ValueError("--tls-cert, --tls-key and --tls-server-name "
                             "need --tls-ca")
        if not _is_loopback(config.server):
            raise ValueError(f"idsign server {config.server} is not on "
                             "loopback: give --tls-ca (and a client "
                             "certificate) to reach it over TLS")
        return grpc.insecure_channel(config.server, options=options)
    if bool(config.tls_cert) != bool(config.tls_key):
        raise ValueError("--tls-cert and --tls-key go together")
    credentials = grpc.ssl_channel_credentials(
        root_certificates=_read(config.tls_ca),
        private_key=_read(config.tls_key) if config.tls_key else None,
        certificate_chain=_read(config.tls_cert) if config.tls_cert else None)
    if config.tls_server_name:
        options += [("grpc.ssl_target_name_override", config.tls_server_name),
                    ("grpc.default_authority", config.tls_server_name)]
    return grpc.secure_channel(config.server, credentials, options=options)


def _name(enum, value, prefix):
    return enum.Name(value).removeprefix(prefix)


class IdsignClient:
    """Sign, SignJwt, Verify and VerifyJwt with one configured key."""

    def __init__(self, config):
        self._config = config
        self._channel = make_channel(config)
        self._stub = pb_grpc.SignerStub(self._channel)

    def close(self):
        self._channel.close()

    def _call(self, method, request):
        try:
            return getattr(self._stub, method)(
                request, timeout=self._config.timeout_seconds)
        except grpc.RpcError as error:
            raise IdsignError(method, error.code(), error.details()) from None

    def sign(self, user_id="", email=""):
        """The user_hash the messenger vendor expects for this user."""
        response = self._call("Sign", pb.SignRequest(
            key=self._config.key,
            identity=pb.Identity(user_id=user_id, email=email)))
        return {"user_hash": response.user_hash,
                "key_version": response.key_version}

    def sign_jwt(self, user_id="", email="", ttl_seconds=3600):
        """An HS256 JWT for this user, valid for ttl_seconds."""
        request = pb.SignJwtRequest(
            key=self._config.key,
            identity=pb.Identity(user_id=user_id, email=email))
        request.ttl.FromSeconds(ttl_seconds)
        response = self._call("SignJwt", request)
        return {"jwt": response.jwt,
                "jwt_expires_at": response.expires_at.ToSeconds(),
                "key_version": response.key_version}

    def verify(self, user_id, email, user_hash):
        """Checks a user_hash that a client presented; an empty one counts as
        missing."""
        response = self._call("Verify", pb.VerifyRequest(
            key=self._config.key,
            identity=pb.Identity(user_id=user_id, email=email),
            user_hash=user_hash))
        return self._verdict(response, user_id=user_id, email=email)

    def verify_jwt(self, token):
        """Checks a JWT that a client presented; an empty one counts as
        missing. The identity comes from the token's payload."""
        response = self._call("VerifyJwt", pb.VerifyJwtRequest(
            key=self._config.key, jwt=token))
        return self._verdict(response, user_id=response.user_id,
                             email=response.email, detail=response.detail)

    @staticmethod
    def _verdict(response, user_id, email, detail=""):
        if response.decision == pb.DECISION_ALLOW:
            allow = True
        elif response.decision == pb.DECISION_DENY:
            allow = False
        else:
            # A server without verification rollout: enforce.
            allow = response.valid
        reason = _name(pb.VerifyReason, response.reason, "VERIFY_REASON_")
        if reason == "UNSPECIFIED":
            reason = "VALID" if response.valid else "INVALID"
        mode = _name(pb.RolloutMode, response.mode, "ROLLOUT_MODE_")
        if mode == "UNSPECIFIED":
            mode = "ENFORCE"
        return Verdict(allow=allow, valid=response.valid, reason=reason,
                       mode=mode, detail=detail, user_id=user_id,
                       email=email)
