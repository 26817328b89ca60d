"""The index carries parsed reports as JSON: what goes in comes out equal."""

from __future__ import annotations

import json

import pytest
from fakereport import fake_report_text

from ingest.parse import parse_report
from ingest.pipeline import read_report, with_meta
from ingest.serial import FORMAT_VERSION, pack_report, report_from_dict, report_to_dict, unpack_report
from rapport.settings import bundled_report_path


def test_bundled_report_round_trips() -> None:
    report = read_report(bundled_report_path())
    again = unpack_report(pack_report(report))
    assert again == report
    assert again.meta is not None and again.meta.id == "baerum-2020"
    # chapters are shared objects, not copies per passage
    assert again.passages[10].chapter in again.chapters


def test_fields_the_reader_does_not_know_are_ignored() -> None:
    report = with_meta(parse_report(fake_report_text(), "eksempel.txt"))
    data = json.loads(json.dumps(report_to_dict(report)))
    data["tables"][0]["rows"][0]["future_field"] = 1
    data["future_top_level"] = {"x": 1}
    assert report_from_dict(data) == report


def test_another_format_version_is_refused() -> None:
    report = with_meta(parse_report(fake_report_text(), "eksempel.txt"))
    data = report_to_dict(report)
    data["format"] = FORMAT_VERSION + 1
    with pytest.raises(ValueError, match="format"):
        report_from_dict(data)
