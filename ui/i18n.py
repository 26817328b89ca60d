"""Interface strings: Norwegian bokmål (the default) and English.

Only the interface is translated. Text from the report is shown as printed.
"""

from __future__ import annotations

DEFAULT_LANG = "nb"
LANGS: tuple[str, ...] = ("nb", "en")
LANG_CHOICES: list[tuple[str, str]] = [("Norsk (bokmål)", "nb"), ("English", "en")]

STRINGS: dict[str, dict[str, str]] = {
    "nb": {
        "title": "Årsrapport 2020 – spør rapporten",
        "intro": (
            "Still spørsmål om Bærum kommunes årsrapport for 2020. Svarene viser tallet og kilden: "
            "klikk på en kilde for å se tabellen eller teksten med tallet markert."
        ),
        "lang_label": "Språk / Language",
        "tab_chat": "Chat",
        "tab_lookup": "Tabelloppslag",
        "chatbot_label": "Samtale",
        "question_label": "Spørsmål",
        "question_placeholder": "Skriv et spørsmål og trykk Enter, f.eks. «Hva var netto driftsresultat i 2020?»",
        "send": "Send",
        "new_chat": "Ny samtale",
        "examples_label": "Eksempelspørsmål",
        "sources_heading": "Kilder",
        "chips_label": "Kilder til svaret",
        "source_label": "Kilde",
        "source_empty": "Klikk på en kilde under et svar for å se tabellen eller teksten her.",
        "searching": "Søker i rapporten …",
        "no_answer": "Fant ikke noe sikkert svar i rapporten.",
        "sources_inline": "Kilder",
        "error_empty": "Skriv et spørsmål først.",
        "error_too_long": "Spørsmålet er for langt (høyst {limit} tegn). Kort det ned og prøv igjen.",
        "error_binary": "Spørsmålet inneholder tegn som ikke er tekst. Skriv spørsmålet på nytt.",
        "error_service": "Beklager, noe gikk galt da spørsmålet skulle besvares. Prøv igjen, eller still spørsmålet på en annen måte.",
        "error_source": "Fant ikke kilden i rapporten.",
        "table": "Tabell",
        "table_short": "Tabell",
        "chapter": "Kapittel",
        "line": "linje",
        "lines": "linje",
        "row": "rad",
        "column": "kolonne",
        "unit": "Enhet",
        "footnotes": "Fotnoter",
        "uncertain": "usikker tolkning",
        "lookup_intro": "Bla i tabellene, søk på tabellnummer eller ord, og kopier en celle sammen med kildehenvisningen.",
        "lookup_search_label": "Søk i tabeller (nummer eller ord)",
        "lookup_search_placeholder": "f.eks. 1 eller driftsresultat",
        "lookup_table_label": "Tabell",
        "lookup_row_label": "Rad",
        "lookup_column_label": "Kolonne",
        "lookup_copy_label": "Celle med kildehenvisning (kopier)",
        "lookup_found": "{n} tabeller",
        "lookup_none": "Ingen tabeller passer søket.",
        "raw_toggle": "Vis rå JSON for siste svar",
        "raw_label": "Siste svar som JSON",
        "uncaptioned": "uten tittel",
        "cited_quote": "Sitert tekst",
    },
    "en": {
        "title": "Annual Report 2020 – ask the report",
        "intro": (
            "Ask questions about Bærum kommune's annual report for 2020 (in Norwegian or English). "
            "Answers show the number and its source: click a source to see the table or text with the number highlighted."
        ),
        "lang_label": "Språk / Language",
        "tab_chat": "Chat",
        "tab_lookup": "Table lookup",
        "chatbot_label": "Conversation",
        "question_label": "Question",
        "question_placeholder": "Type a question and press Enter, e.g. “What was the net operating result in 2020?”",
        "send": "Send",
        "new_chat": "New conversation",
        "examples_label": "Example questions",
        "sources_heading": "Sources",
        "chips_label": "Sources for the answer",
        "source_label": "Source",
        "source_empty": "Click a source under an answer to see the table or text here.",
        "searching": "Searching the report …",
        "no_answer": "No reliable answer found in the report.",
        "sources_inline": "Sources",
        "error_empty": "Please type a question first.",
        "error_too_long": "The question is too long (at most {limit} characters). Please shorten it and try again.",
        "error_binary": "The question contains characters that are not text. Please type it again.",
        "error_service": "Sorry, something went wrong while answering. Please try again, or ask in a different way.",
        "error_source": "The source was not found in the report.",
        "table": "Table",
        "table_short": "Table",
        "chapter": "Chapter",
        "line": "line",
        "lines": "lines",
        "row": "row",
        "column": "column",
        "unit": "Unit",
        "footnotes": "Footnotes",
        "uncertain": "uncertain reading",
        "lookup_intro": "Browse the tables, search by table number or words, and copy a cell together with its citation.",
        "lookup_search_label": "Search tables (number or words)",
        "lookup_search_placeholder": "e.g. 1 or driftsresultat",
        "lookup_table_label": "Table",
        "lookup_row_label": "Row",
        "lookup_column_label": "Column",
        "lookup_copy_label": "Cell with citation (copy)",
        "lookup_found": "{n} tables",
        "lookup_none": "No tables match the search.",
        "raw_toggle": "Show raw JSON of the last answer",
        "raw_label": "Last answer as JSON",
        "uncaptioned": "untitled",
        "cited_quote": "Cited text",
    },
}

# Shown in both languages: the report is Norwegian, and English questions work too.
EXAMPLE_QUESTIONS: tuple[str, ...] = (
    "Hva var netto driftsresultat i 2020?",
    "Hvor mye fikk kommunen i skatteinntekter i 2020?",
    "Hvor høyt var sykefraværet i kommunen i 2020?",
    "What was the net operating result (netto driftsresultat) in 2020?",
)


def norm_lang(lang: str | None) -> str:
    """Map any language code to one the interface has ("no", "nb-NO" -> "nb")."""
    if not lang:
        return DEFAULT_LANG
    code = lang.strip().lower()
    if code.startswith("en"):
        return "en"
    return DEFAULT_LANG


def t(key: str, lang: str | None = None, **fmt: object) -> str:
    """The interface string `key` in `lang`, falling back to bokmål, then to the key itself."""
    table = STRINGS[norm_lang(lang)]
    text = table.get(key) or STRINGS[DEFAULT_LANG].get(key) or key
    return text.format(**fmt) if fmt else text
