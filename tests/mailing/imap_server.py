"""A real Dovecot for the mailbox tests (#19): a throw-away configuration on two free loopback
ports (IMAP with STARTTLS, and IMAPS), one user in a passwd file, a Maildir, a self-signed
certificate made by ``openssl`` at start-up. ``dovecot`` runs in the foreground as a child of
the test and is stopped by its process id. The fixture signs in once before handing the server
over, and a failing test shows Dovecot's log (errors, and the authentication steps).

As root (CI), Dovecot's authentication process runs as the ``dovecot`` user and must read the
passwd file: its mode is set explicitly, never left to the umask. The maillage command sets the
umask to 077 for the whole process (personal data), so after any test that ran the command
in-process a file written with the default mode was unreadable to ``dovecot``, and every sign-in
failed with « [UNAVAILABLE] Temporary authentication failure » (#19).

Without Dovecot installed (Debian package ``dovecot-imapd``) the tests are skipped, except in
CI (``CI=true``), where they fail: CI installs it (``.ci/run``).
"""

from __future__ import annotations

import contextlib
import getpass
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

DOVECOT = "/usr/sbin/dovecot"
DOVECOT_LOG = pytest.StashKey[Path]()
USER = "ctg"
PASSWORD = "mot de passe « secret »"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _require_dovecot() -> None:
    if os.path.exists(DOVECOT) and shutil.which("openssl"):
        return
    reason = "Dovecot n'est pas installé (paquet Debian dovecot-imapd) : tests IMAP non lancés."
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(reason.replace("non lancés", "impossibles en CI"))
    pytest.skip(reason)


@dataclass
class ImapServer:
    port: int
    ssl_port: int
    certificate: Path
    log: Path

    def url(self, folder: str = "INBOX", tls: str = "starttls") -> str:
        """``tls``: « starttls », « implicit » or « none »."""
        password = quote(PASSWORD, safe="")
        if tls == "implicit":
            return f"imaps://{USER}:{password}@127.0.0.1:{self.ssl_port}/{folder}?cafile={self.certificate}&timeout=10"
        if tls == "none":
            return (
                f"imap://{USER}:{password}@127.0.0.1:{self.port}/{folder}?starttls=false&timeout=10"
            )
        return f"imap://{USER}:{password}@127.0.0.1:{self.port}/{folder}?cafile={self.certificate}&timeout=10"


def _users() -> tuple[str, str, int, int]:
    """Login user, internal user, and the uid/gid owning the mail: Dovecot refuses root for
    the login process and the mail, so as root the package's own users serve."""
    if os.geteuid() != 0:
        me = getpass.getuser()
        return me, me, os.getuid(), os.getgid()
    mail = pwd.getpwnam("dovecot")
    return "dovenull", "dovecot", mail.pw_uid, mail.pw_gid


def _configuration(root: Path, port: int, ssl_port: int) -> str:
    login_user, internal_user, uid, gid = _users()
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
auth_verbose = yes
auth_verbose_passwords = no
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal_user}
default_login_user = {login_user}
first_valid_uid = {uid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {ssl_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""


def log_tail(log: Path, size: int = 4000) -> str:
    return log.read_text(errors="replace")[-size:] if log.exists() else "(pas de journal)"


def _wait_for(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until Dovecot greets on ``port``, then one sign-in (AUTHENTICATE PLAIN on the plain port):
    a server that greets but cannot authenticate fails here, once, with its log."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                probe.settimeout(2)
                if probe.recv(100).startswith(b"* OK"):
                    break
        except OSError:
            time.sleep(0.1)
    else:
        raise RuntimeError(f"Dovecot ne répond pas en 30 s :\n{log_tail(log)}")
    if process.poll() is not None:
        raise RuntimeError(f"Dovecot s'est arrêté au démarrage :\n{log_tail(log)}")
    plain = b"\0" + USER.encode() + b"\0" + PASSWORD.encode()
    try:
        client = imaplib.IMAP4("127.0.0.1", port, timeout=20)
        try:
            client.authenticate("PLAIN", lambda _challenge: plain)
        finally:
            client.shutdown()
    except (imaplib.IMAP4.error, OSError) as error:
        raise RuntimeError(
            f"Dovecot refuse l'identification de test ({error}) :\n{log_tail(log)}"
        ) from error


@contextlib.contextmanager
def running_dovecot() -> Iterator[ImapServer]:
    """A Dovecot of its own, stopped and removed on exit (the fixture and ``bench/mailbox.py``)."""
    # The login and mail processes run as other users: the directory must be reachable by
    # them, which pytest's tmp_path (mode 700 under /tmp/pytest-of-…) is not.
    root = Path(tempfile.mkdtemp(prefix="maillage-dovecot-"))
    root.chmod(0o755)
    process = None
    try:
        for name in ("run", "state", "home"):
            (root / name).mkdir()
        _, _, uid, gid = _users()
        os.chown(root / "home", uid, gid)
        # Read by the auth process (user ``dovecot`` as root): readable whatever the umask.
        passwd = root / "passwd"
        passwd.write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n", encoding="utf-8")
        passwd.chmod(0o644)
        subprocess.run(
            [
                *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
                *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
                *("-keyout", str(root / "key.pem"), "-out", str(root / "cert.pem")),
            ],
            check=True,
            capture_output=True,
        )
        port, ssl_port = _free_port(), _free_port()
        (root / "dovecot.conf").write_text(_configuration(root, port, ssl_port))
        process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(root / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for(port, process, root / "dovecot.log")
        yield ImapServer(port, ssl_port, root / "cert.pem", root / "dovecot.log")
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def imap_server(request: pytest.FixtureRequest) -> Iterator[ImapServer]:
    _require_dovecot()
    with running_dovecot() as server:
        # tests/mailing/conftest.py adds the log to the report of a failing test.
        request.node.stash[DOVECOT_LOG] = server.log
        yield server
