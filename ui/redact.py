"""Keep URLs, credentials and file paths out of what reaches a user, and secrets out of the log.

`redact(text)` is for anything shown in the browser or returned by `/ask` (an answer's trace, an
error message): URLs, `user:password@` parts, key=value secrets, bearer tokens and file-system
paths become placeholders. `SecretFilter` is a logging filter for the server log: the log keeps
URLs and paths (an operator needs them) but never a password, API key or token, including the
configured ones.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

URL_MARK = "[url]"
PATH_MARK = "[path]"
HIDDEN_MARK = "[redacted]"

_URL = re.compile(r"\b(?:[a-z][a-z0-9+.-]*://|www\.)[^\s\"'<>»«)\]]+", re.IGNORECASE)
_USERINFO = re.compile(r"(?<=://)[^\s/@:\"']+:[^\s/@\"']+@")
_KEY_VALUE = re.compile(
    r"(?i)\b((?:api[_-]?key|apikey|access[_-]?token|auth[_-]?token|token|secret|password|passwd|pwd|"
    r"authorization|credentials?|session[_-]?id)\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&\"']+)"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[a-z0-9._~+/=-]{8,}")
_TOKENISH = re.compile(r"\b(?:sk|pk|hf|ghp|gho|xox[abp])[-_][A-Za-z0-9_-]{12,}\b")
# An absolute POSIX path of two or more parts, a home path, or a Windows drive path.
_POSIX_PATH = re.compile(r"(?<![\w/.:])(?:~|\.{1,2})?/(?:[\w.@+-]+/)+[\w.@+-]*")
_WINDOWS_PATH = re.compile(r"\b[A-Za-z]:\\(?:[^\\\s\"']+\\)*[^\\\s\"']*")


def redact_secrets(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with passwords, keys and tokens replaced (URLs and paths kept)."""
    out = _USERINFO.sub(f"{HIDDEN_MARK}@", text)
    out = _KEY_VALUE.sub(lambda m: m.group(1) + HIDDEN_MARK, out)
    out = _BEARER.sub(lambda m: f"{m.group(1)} {HIDDEN_MARK}", out)
    out = _TOKENISH.sub(HIDDEN_MARK, out)
    for secret in secrets:
        if secret and len(secret) >= 4:
            out = out.replace(secret, HIDDEN_MARK)
    return out


def redact(text: object, secrets: Iterable[str] = ()) -> str:
    """`text` fit to show a user: no URL, credential or file path."""
    out = _URL.sub(URL_MARK, str(text))
    out = redact_secrets(out, secrets)
    out = _WINDOWS_PATH.sub(PATH_MARK, out)
    out = _POSIX_PATH.sub(PATH_MARK, out)
    return out


def redact_json(data: Any, secrets: Iterable[str] = ()) -> Any:
    """Every string in a JSON-like structure passed through `redact`."""
    keep = tuple(secrets)
    if isinstance(data, str):
        return redact(data, keep)
    if isinstance(data, dict):
        return {k: redact_json(v, keep) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [redact_json(v, keep) for v in data]
    return data


class SecretFilter(logging.Filter):
    """A logging filter that removes secrets from every record it passes (message, arguments and
    the formatted traceback)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not lose the record
            message = str(record.msg)
        record.msg = redact_secrets(message, self.secrets)
        record.args = None
        if record.exc_info and record.exc_info[0] is not None:
            formatter = logging.Formatter()
            record.exc_text = redact_secrets(formatter.formatException(record.exc_info), self.secrets)
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact_secrets(record.exc_text, self.secrets)
        return True


def install_log_filter(secrets: Iterable[str] = (), logger: logging.Logger | None = None) -> SecretFilter:
    """Put a SecretFilter on `logger` (default: the root logger) and on each of its handlers, so
    records from any module pass it before they are written."""
    target = logger or logging.getLogger()
    filt = SecretFilter(secrets)
    target.addFilter(filt)
    for handler in target.handlers:
        handler.addFilter(filt)
    return filt
