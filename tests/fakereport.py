"""A small annual report of an invented municipality, in the layout of real Norwegian reports,
for tests that must not depend on the bundled report. `fake_report_text(year=..., scale=...)`
makes other years and other numbers of the same report."""

from __future__ import annotations


def _n(value: float, decimals: int = 1) -> str:
    text = f"{abs(value):,.{decimals}f}".replace(",", " ").replace(".", ",")
    return ("-" if value < 0 else "") + text


def fake_report_text(year: int = 2020, scale: float = 1.0, municipality: str = "Eksempel") -> str:
    """A report about `municipality` kommune for `year`; every figure multiplied by `scale`."""
    y, p, pp = year, year - 1, year - 2

    def s(v: float) -> float:
        return round(v * scale, 1)

    budget = {"Skatteinntekter": -1200.0, "Rammetilskudd": -800.0, "Oppvekst": 900.0, "Helse og omsorg": 850.0}
    actual = {"Skatteinntekter": -1250.5, "Rammetilskudd": -812.3, "Oppvekst": 880.2, "Helse og omsorg": 871.9}
    rows = "\n".join(
        f"{k} {_n(s(budget[k]))} {_n(s(actual[k]))} {_n(round(s(budget[k]) - s(actual[k]), 1))}" for k in budget
    )
    b_res = sum(s(v) for v in budget.values())
    a_res = sum(s(v) for v in actual.values())
    pupils = [int(4000 * scale), int(4100 * scale), int(4150 * scale)]
    minority = [int(600 * scale), int(640 * scale), int(700 * scale)]
    places = [int(2500 * scale), int(2550 * scale), int(2590 * scale)]
    return f"""Årsrapport {y}
{municipality} kommune

01 INNLEDNING
Årsrapporten for {y} gir en samlet oversikt over økonomien og tjenestene i {municipality} kommune.
Kommunen hadde {_n(round(42000 * scale), 0)} innbyggere ved utgangen av {y}.

02 ØKONOMI
Økonomisk resultat
Netto driftsresultat ble {_n(s(679.4), 0)} millioner kroner i {y}. Skatteinngangen økte med {_n(s(3.5))} prosent fra {p}.
Inntekter er vist med negativt fortegn i tabellene.
Kommunen bygde tre nye skoler til sammen {_n(s(250), 0)} mill. kr, og ordfører Kari Nordmann åpnet den siste i mai.
Tabell 1 viser hovedoversikt drift med budsjettavvik
Mill. kr Budsjett {y} Regnskap {y} Differanse {y}
{rows}
Sum drift {_n(b_res)} {_n(a_res)} {_n(round(b_res - a_res, 1))}
Netto driftsresultat {_n(s(-237.0))} {_n(s(-679.4))} {_n(round(s(-237.0) - s(-679.4), 1))}

03 OPPVEKST
Skole og barnehage
Antall elever økte også i {y}. Kommunen har {places[2]} barnehageplasser.
Tabell 2 viser nøkkeltall for skole og barnehage
{pp} {p} {y}
Antall elever i grunnskolen {_n(pupils[0], 0)} {_n(pupils[1], 0)} {_n(pupils[2], 0)}
Elever i grunnskolen, minoritetsspråklige {minority[0]} {minority[1]} {minority[2]}
Barnehageplasser {_n(places[0], 0)} {_n(places[1], 0)} {_n(places[2], 0)}
Andel elever med spesialundervisning 7,1 % 7,4 % 7,8 %

04 MEDARBEIDERE
Sykefraværet var 6,4 prosent i {y}. Kommunen hadde {_n(round(3100 * scale), 0)} årsverk ved utgangen av året.
"""


__all__ = ["fake_report_text"]
