"""The message corpus of tests/mailing/samples (#19), filled in for a test (see its README)."""

from __future__ import annotations

import base64
import re
import secrets
from pathlib import Path

SAMPLES = Path(__file__).parent / "samples"
NAMES = sorted(path.stem for path in SAMPLES.glob("*.eml"))
_BASE64 = re.compile(r"@@BASE64@@\n(.*?)@@END@@\n", re.DOTALL)


def sample(name: str, **values: object) -> bytes:
    """``name``.eml with its blanks filled (``uid=…`` fills ``@@UID@@``), CRLF line ends."""
    text = (SAMPLES / f"{name}.eml").read_text(encoding="utf-8")
    text = "".join(line for line in text.splitlines(keepends=True) if not line.startswith("# "))
    values = {"nonce": secrets.token_hex(6), "sequence": 0, **values}
    for key, value in values.items():
        text = text.replace(f"@@{key.upper()}@@", str(value))
    assert "@@" not in _BASE64.sub("", text), f"blanc non rempli dans {name}"

    def encoded(match: re.Match[str]) -> str:
        data = base64.b64encode(match.group(1).replace("\n", "\r\n").encode()).decode()
        return "\n".join(data[i : i + 76] for i in range(0, len(data), 76)) + "\n"

    text = _BASE64.sub(encoded, text)
    return text.replace("\n", "\r\n").encode("utf-8")
