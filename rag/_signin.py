"""Sign-in for the web chat: salted PBKDF2 password lines, and the rule that serving beyond this
computer needs a sign-in (or an explicit choice to go without)."""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

LOOPBACK = ("127.0.0.1", "localhost", "::1")
_HASH = "pbkdf2_sha256"
_ITERATIONS = 600_000  # OWASP's 2023 figure for PBKDF2-HMAC-SHA256


def hash_password(password: str, salt: bytes | None = None, iterations: int = _ITERATIONS) -> str:
    """``pbkdf2_sha256$iterations$salt$hash`` (hex), for a line of an ``--auth-file``."""
    salt = salt or os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"{_HASH}${iterations}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        kind, iterations, salt, digest = stored.split("$")
        if kind != _HASH:
            return False
        mine = hashlib.pbkdf2_hmac(
            "sha256", password.encode(), bytes.fromhex(salt), int(iterations)
        )
    except ValueError:
        return False
    return hmac.compare_digest(mine.hex(), digest)


def load_auth_file(path: str | Path):
    """A ``(user, password) -> bool`` for gradio from a file of ``user:hash`` lines.

    Raises:
        ValueError: unreadable, empty, or a line is not ``user:pbkdf2_sha256$…``.
    """
    try:
        lines = Path(path).read_text("utf-8").splitlines()
    except OSError as exc:
        raise ValueError(f"cannot read --auth-file {path}: {exc.strerror or exc}") from exc
    users = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        user, _, stored = line.strip().partition(":")
        if not user or not stored.startswith(f"{_HASH}$"):
            raise ValueError(
                f"--auth-file {path}, line {number}: expected 'user:hash' made by "
                "'python app.py --hash-password USER'"
            )
        users[user] = stored
    if not users:
        raise ValueError(f"--auth-file {path} names no user")
    return lambda user, password: user in users and check_password(password, users[user])


def sign_in(host: str, auth_file: str | None, auth: str | None, no_auth: bool):
    """The sign-in gradio is given: from ``auth_file``, one ``USER:PASSWORD`` pair, or None.

    Raises:
        ValueError: serving beyond this computer without a sign-in and without ``no_auth``; a bad
            auth file or pair.
    """
    if auth_file:
        return load_auth_file(auth_file)
    if auth:
        user, _, password = auth.partition(":")
        if not user or not password:
            raise ValueError("--auth takes USER:PASSWORD")
        return [(user, password)]
    if host not in LOOPBACK and not no_auth:
        raise ValueError(
            f"serving on {host} lets anyone who can reach it ask and add documents: give "
            "--auth-file FILE (lines from 'python app.py --hash-password USER'), or --no-auth "
            "to allow it (add --read-only to refuse uploads)"
        )
    return None
