"""The 27 numbered tables of the bundled Årsrapport 2020, checked against the report text.

Every expected column name and cell below was read off the report text
(ingest/corpus/baerum-arsrapport-2020.txt); the line numbers in the comments are 1-based lines of
that file. Each table gets its column names, a handful of cells (row label, column, printed text
and value) and, where the table has one, an arithmetic identity that the parsed numbers must obey.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from ingest.parse import parse_report
from ingest.records import Report, Row, Table

REPORT_PATH = Path(__file__).resolve().parents[1] / "ingest" / "corpus" / "baerum-arsrapport-2020.txt"
TOL = 0.15  # the report rounds every printed figure; sums and differences may be off by a rounding step


@pytest.fixture(scope="session")
def report() -> Report:
    return parse_report(REPORT_PATH.read_text(encoding="utf-8"), REPORT_PATH.name)


# ----------------------------------------------------------------------------- helpers


def _row(table: Table, label: str) -> Row:
    row = table.row(label)
    assert row is not None, f"Tabell {table.cite_number}: no row {label!r}; rows: {[r.label for r in table.rows]}"
    return row


def _v(table: Table, label: str, column: str) -> float:
    """A cell's value; an empty cell counts as 0 in the report's sums."""
    cell = _row(table, label).cell(column)
    assert cell is not None, f"Tabell {table.cite_number}, {label!r}: no column {column!r}"
    return 0.0 if cell.value is None else cell.value


def _close(a: float, b: float, tol: float = TOL) -> bool:
    return abs(a - b) <= tol


YEARS_16_20 = ("2016", "2017", "2018", "2019", "2020")
YEARS_18_20 = ("2018", "2019", "2020")

# ----------------------------------------------------------------------------- arithmetic identities


def _id_1(t: Table, report: Report) -> None:
    b, r, d = t.columns
    for row in t.rows:
        assert _close(_v(t, row.label, d), _v(t, row.label, b) - _v(t, row.label, r)), row.label
    parts = ["Rammetilskudd", "Inntekts- og formuesskatt", "Vertskommunetilskudd", "Rente og inv. komp. fra staten",
             "Integreringstilskudd flyktninger"]
    sectors = ["Diverse felles til fordeling", "Lønnsreserven", "Organisasjon, styring og utvikling", "Barn og unge",
               "Bistand og omsorg", "Miljø, idrett og kultur", "Politiske utvalgs disposisjoner"]
    for col in t.columns:
        assert _close(_v(t, "Sum sentrale inntekter", col), sum(_v(t, p, col) for p in parts)), col
        assert _close(_v(t, "Netto driftsutgifter sektorene", col), sum(_v(t, p, col) for p in sectors), 0.2), col
        assert _close(
            _v(t, "Netto driftsresultat", col), _v(t, "Brutto driftsresultat", col) + _v(t, "Netto finansutgifter", col)
        ), col


def _id_2(t: Table, report: Report) -> None:
    body = [r for r in t.rows if r.label not in {"Netto driftsresultat før disponering", "Sum disponert",
                                                 "Regnskapsmessig overskudd"}]
    assert len(body) == 25
    for col in t.columns:
        assert _close(_v(t, "Sum disponert", col), sum(_v(t, r.label, col) for r in body), 0.2), col
        assert _close(_v(t, "Netto driftsresultat før disponering", col) + _v(t, "Sum disponert", col), 0.0), col
        assert _v(t, "Regnskapsmessig overskudd", col) == 0.0


def _id_3(t: Table, report: Report) -> None:
    for row in t.rows:
        assert _close(
            _v(t, row.label, "Mer-/mindreforbruk"), _v(t, row.label, "Herav bundne") + _v(t, row.label, "Herav ubundne")
        ), row.label
    for col in ("Disponibel ramme", "Mer-/mindreforbruk", "Herav bundne", "Herav ubundne"):
        parts = ["Grunnskole", "Barnehager", "Barnevern"]
        assert _close(_v(t, "Sum Barn og unge", col), sum(_v(t, p, col) for p in parts)), col
        assert _close(_v(t, "SUM", col), _v(t, "SUM SEKTORER", col) + _v(t, "Politisk utvalg til disp.", col)), col


def _id_4(t: Table, report: Report) -> None:
    c = t.columns
    units = [r.label for r in t.rows][:9]
    assert units[0] == "Strategisk ledelse, styring og adm." and units[-1] == "Miljøtekniske tjenester"
    for col in c:
        assert _close(_v(t, "Sum", col), sum(_v(t, u, col) for u in units), 0.2), col
    for label in [*units, "Sum"]:
        assert _close(_v(t, label, c[0]), _v(t, label, c[1]) + _v(t, label, c[2]) + _v(t, label, c[3])), label
        assert _close(_v(t, label, c[6]), _v(t, label, c[4]) + _v(t, label, c[5])), label
    assert _close(_v(t, "Sum mindreforbruk i sektorene", c[0]), _v(t, "Sum", c[0]) + _v(t, "Politisk styring", c[0]))


def _id_5(t: Table, report: Report) -> None:
    col = "Beløp (mill. kr)"
    state = [r.label for r in t.rows if r.section == "Kompensasjon fra staten" and r.label != "Sum kompensasjon fra staten"]
    assert len(state) == 10
    assert _close(_v(t, "Sum kompensasjon fra staten", col), sum(_v(t, s, col) for s in state))
    sums = [r for r in t.rows if r.label == "Sum kompensasjoner og mindreutgifter"]
    assert [r.cells[0].value for r in sums] == [427.9, -94.5]
    assert _close(427.9, _v(t, "Sum kompensasjon fra staten", col) + _v(t, "Sum direkte effekter, mindreutgifter", col))
    assert _close(
        -94.5,
        427.9 + _v(t, "Sum direkte effekter, merutgifter/mindreinntekter", col)
        + _v(t, "Mindre skatteinntekter (inkl. endring i skatteutjevning)", col),
    )


def _id_6(t: Table, report: Report) -> None:
    for row in t.rows:
        assert _close(
            _v(t, row.label, "Avvik"), _v(t, row.label, "Regnskap 2020") - _v(t, row.label, "Budsjett 2020")
        ), row.label
    parts = ["Investeringer i varige driftsmidler", "Tilskudd til andres investeringer",
             "Investeringer i aksjer og andeler i selskaper", "Utlån av egne midler"]
    for col in t.columns:
        assert _close(_v(t, "INVESTERINGSUTGIFTER Totalt", col), sum(_v(t, p, col) for p in parts)), col


def _id_7(t: Table, report: Report) -> None:
    for row in t.rows:
        assert _close(_v(t, row.label, "Endring"), _v(t, row.label, "2020") - _v(t, row.label, "2019")), row.label


def _id_9(t: Table, report: Report) -> None:
    # Gjennomsnitt is the mean of the five Regnskap columns, rounded as printed
    for row in t.rows:
        years = [c.value for c in row.cells[:5]]
        mean = sum(years) / 5
        avg = row.cell("Gjennomsnitt")
        decimals = len(avg.raw.split(",")[1].split()[0]) if "," in avg.raw else 0
        assert _close(avg.value, mean, 0.5 * 10**-decimals + 1e-9), row.label


def _id_10(t: Table, report: Report) -> None:
    for y in YEARS_16_20:
        assert _close(
            _v(t, "Netto driftsresultat", y),
            _v(t, "Brutto driftsresultat (korrigert for avskrivninger)", y) + _v(t, "Netto finansutgifter", y),
        ), y
        parts = ["Skatteinntekter", "Rammetilskudd", "Andre sentrale inntekter", "Driftsinntekter i sektorene"]
        assert _close(_v(t, "Sum driftsinntekter", y), sum(_v(t, p, y) for p in parts)), y
        fin = ["Renteinntekter", "Avkastning forvaltningsfondet (BKFF)", "Renteutgifter", "Avdrag"]
        assert _close(_v(t, "Netto finansutgifter", y), sum(_v(t, p, y) for p in fin)), y


def _id_11(t: Table, report: Report) -> None:
    # the 2020 figure is in 2020-kroner, so it equals the nominal figure in Tabell 7
    assert _v(t, "Likviditetsreserve", "2020") == _v(report.table(7), "Likviditetsreserve", "2020") == 1372.2


def _id_12(t: Table, report: Report) -> None:
    assert _v(t, "Sum fond", "2020") == _v(report.table(7), "Fondsmidler totalt", "2020") == 5464.2


def _id_13(t: Table, report: Report) -> None:
    parts = ["Ikke rentable", "Rentable, vann/avløp/renovasjon og boliger", "Rentable, øvrige", "Ikke rentable, øvrige"]
    for y in YEARS_16_20:
        assert _close(_v(t, "Sum lånegjeld", y), sum(_v(t, p, y) for p in parts)), y
    # the 2020 figure is nominal, as in Tabell 7
    assert _v(t, "Sum lånegjeld", "2020") == _v(report.table(7), "Langsiktig gjeld", "2020")


def _id_14(t: Table, report: Report) -> None:
    for y in YEARS_16_20:
        assert 0 < _v(t, "Netto lånegjeld, per innbygger", y) < _v(t, "Sum lånegjeld, per innbygger", y)


def _id_15(t: Table, report: Report) -> None:
    for y in YEARS_18_20:
        assert _v(t, "Elever", y) == _v(t, "Elevtall, barnetrinnet", y) + _v(t, "Elevtall, ungdomstrinnet", y)


def _id_16(t: Table, report: Report) -> None:
    parts = ["Kommunale barnehageplasser", "Private barnehageplasser", "Barnehageplasser i åpne barnehager"]
    for y in YEARS_18_20:
        assert _v(t, "Barnehageplasser i Bærum kommune", y) == sum(_v(t, p, y) for p in parts), y


def _id_23(t: Table, report: Report) -> None:
    for y in YEARS_18_20:
        assert _close(
            _v(t, "Samlet vedlikehold – drift (mill. kr)", y),
            _v(t, "Vedlikehold av bygg eks. bolig (mill. kr)", y) + _v(t, "Vedlikehold av boliger (mill. kr)", y),
        ), y
        assert _close(
            _v(t, "Samlet vedlikehold – drift og investering (mill. kr)", y),
            _v(t, "Samlet vedlikehold – drift (mill. kr)", y)
            + _v(t, "Formuesbevarende vedlikehold – investering (mill. kr)", y),
        ), y
    # the block printed under the table splits the floor area into owned and leased
    # (the report's own 2019 figures differ by 36 m², so 2018 and 2020 only)
    under = next(x for x in report.tables if x.attached_to == "23")
    for y in ("2018", "2020"):
        assert _v(t, "Samlet areal på formålsbygg", y) == (
            _v(under, "Samlet areal på formålsbygg (eide)", y) + _v(under, "Samlet areal på formålsbygg (leide)", y)
        ), y


def _id_24(t: Table, report: Report) -> None:
    for year in ("31.12.2019", "31.12.2020"):
        for label in ("Kvinner", "Menn", "SUM"):
            assert _v(t, label, f"{year} Personer alle") == (
                _v(t, label, f"{year} Fast ansatte") + _v(t, label, f"{year} Timelønnede")
            ), (label, year)
        for name in ("Årsverk", "Fast ansatte", "Timelønnede", "Personer alle"):
            col = f"{year} {name}"
            assert _v(t, "SUM", col) == _v(t, "Kvinner", col) + _v(t, "Menn", col), col


def _id_25(t: Table, report: Report) -> None:
    # (the report's 2019 årsverk total, 1 058,0 with a footnote, is not Kvinner + Menn)
    for col in ("2019 Personer", "2020 Personer", "2020 Årsverk"):
        assert _close(_v(t, "Andel fast ansatte totalt", col), _v(t, "Kvinner", col) + _v(t, "Menn", col)), col


def _id_26(t: Table, report: Report) -> None:
    t24 = report.table(24)
    for y in ("2019", "2020"):
        assert _v(t, "Antall medarbeidere – årsverk", y) == _v(t24, "SUM", f"31.12.{y} Årsverk")
        assert _v(t, "Antall medarbeidere – personer totalt", y) == _v(t24, "SUM", f"31.12.{y} Personer alle")
    assert _v(t, "Andel ansatte med minoritetsbakgrunn", "2020") == _v(report.table(25), "Andel fast ansatte totalt",
                                                                      "2020 Andel årsverk")


# ----------------------------------------------------------------------------- expectations per table

# number -> (columns, unit, cells [(row label, column, raw, value)], identity or None)
Cells = list[tuple[str, str, str, float | None]]
EXPECTED: dict[int, tuple[tuple[str, ...], str | None, Cells, Callable[[Table, Report], None] | None]] = {
    1: (
        ("Budsjett 2020", "Regnskap 2020", "Differanse 2020"),
        "Mill. kr",
        [
            ("Rammetilskudd", "Budsjett 2020", "-1 878,6", -1878.6),  # line 328
            ("Barn og unge", "Regnskap 2020", "3 309,1", 3309.1),  # line 338
            ("Netto driftsresultat", "Differanse 2020", "442,4", 442.4),  # line 350
            ("Brutto driftsresultat", "Regnskap 2020", "-990,3", -990.3),  # line 343, 'Brutto driftsresultat³'
            ("Regnskapsresultat", "Budsjett 2020", "0,0", 0.0),
        ],
        _id_1,
    ),
    2: (
        ("Budsjett 2020", "Regnskap 2020"),
        "Mill. kr",
        [
            ("Netto driftsresultat før disponering", "Regnskap 2020", "-679,4", -679.4),  # line 369
            ("Overført til bruk i 2020", "Budsjett 2020", "32,8", 32.8),  # line 376
            ("Overført til bruk i 2020", "Regnskap 2020", "", None),
            ("Til idrett, tilskudd til andres investeringer", "Budsjett 2020", "", None),  # line 388
            ("Til idrett, tilskudd til andres investeringer", "Regnskap 2020", "21,4", 21.4),
            ("Diverse bruk og avsetninger", "Regnskap 2020", "1,6", 1.6),  # line 390, 'avsetninger¹'
        ],
        _id_2,
    ),
    3: (
        ("Disponibel ramme", "Mer-/mindreforbruk", "Herav bundne", "Herav ubundne", "Prosentvis avvik"),
        "Mill. kr",
        [
            ("Grunnskole", "Disponibel ramme", "1 737,9", 1737.9),  # line 434
            ("Barnehager", "Prosentvis avvik", "-1,3 %", -1.3),  # line 435
            ("SUM", "Herav ubundne", "111,9", 111.9),  # line 459
            ("Vann og avløp", "Disponibel ramme", "-94,2", -94.2),  # line 450
        ],
        _id_3,
    ),
    4: (
        (
            "Mer-/mindreforbruk",
            "Herav mindreforbruk Bærumspakken",
            "Herav netto merutgifter Covid-19",
            "Herav mer-/mindreforbruk ordinær drift",
            "Merutgifter Covid-19, finansiert i ØM I og ØM II",
            "Merutgifter Covid-19, ikke finansiert",
            "Sum netto merutgifter Covid-19",
        ),
        "Mill. kr",
        [
            ("Eiendom", "Herav mindreforbruk Bærumspakken", "26,9", 26.9),  # line 510
            ("Digitalisering og IT", "Herav mindreforbruk Bærumspakken", "", None),  # line 509, double space
            ("Digitalisering og IT", "Herav netto merutgifter Covid-19", "-0,8", -0.8),
            ("Pleie og omsorg", "Merutgifter Covid-19, finansiert i ØM I og ØM II", "-103,8", -103.8),  # line 513
            ("Politisk styring", "Mer-/mindreforbruk", "7,2", 7.2),  # line 518
            ("Politisk styring", "Sum netto merutgifter Covid-19", "", None),
        ],
        _id_4,
    ),
    5: (
        ("Beløp (mill. kr)", "Kommentar"),
        "mill. kr",
        [
            ("Sum kompensasjon fra staten", "Beløp (mill. kr)", "320,9", 320.9),  # line 683
            ("Kompensasjon for reduserte skatteinntekter og regelendringer", "Kommentar", "Prop. 127 S", None),  # 667
            ("Kompensasjon for reduserte skatteinntekter og regelendringer", "Beløp (mill. kr)", "16,5", 16.5),
            ("Netto merutgifter sektorene", "Beløp (mill. kr)", "-294,8", -294.8),  # line 689
            ("Netto merutgifter sektorene", "Kommentar", "", None),
        ],
        _id_5,
    ),
    6: (
        ("Budsjett 2020", "Regnskap 2020", "Avvik"),
        None,
        [
            ("Utlån av egne midler", "Budsjett 2020", "0,7", 0.7),  # line 889
            ("Utlån av egne midler", "Regnskap 2020", "", None),
            ("Utlån av egne midler", "Avvik", "-0,7", -0.7),
            ("Bruk av lån", "Regnskap 2020", "-1 508,2", -1508.2),  # line 895
            ("INVESTERINGSUTGIFTER Totalt", "Avvik", "589,4", 589.4),  # line 890
        ],
        _id_6,
    ),
    7: (
        ("2019", "2020", "Endring"),
        "Mill. kr.",
        [
            ("Langsiktig gjeld", "Endring", "1 118,9", 1118.9),  # line 1345
            ("Herav til refinansiering innen 12 måneder", "2019", "-1 166,0", -1166.0),  # line 1346
            ("Herav: fritt disponible", "2020", "549,1", 549.1),  # line 1339
        ],
        _id_7,
    ),
    8: (
        tuple(str(y) for y in range(2008, 2021)),
        None,
        [
            ("Boligproduksjon", "2008", "538", 538.0),  # line 1744
            ("Boligproduksjon", "2017", "971", 971.0),
            ("Boligproduksjon", "2020", "726", 726.0),
        ],
        None,  # one row, no identity
    ),
    9: (
        ("Regnskap 2016", "Regnskap 2017", "Regnskap 2018", "Regnskap 2019", "Regnskap 2020", "Gjennomsnitt", "Måltall"),
        "Mill. 2020-kr",
        [
            ("Resultatgrad", "Regnskap 2020", "5,9 %", 5.9),  # line 1939
            ("Likviditetsreserve", "Regnskap 2016", "1 283", 1283.0),  # line 1942
            ("Likviditetsreserve", "Gjennomsnitt", "1 633", 1633.0),
            ("Bufferfondet", "Måltall", "Min. 100 mill. siste år", None),  # line 1940
        ],
        _id_9,
    ),
    10: (
        YEARS_16_20,
        "Mill. 2020-kr",
        [
            ("Netto driftsresultat", "2020", "-679,4", -679.4),  # line 1997
            ("Sum driftsinntekter", "2019", "-11 355,8", -11355.8),  # line 1989
            ("Avkastning forvaltningsfondet (BKFF)", "2018", "73,8", 73.8),  # line 1993
        ],
        _id_10,
    ),
    11: (
        YEARS_16_20,
        "Mill. 2020-kr",
        [
            ("Likviditetsgrad", "2016", "1,9", 1.9),  # line 2203
            ("Arbeidskapital", "2020", "3 129,3", 3129.3),  # line 2201, 'Arbeidskapital1'
        ],
        _id_11,
    ),
    12: (
        YEARS_16_20,
        "Mill. 2020-kr",
        [
            ("Sum fond", "2016", "4 970,6", 4970.6),  # line 2213
            ("Sum fond", "2019", "5 629,2", 5629.2),
        ],
        _id_12,
    ),
    13: (
        YEARS_16_20,
        "Mill. 2020-kr",
        [
            ("Sum lånegjeld", "2020", "10 224,5", 10224.5),  # line 2259
            ("Ikke rentable", "2019", "5 179,1", 5179.1),  # line 2260, 'Ikke rentable¹'
            ("Ikke rentable, øvrige", "2016", "209,5", 209.5),  # line 2263
        ],
        _id_13,
    ),
    14: (
        YEARS_16_20,
        "Mill. 2020-kr",
        [
            ("Sum lånegjeld, per innbygger", "2020", "79 483", 79483.0),  # line 2252
            ("Netto lånegjeld, per innbygger", "2016", "54 921", 54921.0),  # line 2253
        ],
        _id_14,
    ),
    15: (
        YEARS_18_20,
        None,
        [
            ("Elever", "2018", "16 181", 16181.0),  # line 2561
            ("Elever ved Haug skole og ressurssenter", "2018", "110 (8)", 110.0),  # line 2573
            ("Andel elever i SFO", "2020", "79,9 %", 79.9),  # line 2576
        ],
        _id_15,
    ),
    16: (
        YEARS_18_20,
        None,
        [
            ("Barnehageplasser for barn med særskilte behov", "2019", "422", 422.0),  # line 2656 '412 4222 463'
            ("Akuttvedtak", "2019", "17", 17.0),  # line 2665 '25 174 15'
            ("Antall timer per bruker per uke", "2020", "13", 13.0),  # line 2673
            ("Antall timer per bruker per uke", "2018", "15,2", 15.2),
        ],
        _id_16,
    ),
    17: (
        (
            "Antall personer som har mottatt tjeneste 2018",
            "Antall personer som har mottatt tjeneste 2019",
            "Antall personer som har mottatt tjeneste 2020",
            "Antall plasser 2018",
            "Antall plasser 2019",
            "Antall plasser 2020",
        ),
        None,
        [
            ("Dagaktivitetsplasser", "Antall plasser 2019", "155", 155.0),  # line 2757, '155¹'
            ("Langtidsopphold på sykehjem", "Antall personer som har mottatt tjeneste 2018", "1 028", 1028.0),  # 2750
            ("Tidsbegrenset opphold på Altea (rehabilitering)", "Antall personer som har mottatt tjeneste 2020",
             "22", 22.0),  # line 2752
        ],
        None,
    ),
    18: (
        YEARS_18_20,
        None,
        [
            ("Antall bosatte flyktninger", "2020", "73", 73.0),  # line 2832, '110 81 731'
            ("Startlån til kjøp av egen bolig", "2018", "196,2 mill.", 196.2),  # line 2836
            ("Gjennomsnittlig stønadslengde for sosialhjelpsmottakere", "2018", "5,73 mnd.", 5.73),  # line 2840
            ("Andel flyktninger som kommer i arbeid eller utdanning etter endt introduksjonsprogram", "2019",
             "71 %", 71.0),  # line 2834
        ],
        None,
    ),
    19: (
        YEARS_18_20,
        None,
        [
            ("Besøk", "2018", "398 419", 398419.0),  # line 2955
            ("Antall arrangementer Scene i karantene", "2018", "", None),  # line 2963
            ("Antall arrangementer Scene i karantene", "2020", "65", 65.0),
            ("Antall besøkende", "2020", "29 886", 29886.0),  # line 2959
        ],
        None,
    ),
    20: (
        YEARS_18_20,
        None,
        [
            ("Kremasjoner", "2020", "1 262", 1262.0),  # line 2994, 'Kremasjoner¹'
            ("Medlemmer i Den norske kirke", "2018", "81 057", 81057.0),  # line 2988
        ],
        None,
    ),
    21: (
        YEARS_18_20,
        None,
        [
            ("Tilskudd idrettslag/-foreninger", "2020", "26 018 000", 26018000.0),  # line 2983
            ("Antall medlemmer i idrettslag", "2020", "56 800", 56800.0),  # line 2982
            ("Nadderud svømmehall", "2018", "129 043", 129043.0),  # line 2979
        ],
        None,
    ),
    22: (
        YEARS_18_20,
        None,
        [
            ("Total vannproduksjon (mill. m3)", "2018", "13,6", 13.6),  # line 3011, '13,6²'
            ("Total vannproduksjon (mill. m3)", "2020", "13,0", 13.0),
            ("Totalt antall utrykninger i Asker og Bærum", "2020", "4 969", 4969.0),  # line 3014, '4 969³'
        ],
        None,
    ),
    23: (
        YEARS_18_20,
        None,
        [
            ("Samlet areal på formålsbygg", "2019", "603 722", 603722.0),  # line 3230
            ("Vedlikehold av bygg eks. bolig (mill. kr)", "2018", "63,7", 63.7),  # line 3224
        ],
        _id_23,
    ),
    24: (
        (
            "31.12.2019 Årsverk",
            "31.12.2019 Fast ansatte",
            "31.12.2019 Timelønnede",
            "31.12.2019 Personer alle",
            "31.12.2020 Årsverk",
            "31.12.2020 Fast ansatte",
            "31.12.2020 Timelønnede",
            "31.12.2020 Personer alle",
        ),
        None,
        [
            ("SUM", "31.12.2020 Personer alle", "12 529", 12529.0),  # line 3258
            ("Kvinner", "31.12.2019 Årsverk", "5 425", 5425.0),  # line 3256
            ("Menn", "31.12.2019 Timelønnede", "887", 887.0),  # line 3257
        ],
        _id_24,
    ),
    25: (
        ("2019 Årsverk", "2019 Personer", "2019 Andel årsverk", "2020 Årsverk", "2020 Personer", "2020 Andel årsverk"),
        None,
        [
            ("Menn", "2020 Personer", "1 004", 1004.0),  # line 3271
            ("Andel fast ansatte totalt", "2019 Årsverk", "1 058,0", 1058.0),  # line 3272, '1 058,0¹'
            ("Kvinner", "2019 Andel årsverk", "14,9 %", 14.9),  # line 3270
        ],
        _id_25,
    ),
    26: (
        YEARS_18_20,
        None,
        [
            ("Sykefravær", "2020", "7,0 %", 7.0),  # line 3340
            ("Antall lærlinger", "2018", "88", 88.0),  # line 3338
        ],
        _id_26,
    ),
    27: (
        ("Andel kvinner 2019", "Andel kvinner 2020", "Lønn 2019", "Lønn 2020", "Snitt menn 2020", "Snitt kvinner 2020"),
        None,
        [
            ("Toppledere", "Snitt menn 2020", "1 210 220", 1210220.0),  # line 3319
            ("Høyskole uten tilleggsutdanning", "Lønn 2020", "-0,2 %", -0.2),  # line 3323
            ("Ufaglærte", "Andel kvinner 2019", "63 %", 63.0),  # line 3325
        ],
        None,
    ),
}

# rows per table, counted in the report text
ROW_COUNTS = {1: 28, 2: 28, 3: 23, 4: 12, 5: 19, 6: 21, 7: 10, 8: 1, 9: 4, 10: 13, 11: 3, 12: 1, 13: 5, 14: 2, 15: 17,
              16: 21, 17: 9, 18: 10, 19: 10, 20: 6, 21: 5, 22: 9, 23: 7, 24: 3, 25: 3, 26: 9, 27: 8}


@pytest.mark.parametrize("number", sorted(EXPECTED))
def test_table(report: Report, number: int) -> None:
    columns, unit, cells, identity = EXPECTED[number]
    table = report.table(number)
    assert table is not None, f"Tabell {number} not recovered"
    assert table.columns == columns
    assert table.unit == unit
    assert len(table.rows) == ROW_COUNTS[number], [r.label for r in table.rows]
    assert table.caption.startswith(f"Tabell {number} viser ")
    for row in table.rows:
        assert len(row.cells) == len(columns), row.label
        assert tuple(c.column for c in row.cells) == columns, row.label
    for label, column, raw, value in cells:
        cell = _row(table, label).cell(column)
        assert cell is not None, (label, column)
        assert (cell.raw, cell.value) == (raw, value), (label, column)
    if identity is not None:
        identity(table, report)


# ----------------------------------------------------------------------------- the set of tables


def test_exactly_27_numbered_tables(report: Report) -> None:
    numbers = [int(t.number) for t in report.tables if t.number is not None]
    assert sorted(numbers) == list(range(1, 28))


def test_captions_start_with_tabell_n_viser(report: Report) -> None:
    for t in report.tables:
        if t.number is not None:
            assert re.match(rf"^Tabell {t.number} viser \S", t.caption), t.caption
            assert report.lines[t.lines[0] - 1].strip() == t.caption  # the caption is the table's first line


def test_prose_sentence_tabell_9_viser_at_is_not_a_caption(report: Report) -> None:
    line = 2081
    assert report.lines[line - 1].startswith("Tabell 9 viser at netto finansutgifter")
    nines = [t for t in report.tables if t.number == "9"]
    assert len(nines) == 1 and nines[0].lines[0] == 1919
    assert not any(t.lines[0] <= line <= t.lines[1] for t in report.tables)
    assert any(p.lines[0] <= line <= p.lines[1] and "Tabell 9 viser at netto finansutgifter" in p.text
               for p in report.passages)


def test_tables_follow_the_report_order(report: Report) -> None:
    starts = [t.lines[0] for t in report.tables]
    assert starts == sorted(starts)
    for a, b in zip(report.tables, report.tables[1:], strict=False):
        assert a.lines[1] < b.lines[0], (a.caption, b.caption)


# ----------------------------------------------------------------------------- footnotes and markers


def test_tabell_1_footnotes(report: Report) -> None:
    notes = report.table(1).footnotes
    assert [f.marker for f in notes] == ["1", "2", "3", "4", "5"]
    assert notes[0].text.startswith("Budsjettet omfatter vedtatt budsjett justert for endringer i Økonomimelding I og II")
    assert notes[0].text.endswith("enn i tabeller som viser sektorenes resultat.")  # continued on line 359
    assert notes[0].lines == (358, 359)
    assert notes[1].text.endswith("andre midler som ikke er ført på sektorene.")
    assert notes[2].text == "Eksklusive avskrivninger."
    assert notes[3].text == "Korrigert for renter ført på sektorene."
    assert notes[4].text == "Regnskapet inkluderer årsoppgjørsdisposisjoner på 99 mill."
    assert notes[4].lines == (366, 366)
    # the markers are linked from the rows that carry them
    t = report.table(1)
    assert t.row("Brutto driftsresultat").footnotes == ("3",)
    assert t.row("Renteutgifter").footnotes == ("4",)
    assert t.row("Diverse felles til fordeling").footnotes == ("2",)
    assert t.row("Netto avsetninger til eller bruk av disposisjonsfond").footnotes == ("5",)


def test_footnote_markers_removed_from_labels(report: Report) -> None:
    labels = [r.label for t in report.tables for r in t.rows]
    sections = [r.section for t in report.tables for r in t.rows if r.section]
    assert "Driftsrammer1" not in labels and "Driftsrammer1" not in sections
    assert "Driftsrammer" in sections
    t1 = report.table(1)
    assert t1.row("Brutto driftsresultat") is not None
    assert t1.row("Brutto driftsresultat³") is None
    for label in labels + sections:
        assert not re.search("[⁰¹²³⁴⁵⁶⁷⁸⁹]", label), label
    # a digit glued to a word as a footnote marker ('Arbeidskapital1', 'Nye meldinger til barnevernet3')
    assert report.table(11).row("Arbeidskapital").footnotes == ("1",)
    assert report.table(16).row("Nye meldinger til barnevernet").footnotes == ("3",)
    # ... but a label's own numbers stay ('Bruk av sektorresultat 2019')
    assert report.table(2).row("Bruk av sektorresultat 2019") is not None


@pytest.mark.parametrize(
    ("number", "label", "values", "marker"),
    [
        (16, "Barnehageplasser for barn med særskilte behov", (412.0, 422.0, 463.0), "2"),  # '412 4222 463'
        (16, "Akuttvedtak", (25.0, 17.0, 15.0), "4"),  # '25 174 15'
        (18, "Antall bosatte flyktninger", (110.0, 81.0, 73.0), "1"),  # '110 81 731'
    ],
)
def test_footnote_marker_glued_to_a_number(report: Report, number: int, label: str, values: tuple, marker: str) -> None:
    row = report.table(number).row(label)
    assert tuple(c.value for c in row.cells) == values
    assert tuple(c.raw for c in row.cells) == tuple(f"{int(v)}" for v in values)
    assert marker in row.footnotes


def test_superscript_marker_on_a_number(report: Report) -> None:
    row = report.table(17).row("Dagaktivitetsplasser")  # '... 133 155¹ 155'
    cell = row.cell("Antall plasser 2019")
    assert (cell.raw, cell.value) == ("155", 155.0)
    assert row.footnotes == ("1",)
    row = report.table(22).row("Total vannproduksjon (mill. m3)")  # '13,6² 12,2 13,0²'
    assert [c.raw for c in row.cells] == ["13,6", "12,2", "13,0"]
    assert row.footnotes == ("2",)


# ----------------------------------------------------------------------------- units, values, empty cells


def test_units(report: Report) -> None:
    assert report.table(1).unit == "Mill. kr"
    assert report.table(10).unit == "Mill. 2020-kr"
    assert report.table(9).unit == "Mill. 2020-kr"
    assert report.table(7).unit == "Mill. kr."


def test_norwegian_values(report: Report) -> None:
    cell = report.table(1).row("Rammetilskudd").cell("Budsjett 2020")
    assert (cell.raw, cell.value) == ("-1 878,6", -1878.6)
    for t in report.tables:
        for row in t.rows:
            for c in row.cells:
                if c.raw.endswith("%") and c.value is not None:
                    assert re.fullmatch(r"-?\d+(,\d+)? ?%", c.raw), c.raw
                if c.value is not None and "%" in c.raw:
                    assert c.value == float(re.match(r"-?\d+(?:,\d+)?", c.raw).group().replace(",", "."))


def test_percent_cells_keep_the_sign_in_raw(report: Report) -> None:
    cell = report.table(26).row("Sykefravær").cell("2018")
    assert (cell.raw, cell.value) == ("7,3 %", 7.3)
    cell = report.table(3).row("Barnehager").cell("Prosentvis avvik")
    assert (cell.raw, cell.value) == ("-1,3 %", -1.3)


def test_empty_cells(report: Report) -> None:
    cell = report.table(6).row("Utlån av egne midler").cell("Regnskap 2020")
    assert (cell.raw, cell.value) == ("", None)
    empties = [(t.cite_number, r.label, c.column) for t in report.tables for r in t.rows for c in r.cells if c.raw == ""]
    for t in report.tables:
        for r in t.rows:
            for c in r.cells:
                if c.raw == "":
                    assert c.value is None
    assert ("6", "Mottatte avdrag på utlån av egne midler", "Regnskap 2020") in empties
    assert ("6", "Avsetninger til bundne investeringsfond", "Regnskap 2020") in empties
    assert ("19", "Antall arrangementer Scene i karantene", "2019") in empties


def test_numeric_cells_parse_from_their_raw_text(report: Report) -> None:
    from ingest.numbers import parse_no_number

    for t in report.tables:
        for r in t.rows:
            for c in r.cells:
                if c.value is not None:
                    assert parse_no_number(c.raw) == c.value, (t.cite_number, r.label, c)


# ----------------------------------------------------------------------------- line ranges


def test_rows_point_at_their_source_lines(report: Report) -> None:
    for t in report.tables:
        assert 1 <= t.lines[0] <= t.lines[1] <= len(report.lines)
        for r in t.rows:
            first, last = r.lines
            assert t.lines[0] <= first <= last <= t.lines[1], (t.cite_number, r.label)
            assert r.source == report.line_text(first, last), (t.cite_number, r.label)
            # the first printed value is on one of the row's lines (a label may be printed above it)
            first_value = next((c for c in r.cells if c.value is not None), None)
            if first_value is not None:
                digits = first_value.raw.lstrip("-").split()[0]
                assert digits in r.source, (t.cite_number, r.label, digits)
    assert report.table(1).row("Rammetilskudd").lines == (328, 328)
    assert report.table(24).row("SUM").lines == (3258, 3258)
    assert report.lines[3258 - 1].startswith("SUM 7 441 9 472")


def test_row_lines_cover_a_label_printed_above_the_numbers(report: Report) -> None:
    row = report.table(5).row(
        "Skjønnstilskudd – til kommuner med spesielt store utgifter til smittevern, for eksempel innenfor "
        "omsorgtjenesten, barnehagene eller skolene"
    )
    assert row.lines[0] == 669
    assert "Skjønnstilskudd" in row.source


def test_tabell_5_two_line_label_belongs_to_the_row_below(report: Report) -> None:
    t = report.table(5)
    row = t.row("Til kommuner med særlig høye utgifter – til oppfølging av TISK-strategien")
    assert row.cell("Kommentar").raw == "Skjønnsmidler Prop. 142"
    row = t.row(
        "Økte skjønnsmidler utover tidligere tildelte skjønnsmidler – til kommuner med særlig høye utgifter – "
        "til oppfølging av TISK-strategien"
    )
    assert row is not None and row.cell("Beløp (mill. kr)").value == 30.0


def test_tabell_15_has_one_footnote(report: Report) -> None:
    t = report.table(15)
    assert [(f.marker, f.text) for f in t.footnotes] == [("1", "Tall i parentes er elever fra andre kommuner.")]
    assert t.lines == (2557, 2580)


def test_tabell_13_footnotes(report: Report) -> None:
    t = report.table(13)
    assert [f.marker for f in t.footnotes] == ["1", "2", "3"]
    assert t.footnotes[1].text.endswith("Husbanken til videreformidling. Låntakerne betaler lånekostnadene.")
    assert t.footnotes[2].text.startswith("Ikke-rentable, øvrige gjelder gjeld via Offentlig privat samarbeid")


def test_every_row_marker_has_its_footnote_where_the_report_prints_one(report: Report) -> None:
    # Tabell 25 marks '1 058,0¹' but the report prints no footnote text for it
    for t in report.tables:
        if t.number in ("13", "25"):
            continue
        notes = {f.marker for f in t.footnotes}
        for r in t.rows:
            assert set(r.footnotes) <= notes, (t.cite_number, r.label, r.footnotes, notes)


# ----------------------------------------------------------------------------- uncaptioned blocks


def test_uncaptioned_block_under_tabell_17(report: Report) -> None:
    blocks = [t for t in report.tables if t.number is None and t.attached_to == "17"]
    assert len(blocks) == 1
    b = blocks[0]
    assert b.cite_number == "17"
    assert "Tjenester til hjemmeboende" in b.caption or "Tjenester til hjemmeboende" in (b.label_header or "")
    assert b.columns == YEARS_18_20
    assert [r.label for r in b.rows][:3] == ["Omsorgsbolig for eldre", "Praktisk bistand", "Hjemmesykepleie"]
    assert len(b.rows) == 9
    cell = b.row("Praktisk bistand").cell("2020")  # line 2766
    assert (cell.raw, cell.value) == ("2 181", 2181.0)
    assert b.row("Avlastning, demente").lines == (2773, 2773)
    assert report.table(17).lines[1] < b.lines[0]


def test_uncaptioned_block_under_tabell_23(report: Report) -> None:
    blocks = [t for t in report.tables if t.number is None and t.attached_to == "23"]
    assert len(blocks) == 1
    b = blocks[0]
    assert b.cite_number == "23"
    assert "Utvikling areal formålsbygg i kvm" in b.caption or b.label_header == "Utvikling areal formålsbygg i kvm"
    assert b.columns == YEARS_18_20
    assert [r.label for r in b.rows] == ["Samlet areal på formålsbygg (eide)", "Samlet areal på formålsbygg (leide)"]
    cell = b.row("Samlet areal på formålsbygg (leide)").cell("2019")  # line 3238
    assert (cell.raw, cell.value) == ("96 495", 96495.0)


def test_only_those_two_uncaptioned_blocks(report: Report) -> None:
    assert sorted(t.attached_to for t in report.tables if t.number is None) == ["17", "23"]


# ----------------------------------------------------------------------------- chapters


def test_chapters(report: Report) -> None:
    numbered = [c for c in report.chapters if c.number is not None]
    assert [c.number for c in numbered] == list(range(1, 15))
    by_number = {c.number: c for c in numbered}
    assert by_number[5].title is None
    assert by_number[2].title == "ÅRSBERETNING"
    assert by_number[1].title == "LEDERKOMMENTAR"
    assert by_number[7].title == "OPPVEKST SKOLE"
    # chapters tile the report in order
    spans = [c.lines for c in report.chapters]
    assert spans[0][0] == 1 and spans[-1][1] == len(report.lines)
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        assert start == end + 1


@pytest.mark.parametrize(
    ("number", "heading_line", "tables"),
    [
        (7, 2582, (15,)),  # '07 OPPVEKST' / 'SKOLE' printed at the foot of the chapter's first page
        (8, 2683, (16,)),  # 'OPPVEKST' / 'BARNEHAGE08'
        (9, 2776, (17,)),  # 'PLEIE OG' / 'OMSORG09'
        (10, 2850, (18,)),  # 'HELSE OG' / 'SOSIAL10'
        (11, 2949, (19, 20, 21)),  # 'NATUR, KULTUR,' / 'FRITID OG KIRKE11'
    ],
)
def test_chapter_starts_at_its_page_not_its_heading(report: Report, number: int, heading_line: int, tables: tuple) -> None:
    chapter = next(c for c in report.chapters if c.number == number)
    assert report.lines[heading_line - 1].rstrip().endswith(f"{number:02d}") or report.lines[heading_line - 1].startswith(
        f"{number:02d} "
    )
    start, end = chapter.lines
    assert start < heading_line <= end
    # the chapter opens at a page start: ' Viktige resultater og innsatser i 2020'
    assert report.lines[start - 1].strip() == "Viktige resultater og innsatser i 2020"
    for n in tables:
        t = report.table(n)
        assert t.chapter == chapter
        assert start <= t.lines[0] and t.lines[1] <= end
    if number == 7:
        assert start <= 2560 <= end
