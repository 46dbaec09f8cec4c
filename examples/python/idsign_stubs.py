"""Generates the idsign.v1 Python stubs from proto/ and imports them.

The stubs are build output, never committed: they are generated on first use
(and again whenever signer.proto is newer than them) into a stubs directory,
by default .stubs/ beside this file, or $IDSIGN_STUBS_DIR.

Generator, first found:
  1. protoc and grpc_python_plugin (Debian: protobuf-compiler and
     protobuf-compiler-grpc, which idsign's own build already needs), or the
     binaries named by $PROTOC and $GRPC_PYTHON_PLUGIN;
  2. `python3 -m grpc_tools.protoc` (pip's grpcio-tools). Debian 12's
     python3-grpc-tools (1.14) is too old: it rejects the proto3 `optional`
     fields of signer.proto.

Run it on its own to generate at build time:  python3 idsign_stubs.py
"""

import os
import shutil
import subprocess
import sys
import tempfile

_HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_DIR = os.environ.get(
    "IDSIGN_PROTO_DIR", os.path.join(_HERE, "..", "..", "proto"))
STUBS_DIR = os.environ.get("IDSIGN_STUBS_DIR", os.path.join(_HERE, ".stubs"))
_PROTO = os.path.join("idsign", "v1", "signer.proto")
_OUTPUTS = ("signer_pb2.py", "signer_pb2_grpc.py")


class StubError(RuntimeError):
    """The stubs could not be generated."""


def _protoc_command(out_dir):
    protoc = os.environ.get("PROTOC") or shutil.which("protoc")
    plugin = (os.environ.get("GRPC_PYTHON_PLUGIN")
              or shutil.which("grpc_python_plugin"))
    if protoc and plugin:
        return [protoc, f"--plugin=protoc-gen-grpc_python={plugin}",
                f"-I{PROTO_DIR}", f"--python_out={out_dir}",
                f"--grpc_python_out={out_dir}"]
    try:
        import grpc_tools  # pylint: disable=import-outside-toplevel
    except ImportError as error:
        raise StubError(
            "cannot generate the idsign stubs: install protoc and "
            "grpc_python_plugin (Debian: protobuf-compiler "
            "protobuf-compiler-grpc) or pip's grpcio-tools") from error
    well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    return [sys.executable, "-m", "grpc_tools.protoc", f"-I{PROTO_DIR}",
            f"-I{well_known}", f"--python_out={out_dir}",
            f"--grpc_python_out={out_dir}"]


def _up_to_date(stubs_dir):
    proto_time = os.path.getmtime(os.path.join(PROTO_DIR, _PROTO))
    for name in _OUTPUTS:
        path = os.path.join(stubs_dir, "idsign", "v1", name)
        if not os.path.exists(path) or os.path.getmtime(path) < proto_time:
            return False
    return True


def generate(stubs_dir=STUBS_DIR):
    """Generates the stubs into stubs_dir unless they are up to date."""
    if not os.path.exists(os.path.join(PROTO_DIR, _PROTO)):
        raise StubError(f"{_PROTO} not found under {PROTO_DIR}; "
                        "set IDSIGN_PROTO_DIR to idsign's proto/ directory")
    if _up_to_date(stubs_dir):
        return stubs_dir
    parent = os.path.dirname(os.path.abspath(stubs_dir))
    os.makedirs(parent, exist_ok=True)
    # Generate beside the target and move into place, so that two processes
    # starting at once never import a half-written module.
    scratch = tempfile.mkdtemp(prefix=".stubs-", dir=parent)
    try:
        command = _protoc_command(scratch) + [_PROTO]
        result = subprocess.run(command, cwd=PROTO_DIR, capture_output=True,
                                text=True, check=False)
        if result.returncode != 0:
            raise StubError("generating the idsign stubs failed:\n"
                            + result.stderr.strip())
        if os.path.isdir(stubs_dir):
            shutil.rmtree(stubs_dir, ignore_errors=True)
        try:
            os.rename(scratch, stubs_dir)
        except OSError:
            if not _up_to_date(stubs_dir):  # Another process did not win.
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return stubs_dir


def load(stubs_dir=STUBS_DIR):
    """Returns the (signer_pb2, signer_pb2_grpc) modules."""
    generate(stubs_dir)
    if stubs_dir not in sys.path:
        sys.path.insert(0, stubs_dir)
    # pylint: disable=import-outside-toplevel,import-error
    from idsign.v1 import signer_pb2, signer_pb2_grpc
    return signer_pb2, signer_pb2_grpc


if __name__ == "__main__":
    try:
        print(generate(sys.argv[1] if len(sys.argv) > 1 else STUBS_DIR))
    except StubError as error:
        sys.exit(f"idsign_stubs: {error}")
