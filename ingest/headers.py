"""Reassemble column names from header lines broken over several lines.

Headers in the extracted text come as fragments: one column name may span several lines
('Mer-/mindre-' + 'forbruk'), a blank line may fall inside a name, several names may share a
line ('Gjennom- snitt Måltall'), and multi-level headers put periods on one line and names on
another ('2018 2019 2020 2018 2019 2020' under 'Antall personer ... Antall plasser'). The
number of value columns, known from the rows, decides how the fragments are grouped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.text import SUPERSCRIPTS, clean_text, strip_superscripts
from ingest.units import find_unit, unit_text

UNIT_RE = re.compile(r"(?i)(?<!\()\bmill\.\s*(?:\d{4}-)?kr\.?(?!\))|(?<!\()\bmill\.\s*kr\b(?!\))")
PAREN_UNIT_RE = re.compile(r"(?i)\((mill\.\s*(?:\d{4}-)?kr\.?)\)")
PERIOD_RE = re.compile(rf"^(?:(?:19|20)\d{{2}}(?:[–-](?:19|20)\d{{2}})?|\d{{2}}\.\d{{2}}\.(?:19|20)\d{{2}})[{SUPERSCRIPTS}\d]?$")
_CONTINUATION_END = re.compile(r"(?:-|,|\bog|\bi|\bmed|\btil|\bav|\bfor)$")


@dataclass(frozen=True)
class Header:
    columns: tuple[str, ...]
    unit: str | None
    label_header: str | None
    group_header: str | None
    column_markers: tuple[tuple[str, ...], ...]  # footnote markers per column
    confident: bool


def is_period(token: str) -> bool:
    return bool(PERIOD_RE.match(token))


def _strip_period_marker(token: str, footnote_markers: set[str]) -> tuple[str, tuple[str, ...]]:
    text, markers = strip_superscripts(token)
    m = re.match(r"^((?:19|20)\d{2})(\d)$", text)
    if m and m.group(2) in footnote_markers:
        return m.group(1), (m.group(2),)
    return text, tuple(markers)


def join_fragment(lines: list[str]) -> str:
    """Join header lines: 'Mer-/mindre-' + 'forbruk' -> 'Mer-/mindreforbruk'; 'Time-' + 'lønnede'."""
    out = ""
    for line in (clean_text(ln).strip() for ln in lines):
        if not line:
            continue
        if out.endswith("-") and line[:1].islower():
            out = out[:-1] + line
        elif out.endswith("/"):
            out = out + line
        else:
            out = (out + " " + line).strip()
    out = re.sub(r"(\w)- (\w)", lambda m: m.group(1) + m.group(2) if m.group(2).islower() else m.group(0), out)
    return re.sub(r"\s+", " ", out).strip()


def split_capital_groups(text: str) -> list[str]:
    """'Budsjett 2020 Regnskap 2020 Avvik' -> ['Budsjett 2020', 'Regnskap 2020', 'Avvik'].

    A new group starts at a capitalised word or a period token; a period joins the group before
    it when that group is a single name without a period and no period follows.
    """
    tokens = text.split()
    groups: list[list[str]] = []
    for i, tok in enumerate(tokens):
        bare = strip_superscripts(tok)[0]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        starts_upper = bare[:1].isupper() or bare[:1] in "ÆØÅ"
        if is_period(bare):
            prev = groups[-1] if groups else None
            if prev and not any(is_period(strip_superscripts(t)[0]) for t in prev) and not is_period(
                strip_superscripts(nxt)[0]
            ) and not UNIT_RE.search(" ".join(prev)) and len(prev) <= 2:
                prev.append(tok)
            else:
                groups.append([tok])
        elif starts_upper or not groups or is_period(strip_superscripts(groups[-1][-1])[0]):
            if groups and groups[-1][-1].endswith(("-", ",")) and not starts_upper:
                groups[-1].append(tok)
            else:
                groups.append([tok])
        else:
            groups[-1].append(tok)
    return [" ".join(g) for g in groups]


def _clean_name(name: str, footnote_markers: set[str]) -> tuple[str, tuple[str, ...]]:
    text, markers = strip_superscripts(name)
    words = text.split()
    for i, word in enumerate(words):
        m = re.match(r"^(.*[A-Za-zÆØÅæøå)])(\d)$", word)
        if m and m.group(2) in footnote_markers and len(m.group(1)) >= 3:
            words[i] = m.group(1)
            markers = [*markers, m.group(2)]
    return " ".join(words).strip(" ,"), tuple(markers)


def _merge_to_count(fragments: list[str], k: int) -> list[str]:
    """Merge continuation fragments until k remain (strongest continuation first)."""
    frags = list(fragments)
    while len(frags) > k:
        best, best_score = None, -99.0
        for j in range(1, len(frags)):
            prev, cur = frags[j - 1], frags[j]
            score = 0.0
            if cur[:1].islower():
                score += 3
            if _CONTINUATION_END.search(prev):
                score += 3
            words = cur.split()
            score += 2.0 / len(words)
            if cur.split()[0] in {f.split()[0] for f in frags if f is not cur}:
                score -= 1.5  # a word that starts other columns starts this one too
            if score > best_score:
                best, best_score = j, score
        assert best is not None
        frags[best - 1 : best + 1] = [frags[best - 1] + " " + frags[best]]
    return frags


def _periodic_block(periods: list[str]) -> int:
    n = len(periods)
    for b in range(1, n + 1):
        if n % b == 0 and all(periods[i] == periods[i % b] for i in range(n)):
            return b
    return n


def named_columns(lines: list[str], one_per_line: bool = False) -> int | None:
    """How many columns a one-line header names ('Regnskap 2021 Budsjett 2021 Avvik' -> 3), its
    unit ('Beløp i 1 000 kr', 'Mill. kr') left out, or a header of periods only, or one name per
    line over rows printed one cell per line; None for other headers."""
    texts = [clean_text(x).strip() for x in lines if clean_text(x).strip()]
    words = [w for x in texts for w in x.split()]
    if words and all(is_period(strip_superscripts(w)[0]) for w in words):
        return len(words)  # periods only, on one line or one per line
    if one_per_line and texts and all(len(x) <= 40 and not x.endswith((".", ",", "-")) for x in texts):
        unit_free = [x for x in texts if not (find_unit(x) or UNIT_RE.fullmatch(x))]
        return len(unit_free) or None  # one name per line, as the rows print one cell per line
    if len(texts) != 1:
        return None
    text = texts[0]
    m = find_unit(text) or UNIT_RE.search(text)
    if m is not None:
        text = text[m.end() :].strip()
    if "\t" in text:
        return len([f for f in text.split("\t") if f.strip()])
    groups = split_capital_groups(text)
    return len(groups) or None


def _tabbed_header(fragments: list[list[str]], k: int, footnote_markers: set[str]) -> Header | None:
    """A header line with its names tab-separated (the PDF reader's): the fields after the first
    are the k names; the first holds the unit and the label column's header."""
    lines = [clean_text(x) for f in fragments for x in f if "\t" in clean_text(x)]
    if len(lines) != 1:
        return None
    first, *names = (" ".join(f.split()) for f in lines[0].split("\t"))
    names = [n for n in names if n]
    if len(names) != k:
        return None
    unit = None
    m = find_unit(first) or UNIT_RE.search(first)
    if m is not None:
        unit = unit_text(m) if m.re is not UNIT_RE else m.group(0).strip()
        first = (first[: m.start()] + first[m.end() :]).strip()
    cleaned = [_clean_name(n, footnote_markers) for n in names]
    if len({c for c, _ in cleaned}) != k:
        return None
    others = [join_fragment([x]) for f in fragments for x in f if "\t" not in clean_text(x)]
    if unit is None:  # a unit on a line of its own ('Beløp i 1 000 kr')
        for n, other in enumerate(others):
            m = find_unit(other)
            if m is not None:
                unit = unit_text(m)
                others[n] = (other[: m.start()] + other[m.end() :]).strip(" .():")
                break
    return Header(tuple(c for c, _ in cleaned), unit, first or None, " ".join(o for o in others if o) or None,
                  tuple(m for _, m in cleaned), True)


def parse_header(fragments: list[list[str]], k: int, footnote_markers: set[str]) -> Header:
    """Column names for k value columns from header fragments (groups of lines split by blanks)."""
    tabbed = _tabbed_header(fragments, k, footnote_markers)
    if tabbed is not None:
        return tabbed
    frags = [join_fragment(f) for f in fragments if join_fragment(f)]
    unit = None
    group_header = None
    label_header_parts: list[str] = []
    # The unit ('Mill. kr') sits top-left of the column header row: fragments before it are a
    # spanning group header; text before it in its fragment is the header of the label column.
    for idx, frag in enumerate(frags):
        m = UNIT_RE.search(frag)
        phrase = find_unit(frag)  # 'Beløp i 1 000 kr', 'Tall i hele tusen', 'Tall i mill. kr'
        if phrase is not None and (m is None or phrase.start() < m.start() <= phrase.end()):
            m, unit = phrase, unit_text(phrase)
        elif m and "antall" not in m.group(0).lower():
            unit = m.group(0).strip()
        if unit is not None:
            before, after = frag[: m.start()].strip(), frag[m.end() :].strip()
            if idx > 0:
                group_header = " ".join(frags[:idx])
            if before:
                label_header_parts.append(before)
            frags = ([after] if after else []) + frags[idx + 1 :]
            break
    if unit is None:
        m = PAREN_UNIT_RE.search(" ".join(frags))
        if m:
            unit = m.group(1)
    all_tokens = " ".join(frags).split()
    periods = [t for t in all_tokens if is_period(strip_superscripts(t)[0])]
    names_text = " ".join(t for t in all_tokens if not is_period(strip_superscripts(t)[0]))
    names_text = re.sub(r"(\w)- (?!og\b|eller\b)([a-zæøå])", r"\1\2", names_text)

    columns: list[str] | None = None
    confident = True
    # 1) single-level: capital groups (one line) or merged fragments (several lines)
    candidates: list[list[str]] = []
    groups = split_capital_groups(" ".join(frags))
    if len(frags) >= k:
        # several lines: the line breaks carry the grouping
        merged = _merge_to_count(frags, k) if len(frags) > k else frags
        candidates.append(merged)
    if len(groups) >= k:
        candidates.append(groups)
    if 0 < len(frags) < k:
        split: list[str] = []
        for f in frags:
            split.extend(split_capital_groups(f))
        if len(split) >= k:
            candidates.append(split)
    for cand in candidates:
        names = cand[len(cand) - k :]
        cleaned = [_clean_name(n, footnote_markers)[0] for n in names]
        if len(set(cleaned)) == k and all(cleaned):
            columns = names
            lead = cand[: len(cand) - k]
            if lead:
                label_header_parts.append(" ".join(lead))
            break
    # 2) two-level: periods x names
    if columns is None and periods:
        name_groups = split_capital_groups(names_text)
        p = len(periods)
        if p == k:
            block = _periodic_block(periods)
            reps = k // block
            if len(name_groups) >= k and len({*name_groups[len(name_groups) - k :]}) < k:
                names = name_groups[len(name_groups) - k :]
                columns = [f"{n} {_strip_period_marker(per, footnote_markers)[0]}" for n, per in zip(names, periods, strict=True)]
                lead = name_groups[: len(name_groups) - k]
            elif len(name_groups) >= reps:
                names = name_groups[len(name_groups) - reps :]
                columns = [f"{names[i // block]} {_strip_period_marker(periods[i], footnote_markers)[0]}" for i in range(k)]
                lead = name_groups[: len(name_groups) - reps]
            else:
                lead = name_groups
            if columns and lead:
                label_header_parts.append(" ".join(lead))
        elif k % p == 0:
            span = k // p
            if len(name_groups) >= k:
                names = name_groups[len(name_groups) - k :]
                lead = name_groups[: len(name_groups) - k]
            elif len(name_groups) >= span:
                names = name_groups[len(name_groups) - span :] * p
                lead = name_groups[: len(name_groups) - span]
            else:
                names, lead = [], name_groups
            if names:
                columns = [f"{_strip_period_marker(periods[i // span], footnote_markers)[0]} {names[i]}" for i in range(k)]
                if lead:
                    label_header_parts.append(" ".join(lead))
                if len({_clean_name(c, footnote_markers)[0] for c in columns}) < k:
                    confident = False
    if columns is None:
        columns = [f"Kolonne {i + 1}" for i in range(k)]
        confident = False
    cleaned_cols: list[str] = []
    col_markers: list[tuple[str, ...]] = []
    for name in columns:
        words = []
        markers: list[str] = []
        for w in name.split():
            if is_period(strip_superscripts(w)[0]):
                t, mk = _strip_period_marker(w, footnote_markers)
                words.append(t)
                markers.extend(mk)
            else:
                words.append(w)
        text, mk = _clean_name(" ".join(words), footnote_markers)
        cleaned_cols.append(text)
        col_markers.append(tuple(markers) + mk)
    label_header = None
    if label_header_parts:
        label_header, _ = _clean_name(" ".join(label_header_parts), footnote_markers)
    return Header(tuple(cleaned_cols), unit, label_header or None, group_header, tuple(col_markers), confident)
