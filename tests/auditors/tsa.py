"""A real RFC 3161 time-stamping authority for tests: OpenSSL's `ts -reply` behind a small
HTTP wrapper (POST application/timestamp-query -> application/timestamp-reply), with a CA and a
TSA certificate made here (the TSA's with the critical extended key usage timeStamping)."""

from __future__ import annotations

import subprocess
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CONFIG = """
[ tsa ]
default_tsa = tsa_config1

[ tsa_config1 ]
dir = {folder}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/ca.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def make_certificates(folder: Path) -> None:
    now = datetime.now(UTC) - timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("KS test TSA root"))
        .issuer_name(_name("KS test TSA root"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    tsa_key = ec.generate_private_key(ec.SECP256R1())
    tsa = (
        x509.CertificateBuilder()
        .subject_name(_name("KS test TSA"))
        .issuer_name(ca.subject)
        .public_key(tsa_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    (folder / "ca.pem").write_bytes(_pem(ca))
    (folder / "tsa.pem").write_bytes(_pem(tsa))
    (folder / "tsa.key").write_bytes(
        tsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (folder / "serial").write_text("01\n")
    (folder / "openssl.cnf").write_text(CONFIG.format(folder=folder))


@dataclass
class LocalTsa:
    url: str
    ca_pem: str
    folder: Path
    requests: int = 0


class _Handler(BaseHTTPRequestHandler):
    tsa: LocalTsa

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Type") != "application/timestamp-query":
            self.send_error(415, "want application/timestamp-query")
            return
        with tempfile.TemporaryDirectory() as work:
            query, reply = Path(work) / "q.tsq", Path(work) / "r.tsr"
            query.write_bytes(body)
            result = subprocess.run(
                [
                    "openssl",
                    "ts",
                    "-reply",
                    "-config",
                    str(self.tsa.folder / "openssl.cnf"),
                    "-queryfile",
                    str(query),
                    "-out",
                    str(reply),
                ],
                capture_output=True,
                check=False,
            )
            if result.returncode != 0:
                self.send_error(500, result.stderr.decode()[-200:])
                return
            data = reply.read_bytes()
        self.tsa.requests += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):  # quiet
        pass


def start(folder: Path) -> tuple[LocalTsa, ThreadingHTTPServer]:
    folder.mkdir(parents=True, exist_ok=True)
    make_certificates(folder)
    tsa = LocalTsa("", (folder / "ca.pem").read_text(), folder)
    handler = type("Handler", (_Handler,), {"tsa": tsa})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    tsa.url = f"http://127.0.0.1:{server.server_address[1]}/tsr"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return tsa, server
