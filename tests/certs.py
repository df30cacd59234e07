"""A throwaway CA and a server certificate it signed, made with the `openssl` command, for TLS tests.

    certificates = make_certificates(tmp_path / "tls")
    server_context = certificates.server_context()            # for the test's server
    settings.MAIL_TLS_CA_FILE = str(certificates.ca)          # the client trusts the CA, as a company would

The server certificate is for 127.0.0.1 (IP) and localhost (DNS), so a client connecting by any other
name (127.0.0.2 reaches the loopback too) is refused on the name. It may also serve as a client
certificate. Used by tests/dovecot.py and tests/test_smtp_tls.py; nothing is downloaded, the `openssl`
command must be installed.
"""

from __future__ import annotations

import os
import secrets
import shutil
import ssl
import subprocess
from pathlib import Path
from typing import NamedTuple

import pytest

OPENSSL_BINARY = "openssl"
CERTIFICATE_DAYS = 2  # a certificate lives as long as one test run, plus clock skew

_OPENSSL_CONFIG = """\
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


class CertificateError(RuntimeError):
    """The openssl command is missing or failed."""


class Certificates(NamedTuple):
    """The PEM files `make_certificates` wrote."""

    ca: Path  # the CA's certificate: what a client trusts
    certificate: Path  # the server's certificate, signed by the CA
    key: Path  # the server's private key, readable by this user only

    def server_context(self) -> ssl.SSLContext:
        """Return a server context serving the certificate; it asks for no client certificate."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.certificate, self.key)
        return context


def openssl_missing() -> str | None:
    """Return why certificates cannot be made here, or None when the openssl command is installed."""
    if shutil.which(OPENSSL_BINARY) is None:
        return f"the {OPENSSL_BINARY} command is not installed; run: apt-get install openssl"
    return None


def require_openssl() -> None:
    """Skip the test when openssl is not installed; fail it instead when the CI variable is set."""
    reason = openssl_missing()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"!!! CI must run the TLS tests: {reason} !!!", pytrace=False)
    pytest.skip(f"!!! SKIPPED: {reason} !!!")


def make_certificates(directory: Path) -> Certificates:
    """Make a throwaway CA and a server certificate for 127.0.0.1 and localhost it signed.

    Writes ca.pem, server.pem and server.key into `directory` (created, readable by this user only), with
    the openssl command: elliptic-curve keys take milliseconds. Its own configuration, not the system's
    openssl.cnf, so the extensions are these everywhere. Key identifiers and key usages are there
    because stricter verifiers (Python 3.13's VERIFY_X509_STRICT) refuse certificates without them.
    """
    directory.mkdir(mode=0o700)
    (directory / "openssl.cnf").write_text(_OPENSSL_CONFIG)
    new_key = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-config",
        "openssl.cnf",
    ]
    days = ["-days", str(CERTIFICATE_DAYS)]
    commands = [
        ["req", "-x509", *new_key, *days, "-subj", "/CN=Otklik test CA", "-extensions", "ca",
         "-keyout", "ca.key", "-out", "ca.pem"],
        ["req", "-new", *new_key, "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr"],
        ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial",
         str(secrets.randbits(63)), *days, "-extfile", "openssl.cnf", "-extensions", "server",
         "-out", "server.pem"],
    ]  # fmt: skip
    for arguments in commands:
        try:
            subprocess.run(
                [OPENSSL_BINARY, *arguments], cwd=directory, check=True, capture_output=True, timeout=30
            )
        except (OSError, subprocess.SubprocessError) as error:
            output = getattr(error, "stderr", b"") or b""
            raise CertificateError(
                f"openssl {' '.join(arguments[:2])} failed: {error}\n{output.decode(errors='replace')}"
            ) from error
    for key in ("ca.key", "server.key"):
        (directory / key).chmod(0o600)
    return Certificates(
        ca=directory / "ca.pem", certificate=directory / "server.pem", key=directory / "server.key"
    )
