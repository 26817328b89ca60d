"""Reading a report file (.txt, .md or .pdf) into text, with clear errors instead of tracebacks."""

from __future__ import annotations

import hashlib
from pathlib import Path

SUPPORTED_SUFFIXES = (".txt", ".md", ".pdf")
_TEXT_SUFFIXES = {".txt", ".md"}
# Bytes that never occur in a text file (C0 controls other than tab, newlines, form feed; DEL).
_CONTROL_BYTES = frozenset(set(range(0x20)) - {0x09, 0x0A, 0x0B, 0x0C, 0x0D} | {0x7F})
_BINARY_SAMPLE = 65536
_BINARY_RATIO = 0.05


class SourceError(Exception):
    """A report file that cannot be used; the message names the file and says what to do."""


def read_source(path: Path, pdf_backend: str | None = None) -> tuple[str, str]:
    """Return (text, sha256 hex of the file's bytes) for a .txt, .md or .pdf report.

    Text files must be UTF-8 (a BOM is dropped); line endings become "\\n". A PDF is read with
    its table columns from x positions (ingest/pdftext.py): cells tab-separated, a form feed
    before each page after the first. Every problem raises SourceError.
    """
    path = Path(path)
    if not path.exists():
        raise SourceError(
            f"Report file not found: {path}. Check the path (or leave --source out to use the bundled report)."
        )
    if path.is_dir():
        raise SourceError(f"{path} is a directory. Give the path of one report file (.txt, .md or .pdf).")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        shown = suffix or "no extension"
        raise SourceError(
            f"{path.name}: unsupported file type ({shown}). Use a .txt or .md file (UTF-8 text) or a .pdf; "
            "convert other formats (e.g. .docx) to PDF or plain text first."
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(
            f"Cannot read {path}: {exc.strerror or exc}. Check that the file is readable."
        ) from None
    if not data.strip():
        raise SourceError(f"{path.name} is empty. Give a report file that contains the report text.")
    digest = hashlib.sha256(data).hexdigest()
    text = _read_pdf(path, data, pdf_backend) if suffix == ".pdf" else _decode_text(path, data)
    return text, digest


def _decode_text(path: Path, data: bytes) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise SourceError(
            f"{path.name} is UTF-16 text. Convert it to UTF-8, e.g. "
            f"`iconv -f utf-16 -t utf-8 {path.name} > {path.stem}-utf8{path.suffix}`."
        )
    sample = data[:_BINARY_SAMPLE]
    if b"\x00" in sample or sum(b in _CONTROL_BYTES for b in sample) > _BINARY_RATIO * len(sample):
        raise SourceError(
            f"{path.name} looks like a binary file, not text. Give the report as UTF-8 text (.txt/.md) or as a .pdf."
        )
    try:
        text = data.decode("utf-8-sig")  # a leading BOM is fine and dropped
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 4].hex(" ")
        line = data[: exc.start].count(b"\n") + 1
        raise SourceError(
            f"{path.name} is not valid UTF-8 (first bad byte at offset {exc.start}, line {line}: {bad}). "
            f"Convert it to UTF-8, e.g. `iconv -f windows-1252 -t utf-8 {path.name} > {path.stem}-utf8{path.suffix}`, "
            "or save it as UTF-8 from your editor."
        ) from None
    if not text.strip():
        raise SourceError(
            f"{path.name} contains only whitespace. Give a report file that contains the report text."
        )
    # CRLF / CR -> LF so that line numbers (citations) are the same on every platform
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _read_pdf(path: Path, data: bytes, backend: str | None = None) -> str:
    if b"%PDF-" not in data[:1024]:  # the header may follow a little junk, as readers allow
        raise SourceError(
            f"{path.name} is not a PDF file (it does not start with %PDF-). Check the file or its extension."
        )
    from ingest.pdftext import PdfPasswordError, pdf_text  # only needed for PDFs

    try:
        text, pages = pdf_text(path) if backend is None else pdf_text(path, backend)
    except PdfPasswordError:
        raise SourceError(
            f"{path.name} is password-protected. Save an unprotected copy of the PDF and use that."
        ) from None
    except Exception as exc:  # PDF libraries raise many types for damaged files; the user needs one message
        raise SourceError(
            f"{path.name} could not be read as a PDF ({type(exc).__name__}: {exc}). "
            "The file may be damaged; try re-exporting it, or give the report as UTF-8 text."
        ) from None
    if not text.replace("\f", "").strip():
        raise SourceError(
            f"{path.name} has no extractable text ({pages} page(s), probably scanned images). "
            "Run OCR on it first, or give the report as a UTF-8 .txt file."
        )
    return text.replace("\r\n", "\n").replace("\r", "\n")
