"""The UI's message catalogue: one place for every interface string, in the engine's language codes.

Language codes are the answer engine's: "no" (Norwegian bokmål) and "en". Anything else a
caller has ("nb", "nb-NO", "en-GB", None) goes through `norm_lang` first; only the HTML `lang`
attribute uses "nb" (`html_lang`). Keys this catalogue does not have are looked up in the
engine's catalogue (rag/messages.py: "busy", "empty", "too_long", "table", "page", …), so a
sentence the engine already words is never written twice.

Only the interface is translated: text from a report is shown as printed, and an answer stays in
the language its question was asked in.
"""

from __future__ import annotations

from rag.messages import MESSAGES as ENGINE_MESSAGES

DEFAULT_LANG = "no"
LANGS: tuple[str, ...] = ("no", "en")
LANG_CHOICES: list[tuple[str, str]] = [("Norsk", "no"), ("English", "en")]
ALL_REPORTS = "*"  # the report picker's value for "every report"

STRINGS: dict[str, dict[str, str]] = {
    "no": {
        "app_title": "Spør årsrapporten",
        "app_title_many": "Spør årsrapportene",
        "intro": "Still et spørsmål om {reports}. Svaret viser tallet slik det står i rapporten, og hvor det står.",
        "intro_none": "Still et spørsmål om årsrapporten.",
        "lang_label": "Språk / Language",
        "report_label": "Rapport",
        "all_reports": "Alle rapporter",
        "tab_chat": "Spør",
        "tab_lookup": "Tabelloppslag (ansatte)",
        "chatbot_label": "Samtale",
        "question_label": "Spørsmål",
        "question_placeholder": "Skriv et spørsmål og trykk Enter",
        "send": "Send",
        "new_chat": "Ny samtale",
        "staff_view": "Ansattvisning: linjenumre, sikkerhet og JSON",
        "hint_empty": "Skriv et spørsmål i feltet først, for eksempel: {example}",
        "hint_empty_plain": "Skriv et spørsmål i feltet først.",
        "hint_wait": "Vent litt: indeksen bygges. Chatten åpner når den er klar.",
        "pending": "Leter i rapporten …",
        "source_heading": "Kilde",
        "source_empty": "Velg en kilde under et svar for å se tabellen eller teksten her.",
        "source_none_for_answer": "Dette svaret har ingen kilde å vise.",
        "source_missing": "Fant ikke kilden i rapporten.",
        "close": "Lukk kilden",
        "how_found": "Slik ble svaret funnet",
        "figure_label": "Tallet i rapporten",
        "computed": "beregnet",
        "source_line": "Kilde",
        "unsure_badge": "Usikkert svar",
        "nearest_title": "Det nærmeste rapporten har:",
        "followups": "Spør videre:",
        "confidence": "Sikkerhet",
        "chart_alt": "Stolpediagram for «{label}»{unit}: {points}.",
        "chart_none": "Raden har ikke flere tall å vise i et diagram.",
        "feedback_thanks": "Takk! Tilbakemeldingen er lagret.",
        "feedback_taken_back": "Stemmen er trukket tilbake.",
        "feedback_failed": "Tilbakemeldingen kunne ikke lagres. Prøv igjen senere.",
        "feedback_off": "Tilbakemelding er slått av: datamappen er skrivebeskyttet.",
        "comment_label": "Vil du si mer om svaret? (valgfritt)",
        "comment_send": "Send kommentar",
        "comment_thanks": "Takk! Kommentaren er lagret.",
        "comment_empty": "Skriv en kommentar først, eller la feltet stå tomt.",
        "building": "Bygger indeksen over rapporten for første gang …",
        "building_detail": "{done} av {total} tekstbiter ({percent} %). Chatten åpner når indeksen er klar.",
        "building_start": "Starter …",
        "build_failed": "Indeksen kunne ikke bygges: {message}",
        "not_ready": "Chatten er ikke klar ennå: indeksen bygges. Prøv igjen om litt.",
        "error_service": "Beklager, noe gikk galt. Prøv igjen, eller still spørsmålet på en annen måte.",
        "raw_label": "Svaret som JSON",
        "lookup_intro": "Bla i tabellene i én rapport, vis en rad som diagram og kopier en celle med kildehenvisning.",
        "lookup_search_label": "Søk i tabeller (nummer eller ord)",
        "lookup_search_placeholder": "f.eks. 7 eller driftsresultat",
        "lookup_table_label": "Tabell",
        "lookup_row_label": "Rad",
        "lookup_column_label": "Kolonne",
        "lookup_copy_label": "Celle med kildehenvisning (kopier)",
        "lookup_none": "Ingen tabeller passer søket.",
        "lookup_no_reports": "Ingen rapporter er lastet ennå.",
        "uncaptioned": "uten tittel",
        "unit": "Enhet",
        "footnotes": "Fotnoter",
        "row_uncertain": "usikker tolkning",
        "cited_quote": "Sitert tekst",
        "example_q": "Hva var {label} i {year}?",
    },
    "en": {
        "app_title": "Ask the annual report",
        "app_title_many": "Ask the annual reports",
        "intro": "Ask a question about {reports}. The answer shows the figure as printed in the report, and where it is.",
        "intro_none": "Ask a question about the annual report.",
        "lang_label": "Språk / Language",
        "report_label": "Report",
        "all_reports": "All reports",
        "tab_chat": "Ask",
        "tab_lookup": "Table lookup (staff)",
        "chatbot_label": "Conversation",
        "question_label": "Question",
        "question_placeholder": "Type a question and press Enter",
        "send": "Send",
        "new_chat": "New conversation",
        "staff_view": "Staff view: line numbers, confidence and JSON",
        "hint_empty": "Type a question in the box first, for example: {example}",
        "hint_empty_plain": "Type a question in the box first.",
        "hint_wait": "Please wait: the index is being built. The chat opens when it is ready.",
        "pending": "Searching the report …",
        "source_heading": "Source",
        "source_empty": "Choose a source under an answer to see the table or text here.",
        "source_none_for_answer": "This answer has no source to show.",
        "source_missing": "The source was not found in the report.",
        "close": "Close the source",
        "how_found": "How the answer was found",
        "figure_label": "The figure in the report",
        "computed": "computed",
        "source_line": "Source",
        "unsure_badge": "Unsure answer",
        "nearest_title": "The nearest the report has:",
        "followups": "Ask next:",
        "confidence": "Confidence",
        "chart_alt": "Bar chart of “{label}”{unit}: {points}.",
        "chart_none": "The row has no further figures to chart.",
        "feedback_thanks": "Thank you! Your feedback is saved.",
        "feedback_taken_back": "Your vote is taken back.",
        "feedback_failed": "The feedback could not be saved. Please try again later.",
        "feedback_off": "Feedback is off: the data directory is read-only.",
        "comment_label": "Anything to add about the answer? (optional)",
        "comment_send": "Send comment",
        "comment_thanks": "Thank you! Your comment is saved.",
        "comment_empty": "Type a comment first, or leave the box empty.",
        "building": "Building the index of the report for the first time …",
        "building_detail": "{done} of {total} text pieces ({percent} %). The chat opens when the index is ready.",
        "building_start": "Starting …",
        "build_failed": "The index could not be built: {message}",
        "not_ready": "The chat is not ready yet: the index is being built. Please try again shortly.",
        "error_service": "Sorry, something went wrong. Please try again, or ask in a different way.",
        "raw_label": "The answer as JSON",
        "lookup_intro": "Browse the tables of one report, chart a row and copy a cell with its citation.",
        "lookup_search_label": "Search tables (number or words)",
        "lookup_search_placeholder": "e.g. 7 or driftsresultat",
        "lookup_table_label": "Table",
        "lookup_row_label": "Row",
        "lookup_column_label": "Column",
        "lookup_copy_label": "Cell with citation (copy)",
        "lookup_none": "No tables match the search.",
        "lookup_no_reports": "No reports are loaded yet.",
        "uncaptioned": "untitled",
        "unit": "Unit",
        "footnotes": "Footnotes",
        "row_uncertain": "uncertain reading",
        "cited_quote": "Cited text",
        "example_q": "What was «{label}» in {year}?",
    },
}


def norm_lang(lang: object) -> str:
    """Any language code (the engine's "no"/"en", a browser's "nb-NO", None) -> "no" or "en"."""
    if isinstance(lang, str) and lang.strip().lower().startswith("en"):
        return "en"
    return DEFAULT_LANG


def html_lang(lang: object) -> str:
    """The value for an HTML `lang` attribute: "nb" for Norwegian bokmål, "en" for English."""
    return "en" if norm_lang(lang) == "en" else "nb"


def t(key: str, lang: object = None, **fmt: object) -> str:
    """The string `key` in `lang`: the UI's own, else the engine's (rag/messages.py), else the
    key itself; formatted with `fmt` when given."""
    code = norm_lang(lang)
    text = STRINGS[code].get(key) or ENGINE_MESSAGES[code].get(key)
    if text is None:
        text = STRINGS[DEFAULT_LANG].get(key) or ENGINE_MESSAGES[DEFAULT_LANG].get(key) or key
    return text.format(**fmt) if fmt else text


def has(key: str) -> bool:
    """True when `key` exists in both languages (in the UI's catalogue or the engine's)."""
    return all(key in STRINGS[c] or key in ENGINE_MESSAGES[c] for c in LANGS)
