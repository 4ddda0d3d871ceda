"""Validation messages in French, shared by the API, the pages and the imports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from maillage.messages import translate_message


def test_it_translates_a_type_error_at_its_field():
    message = "Expected `int`, got `str` - at `$.commune`"
    assert translate_message(message, None) == {
        "field": "commune",
        "message": "Type invalide : attendu un nombre entier.",
    }


def test_it_names_the_missing_field_and_falls_back_in_french():
    missing = translate_message("Object missing required field `name`", None)
    assert missing == {"field": "name", "message": "Champ obligatoire manquant."}
    assert translate_message("Something new", "kind") == {
        "field": "kind",
        "message": "Valeur invalide.",
    }


def test_imports_translate_without_loading_the_web_application():
    code = (
        "import sys, maillage.exchange.plan\n"
        "loaded = [m for m in sys.modules if m.startswith(('maillage.web', 'litestar'))]\n"
        "assert not loaded, loaded\n"
    )
    # This checkout first, whatever is installed.
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_system_errors_are_said_in_french():
    import errno
    import socket
    import ssl

    import aiosmtplib

    from maillage.messages import system_error

    def wrapped(cause: BaseException) -> BaseException:
        try:
            raise aiosmtplib.SMTPConnectError("Error connecting to relay on port 25") from cause
        except aiosmtplib.SMTPConnectError as error:
            return error

    cases = {
        "introuvable": FileNotFoundError(errno.ENOENT, "No such file or directory", "x"),
        "accès refusé": PermissionError(errno.EACCES, "Permission denied"),
        "disque plein": OSError(errno.ENOSPC, "No space left on device"),
        "connexion refusée": wrapped(ConnectionRefusedError(errno.ECONNREFUSED, "refused")),
        "nom de machine introuvable": wrapped(socket.gaierror(-2, "Name or service not known")),
        "pas de réponse dans le délai": aiosmtplib.SMTPConnectTimeoutError("Timed out"),
        "connexion coupée": aiosmtplib.SMTPServerDisconnected("Unexpected EOF"),
        "certificat du serveur refusé : il a expiré": ssl.SSLCertVerificationError(
            1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired"
        ),
        "erreur système EXDEV": OSError(errno.EXDEV, "Invalid cross-device link"),
    }
    for said, error in cases.items():
        assert system_error(error) == said, error
