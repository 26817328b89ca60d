"""Reading report files: .txt/.md/.pdf, and a clear SourceError for every bad input."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fpdf import FPDF

from ingest.sources import SourceError, read_source

NORWEGIAN = "Årsrapport 2020\nNetto driftsresultat ble 679,4 mill. kroner.\nBærum kommune\n"


def make_pdf(path: Path, pages: list[str]) -> Path:
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)  # a core font: latin-1 text only, no font files needed
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 8, text)
    pdf.output(str(path))
    return path


def test_txt_round_trip_and_sha(tmp_path: Path):
    path = tmp_path / "rapport.txt"
    path.write_bytes(NORWEGIAN.encode("utf-8"))
    text, sha = read_source(path)
    assert text == NORWEGIAN
    assert sha == hashlib.sha256(NORWEGIAN.encode("utf-8")).hexdigest()


def test_md_with_bom_and_crlf(tmp_path: Path):
    path = tmp_path / "rapport.MD"
    raw = b"\xef\xbb\xbf" + NORWEGIAN.replace("\n", "\r\n").encode("utf-8")
    path.write_bytes(raw)
    text, sha = read_source(path)
    assert text == NORWEGIAN  # BOM dropped, line endings normalised
    assert sha == hashlib.sha256(raw).hexdigest()  # the hash is of the bytes as stored


def test_bundled_report_reads():
    from rapport.settings import bundled_report_path

    text, sha = read_source(bundled_report_path())
    assert "Bærum" in text and len(sha) == 64


def test_pdf_pages_are_joined(tmp_path: Path):
    path = make_pdf(tmp_path / "rapport.pdf", ["Netto driftsresultat 2020", "Baerum kommune side to"])
    text, sha = read_source(path)
    assert "Netto driftsresultat 2020" in text
    assert "Baerum kommune side to" in text
    assert text.index("Netto") < text.index("side to")
    assert sha == hashlib.sha256(path.read_bytes()).hexdigest()


def test_pdf_with_latin1_text(tmp_path: Path):
    path = make_pdf(tmp_path / "r.pdf", ["Bærum kommune, årsrapport"])
    assert "Bærum kommune, årsrapport" in read_source(path)[0]


def expect_error(path: Path, *fragments: str) -> str:
    with pytest.raises(SourceError) as info:
        read_source(path)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_missing_file(tmp_path: Path):
    expect_error(tmp_path / "nope.txt", "not found", "nope.txt", "path")


def test_directory(tmp_path: Path):
    expect_error(tmp_path, "is a directory", "report file")


@pytest.mark.parametrize("content", [b"", b"   \n\t\n  "])
def test_empty_or_whitespace(tmp_path: Path, content: bytes):
    path = tmp_path / "blank.txt"
    path.write_bytes(content)
    expect_error(path, "blank.txt", "empty")


def test_bom_only_counts_as_whitespace(tmp_path: Path):
    path = tmp_path / "bom.md"
    path.write_bytes(b"\xef\xbb\xbf  \n")
    expect_error(path, "bom.md", "only whitespace")


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
        bytes([1, 2, 3, 4, 5, 6, 7, 8]) * 50 + b"some text",
    ],
)
def test_binary_content(tmp_path: Path, content: bytes):
    path = tmp_path / "image.txt"
    path.write_bytes(content)
    expect_error(path, "image.txt", "binary")


def test_not_utf8_names_the_offset(tmp_path: Path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("Rapport\nBærum".encode("latin-1"))  # æ = 0xE6, invalid as UTF-8 here
    expect_error(path, "latin1.txt", "not valid UTF-8", "offset 9, line 2", "e6", "Convert it to UTF-8")


def test_utf16_gets_its_own_advice(tmp_path: Path):
    path = tmp_path / "wide.txt"
    path.write_bytes(NORWEGIAN.encode("utf-16"))
    expect_error(path, "wide.txt", "UTF-16", "UTF-8")


@pytest.mark.parametrize("name", ["rapport.docx", "rapport", "rapport.html"])
def test_unsupported_extension(tmp_path: Path, name: str):
    path = tmp_path / name
    path.write_text("tekst", encoding="utf-8")
    expect_error(path, name, "unsupported file type", ".txt", ".pdf")


def test_pdf_without_text(tmp_path: Path):
    path = make_pdf(tmp_path / "scan.pdf", ["", ""])
    expect_error(path, "scan.pdf", "no extractable text", "OCR")


def test_pdf_that_is_not_a_pdf(tmp_path: Path):
    path = tmp_path / "fake.pdf"
    path.write_text("just text", encoding="utf-8")
    expect_error(path, "fake.pdf", "not a PDF")


def test_damaged_pdf(tmp_path: Path):
    good = make_pdf(tmp_path / "good.pdf", ["Hei"]).read_bytes()
    path = tmp_path / "broken.pdf"
    path.write_bytes(good[:20])
    message = expect_error(path, "broken.pdf")
    assert "PDF" in message and "Traceback" not in message
