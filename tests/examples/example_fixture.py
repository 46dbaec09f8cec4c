"""The servers login_example_test.py talks to, in one temporary directory:
a SoftHSM2 token with two imported keys, idsignd in plaintext on loopback,
a second idsignd with mutual TLS and a caller policy (its CA made with the
openssl command), and the example's login servers. Not thread-safe; close()
stops every process and removes the directory.
"""

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time

SOURCE_DIR = os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
KEY = "examples/web/test"
MONITORED_KEY = "examples/web/monitored"  # same secret, rollout mode monitor
JWT_TTL = 600
ALICE = {"username": "alice", "password": "pw-alice", "user_id": "42",
         "email": "alice@example.com"}
BOB = {"username": "bob", "password": "pw-bob", "email": "bob@example.com"}


def wait_for_line(path, pattern, process, what):
    """The first match of pattern in the file at path, written by process."""
    for _ in range(600):
        with open(path, encoding="utf-8", errors="replace") as file:
            match = re.search(pattern, file.read())
        if match:
            return match
        if process.poll() is not None:
            break
        time.sleep(0.05)
    with open(path, encoding="utf-8", errors="replace") as file:
        output = file.read()
    raise RuntimeError(f"{what} did not start; its output:\n{output}")


class Fixture:
    """A token, idsignd, and the example's login servers, in one temp dir."""

    def __init__(self, args):
        self.args = args
        self.processes = []
        self.work = tempfile.mkdtemp(prefix="idsign-examples-")
        os.chmod(self.work, 0o700)
        self.env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        self.secret = secrets.token_hex(20)  # like a vendor's secret
        self._create_token()
        self.idsign_address = self._start_idsignd()
        self.login_servers = {}

    def _create_token(self):
        conf = os.path.join(self.work, "softhsm2.conf")
        os.mkdir(os.path.join(self.work, "tokens"))
        with open(conf, "w", encoding="utf-8") as file:
            file.write(f"directories.tokendir = {self.work}/tokens\n"
                       "objectstore.backend = file\nlog.level = ERROR\n"
                       "slots.removable = false\n")
        self.env["SOFTHSM2_CONF"] = conf
        self.pin_file = os.path.join(self.work, "user.pin")
        user_pin = secrets.token_hex(8)
        with open(self.pin_file, "w", encoding="utf-8") as file:
            file.write(user_pin + "\n")
        os.chmod(self.pin_file, 0o600)
        subprocess.run([self.args.softhsm2_util, "--init-token", "--free",
                        "--label", "idsign-examples", "--so-pin",
                        secrets.token_hex(8), "--pin", user_pin],
                       env=self.env, check=True, capture_output=True)
        secret_file = os.path.join(self.work, "vendor.secret")
        with open(secret_file, "w", encoding="utf-8") as file:
            file.write(self.secret)
        os.chmod(secret_file, 0o600)
        for key in (KEY, MONITORED_KEY):
            subprocess.run([self.args.idsign, "key", "import",
                            "--token=idsign-examples",
                            f"--pin-file={self.pin_file}", f"--name={key}",
                            f"--secret-file={secret_file}"],
                           env=self.env, check=True, capture_output=True)
        os.remove(secret_file)
        # Before idsignd starts, so that no reload is awaited. A failure is
        # reported by the monitor-mode tests, not by every test.
        rollout = subprocess.run(
            [self.args.idsign, "key", "rollout", "--token=idsign-examples",
             f"--pin-file={self.pin_file}", f"--name={MONITORED_KEY}",
             "--mode=monitor"],
            env=self.env, check=False, capture_output=True, text=True)
        self.rollout_error = ("" if rollout.returncode == 0 else
                              f"idsign key rollout failed: {rollout.stderr}")

    def _openssl(self, *arguments):
        subprocess.run([self.args.openssl, *arguments], cwd=self.work, check=True,
                       capture_output=True)

    def _certificate(self, name, extensions):
        self._openssl("req", "-new", "-newkey", "ec", "-pkeyopt",
                      "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                      f"{name}.key", "-out", f"{name}.csr", "-subj",
                      f"/CN={name}")
        with open(os.path.join(self.work, f"{name}.ext"), "w",
                  encoding="utf-8") as file:
            file.write(extensions)
        self._openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem",
                      "-CAkey", "ca.key", "-days", "1", "-extfile",
                      f"{name}.ext", "-out", f"{name}.pem")
        return (os.path.join(self.work, f"{name}.pem"),
                os.path.join(self.work, f"{name}.key"))

    def start_tls_idsignd(self):
        """A second idsignd on the token: mutual TLS and a caller policy that
        lets only spiffe://example.org/backend-a sign and verify."""
        self._openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                      "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                      "ca.key", "-out", "ca.pem", "-days", "1", "-subj",
                      "/CN=idsign examples CA")
        self.tls_ca = os.path.join(self.work, "ca.pem")
        server = self._certificate(
            "server", "subjectAltName=DNS:idsignd.example\n"
            "extendedKeyUsage=serverAuth\n")
        self.clients = {
            name: self._certificate(
                name, f"subjectAltName=URI:spiffe://example.org/{name}\n"
                "extendedKeyUsage=clientAuth\n")
            for name in ("backend-a", "backend-b")}
        policy = os.path.join(self.work, "policy.json")
        with open(policy, "w", encoding="utf-8") as file:
            json.dump({"rules": [{"caller": "spiffe://example.org/backend-a",
                                  "operations": ["sign", "verify"],
                                  "keys": [KEY]}]}, file)
        process, log_path = self._spawn(
            [self.args.idsignd, "--token=idsign-examples",
             f"--pin-file={self.pin_file}", "--listen=127.0.0.1:0",
             f"--tls-cert={server[0]}", f"--tls-key={server[1]}",
             f"--client-ca={self.tls_ca}", f"--policy={policy}"],
            "idsignd-tls.log")
        return wait_for_line(log_path, r" ready address=(\S+) .*serving=1",
                             process, "idsignd with TLS").group(1)

    def nobody_address(self):
        """An idsign address where nothing listens (a socket never bound),
        so no other test can take it."""
        return f"unix:{self.work}/nobody.sock"

    def tls_flags(self, client):
        cert, key = self.clients[client]
        return [f"--tls-ca={self.tls_ca}", f"--tls-cert={cert}",
                f"--tls-key={key}", "--tls-server-name=idsignd.example"]

    def _spawn(self, command, log_name, **kwargs):
        log_path = os.path.join(self.work, log_name)
        with open(log_path, "wb") as log:
            process = subprocess.Popen(command, env=self.env, stdout=log,
                                       stderr=subprocess.STDOUT, **kwargs)
        self.processes.append(process)
        return process, log_path

    def _start_idsignd(self):
        process, log_path = self._spawn(
            [self.args.idsignd, "--token=idsign-examples",
             f"--pin-file={self.pin_file}", "--listen=127.0.0.1:0"],
            "idsignd.log")
        match = wait_for_line(log_path, r" ready address=(\S+) .*serving=1",
                              process, "idsignd")
        return match.group(1)

    def start_login_server(self, name, *flags, idsign_address=None,
                           key=KEY):
        users = os.path.join(self.work, "users.json")
        with open(users, "w", encoding="utf-8") as file:
            json.dump({"users": [ALICE, BOB]}, file)
        example = os.path.join(SOURCE_DIR, "examples", self.args.example)
        if self.args.example == "python":
            command = [sys.executable, os.path.join(example, "login_server.py")]
            self.env["IDSIGN_STUBS_DIR"] = os.path.join(self.work, "stubs")
        else:
            command = ["node", os.path.join(example, "login_server.js")]
        command += ["--listen=127.0.0.1:0",
                    f"--idsign-server={idsign_address or self.idsign_address}",
                    f"--key={key}", f"--users={users}", "--timeout=5",
                    f"--jwt-ttl={JWT_TTL}", *flags]
        process, log_path = self._spawn(command, f"login-{name}.log",
                                        cwd=example)
        match = wait_for_line(log_path, r"listening on (http://\S+)", process,
                              f"the {self.args.example} login server ({name})")
        self.login_servers[name] = match.group(1)

    def dump_logs(self):
        if not os.path.isdir(self.work):
            return
        for name in sorted(os.listdir(self.work)):
            if name.endswith(".log"):
                with open(os.path.join(self.work, name), encoding="utf-8",
                          errors="replace") as file:
                    lines = file.readlines()[-20:]
                sys.stderr.write(f"--- {name} (last lines)\n{''.join(lines)}")

    def close(self):
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.processes = []
        shutil.rmtree(self.work, ignore_errors=True)
