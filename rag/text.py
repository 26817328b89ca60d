"""Norwegian-aware text handling for search and matching.

One `Analyzer` turns text into stemmed search tokens the same way for the index and for
questions: lowercase, layout noise removed, Norwegian numbers joined into one token
("1 234,5" -> "1234,5"), one-character tokens kept (the 7 in "tabell 7"), stopwords dropped,
Snowball "norwegian" stems, and optionally the parts of compounds whose parts occur in the
corpus ("skatteinntektene" -> skatteinntekt + skatt + inntekt).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

# --------------------------------------------------------------------------- cleaning

_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
_ODD_SPACES = re.compile("[\u00a0\u2007\u2009\u202f\u200a\u2002\u2003\u2004\u2005\u2006\u3000]")
_DASH_BEFORE_DIGIT = re.compile(r"[\u2212\u2013](?=\s?\d)")
# A Norwegian number as printed: digit groups of three separated by a space, decimal comma.
_GROUPED_NUMBER = re.compile(r"(?<![\d,.])\d{1,3}(?: \d{3})+(?:,\d+)?(?![\d])")
_TOKEN = re.compile(r"\d+(?:,\d+)?|[^\W\d_]+|\d+", re.UNICODE)


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


# The standard Norwegian stopword list (NLTK/Snowball), as data.
STOPWORDS_NORWEGIAN = frozenset(
    line.strip() for line in resources.files("rag").joinpath("stopwords_no.txt").read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
)


# Words that say nothing about what is asked, in both languages (on top of the standard list).
EXTRA_STOPWORDS_NO = _wordset(
    """
    hvor hva hvem hvilke hvilken hvilket hvordan når mye mange stor stort store høy høyt
    var ble blir er vært totalt samlet i år året årets ifølge iht kr kroner mill millioner
    mrd milliarder prosent antall tall oppgi svar fortell gi meg omtrent cirka ca rapporten
    årsrapporten rapport den det de en et ett sin sitt sine sine seg seg hadde har få fikk
    brukte betalte utgjorde utgjør penger utgangen slutten kommunen kommunens kommune
    samlede totale ifølge flere færre fler mer høyere lavere sammenlignet sammenliknet nye ny nytt
    under blant gjennom innen løpet ganger gang times midler midlene
    fjor ifjor
    """
)
STOPWORDS_EN = _wordset(
    """
    a an the of in on at to for from by with and or what which who whom how much many was were
    is are be been did do does has have had it its this that these those there their them they
    according as per into about than then during total overall give tell me please report
    more fewer higher lower compared end
    """
)
STOPWORDS = frozenset(STOPWORDS_NORWEGIAN) | EXTRA_STOPWORDS_NO | STOPWORDS_EN
STOPWORDS_REPORT = frozenset(STOPWORDS_NORWEGIAN) | EXTRA_STOPWORDS_NO
# Words that carry a comparison ("falt", "økte", "høyere"): when a difference is computed or read
# from a change column they are answered by it, not by a label.
COMPARE_WORDS = _wordset(
    """
    falt økte økt økning redusert reduserte reduksjon nedgang endring endret steg sank vokste minket
    avvik avviket differanse høyere lavere flere færre mer mindre sammenlignet
    fell rose increased decreased increase decrease change changed grew dropped difference variance
    higher lower more fewer less compared
    """
)
# Stopwords for search that still matter when matching a label: "Ikke rentable" is not "Rentable".
KEEP_IN_TERMS = frozenset({"ikke", "not", "uten", "without"})
# Verbs that questions use around the thing asked about ("mottok", "ble ferdigstilt"): they help
# find a sentence but a source that lacks them is not a worse match.
LIGHT_VERBS = _wordset(
    """
    mottok mottatt motta mottar fikk fått får ferdigstilt ferdigstilte bygget bygd bygde utført
    utførte registrert registrerte tatt tok gjennomført gjennomførte holdt holder avholdt hatt
    jobbet jobber jobbe arbeidet kostet koster tjente tjener vant overtok sitter satt ligger heter
    gikk kom ga gitt gir benyttet benytter opplevde opplever brukes inkludert inkludere ser står
    stod sto fantes finnes fins var ble hentet satt lagt la solgt kjøpt kjøpte
    falt økte økt redusert reduserte steg sank vokste minket endret målt regnet brukt bruke
    received receive got get completed built held hold worked work cost costs earned earn won
    took take sits sit located went came gave given used use experienced included
    rose fell increased decreased grew grow dropped changed measured worth
    """
)


def clean(text: str) -> str:
    """Text with layout noise removed: soft hyphens, odd spaces, superscripts, unicode minus."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("¬", "").replace("\u00ad", "")
    text = _ODD_SPACES.sub(" ", text)
    text = "".join(ch for ch in text if ch not in _SUPERSCRIPTS)
    text = _DASH_BEFORE_DIGIT.sub("-", text)
    return text


def join_numbers(text: str) -> str:
    """'1 234,5' -> '1234,5' so that a printed number is one token."""
    return _GROUPED_NUMBER.sub(lambda m: m.group(0).replace(" ", ""), text)


_ELISION = re.compile(r"\b([^\W\d_]{2,})-\s*(/|og\s|eller\s|and\s|or\s)\s*([^\W\d_]{4,})", re.UNICODE)


_HYPHENATED = re.compile(r"\b([^\W\d_]{2,})-([^\W\d_]{3,})\b", re.UNICODE)


def hyphen_joins(text: str) -> list[tuple[str, str, str]]:
    """(first, second, joined) for words written with a hyphen ('TV-aksjonen' -> 'tvaksjonen')."""
    return [
        (m.group(1).lower(), m.group(2).lower(), (m.group(1) + m.group(2)).lower())
        for m in _HYPHENATED.finditer(clean(text))
    ]


def raw_tokens(text: str) -> list[str]:
    """Lowercased word and number tokens, one-character tokens kept, no stopword removal."""
    return _TOKEN.findall(join_numbers(clean(text)).lower())


# --------------------------------------------------------------------------- language

_NO_MARKERS = _wordset(
    """
    hva hvor hvem hvilke hvilken hvordan når mye mange var ble er og i på til av med det den som
    kommunen kommunens fikk brukte hadde enn mer mindre flere færre ifølge
    """
)
_EN_MARKERS = _wordset(
    """
    what how who which when where much many was were did the of in to and is are with than
    according did does municipality total average share year end
    """
)


def detect_language(text: str) -> str:
    """'en' or 'no' by counting function words; ties go to Norwegian."""
    words = re.findall(r"[^\W\d_]+", text.lower())
    no = sum(w in _NO_MARKERS for w in words)
    en = sum(w in _EN_MARKERS for w in words)
    return "en" if en > no else "no"


# --------------------------------------------------------------------------- analyzer


class Analyzer:
    """Tokeniser + stemmer (+ optional compound splitter) shared by the index and the queries.

    ``vocabulary``: words of the corpus; when given, long words are also split into two parts
    that both occur in it (cheap compound splitting). Caches are per instance.
    """

    def __init__(self, vocabulary: Iterable[str] | None = None, min_compound: int = 8) -> None:
        import Stemmer  # PyStemmer; a C extension, cheap to load

        self._stemmer = Stemmer.Stemmer("norwegian")
        self._stem_cache: dict[str, str] = {}
        self._split_cache: dict[str, tuple[str, ...]] = {}
        self._split_heads: dict[str, str] = {}
        self._suffixes: frozenset[str] = frozenset()
        self._prefixes: frozenset[str] = frozenset()
        self.min_compound = min_compound
        self.vocabulary: frozenset[str] = frozenset()
        self._stem_vocab: frozenset[str] = frozenset()
        if vocabulary is not None:
            self.set_vocabulary(vocabulary)

    def __getstate__(self) -> dict:
        """Picklable (the engine cache): the C stemmer is made again on load."""
        return {k: v for k, v in self.__dict__.items() if k != "_stemmer"}

    def __setstate__(self, state: dict) -> None:
        import Stemmer

        self.__dict__.update(state)
        self._stemmer = Stemmer.Stemmer("norwegian")

    # -- vocabulary -----------------------------------------------------------------------

    def set_vocabulary(self, words: Iterable[str]) -> None:
        vocab = {w for w in words if len(w) >= 3 and not w[0].isdigit()}
        self.vocabulary = frozenset(vocab)
        stems = {self.stem(w) for w in vocab}
        self._stem_vocab = frozenset(stems)
        # recurring compound heads and modifiers: stem suffixes / word prefixes shared by 2+ words
        suffixes: dict[str, int] = {}
        prefixes: dict[str, int] = {}
        for st in stems:
            for i in range(3, len(st) - 3):
                suffixes[st[i:]] = suffixes.get(st[i:], 0) + 1
        for w in vocab:
            for i in range(4, len(w) - 2):
                prefixes[w[:i]] = prefixes.get(w[:i], 0) + 1
        self._suffixes = frozenset(k for k, n in suffixes.items() if n >= 2)
        self._prefixes = frozenset(k for k, n in prefixes.items() if n >= 2)
        self._split_cache.clear()
        self._split_heads.clear()

    @staticmethod
    def corpus_words(texts: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for t in texts:
            out.update(raw_tokens(t))
        return out

    # -- stemming -------------------------------------------------------------------------

    def stem(self, word: str) -> str:
        s = self._stem_cache.get(word)
        if s is None:
            s = word if word[:1].isdigit() else self._stemmer.stemWord(word)
            if len(s) > 4 and s.endswith("mm"):  # "sykehjemmet" -> "sykehjemm": same stem as "sykehjem"
                s = s[:-1]
            self._stem_cache[word] = s
        return s

    def _known(self, part: str) -> bool:
        return part in self.vocabulary or self.stem(part) in self._stem_vocab

    def split_compound(self, word: str) -> tuple[str, ...]:
        """Stems of the two parts of a compound, or () when no split is found.

        A part is accepted when the corpus has it as a word, or (weaker) when it recurs as the
        head or the modifier of other corpus words ("-plasser", "sosialhjelps-")."""
        if not self.vocabulary or len(word) < self.min_compound or word[:1].isdigit():
            return ()
        hit = self._split_cache.get(word)
        if hit is not None:
            return hit
        best: tuple[tuple[int, int, int], tuple[str, ...], str] | None = None
        for i in range(3, len(word) - 2):
            left, right = word[:i], word[i:]
            rstem = self.stem(right)
            if len(rstem) < 3 or len(right) < 4 or right in STOPWORDS or rstem in STOPWORDS:
                continue
            r_strength = (
                2 if self._known(right) else (1 if len(rstem) >= 5 and rstem in self._suffixes else 0)
            )
            if not r_strength:
                continue
            lefts = [left]
            if len(left) > 4 and left[-1] in "se":  # linking -s- / -e- (skatteinntekt, inntektsskatt)
                lefts.append(left[:-1])
            for lf in lefts:
                if len(lf) < 3:
                    continue
                l_strength = 2 if self._known(lf) else (1 if len(lf) >= 5 and lf in self._prefixes else 0)
                if not l_strength or max(l_strength, r_strength) < 2:
                    continue
                if r_strength == 1 and (l_strength < 2 or len(lf) < 5):
                    continue
                if l_strength == 1 and len(rstem) < 4:
                    continue
                if lf in STOPWORDS:
                    continue
                score = (l_strength + r_strength, int(left[-1] == "s"), min(len(lf), len(right)))
                if best is None or score > best[0]:
                    best = (score, (self.stem(lf), rstem), right)
                break
        result = best[1] if best else ()
        self._split_cache[word] = result
        if best:
            self._split_heads[word] = best[2]
        return result

    # -- tokens ---------------------------------------------------------------------------

    def expand_elisions(self, text: str) -> str:
        """'Mer-/mindreforbruk' -> 'merforbruk/mindreforbruk', 'inntekts- og formuesskatt' ->
        'inntektsskatt og formuesskatt': the shared head of the second word completes the first."""
        if "-" not in text or not self.vocabulary:
            return text

        def fix(m: re.Match[str]) -> str:
            first, sep, second = m.group(1), m.group(2), m.group(3)
            low = second.lower()
            head = self.compound_head(low)
            if not head:  # no split known: a head that makes the first word a corpus word
                head = next(
                    (low[i:] for i in range(2, len(low) - 3) if first.lower() + low[i:] in self.vocabulary),
                    None,
                )
            if not head:
                return m.group(0)
            return f"{first}{head} {sep.strip()} {second}"

        return _ELISION.sub(fix, text)

    def compound_head(self, word: str) -> str | None:
        """The raw second part of a compound ('mindreforbruk' -> 'forbruk'), or None."""
        if not self.split_compound(word):
            return None
        return self._split_heads.get(word)

    def tokens(self, text: str, *, stopwords: bool = True, compounds: bool = True) -> list[str]:
        """Search tokens: stems of content words (and compound parts), numbers joined."""
        out: list[str] = []
        for w in raw_tokens(self.expand_elisions(text)):
            if stopwords and w in STOPWORDS:
                continue
            out.append(self.stem(w))
            if compounds:
                out.extend(self.split_compound(w))
        return out

    def terms(self, text: str, stopwords: frozenset[str] = STOPWORDS) -> list[Term]:
        """Content words as (stem, compound-part stems, the lowercased word)."""
        out: list[Term] = []
        for w in raw_tokens(self.expand_elisions(text)):
            if w in stopwords and w not in KEEP_IN_TERMS:
                continue
            out.append(Term(self.stem(w), self.split_compound(w), w))
        return out

    def field(self, text: str) -> Field:
        """Whole-word stems and compound-part stems of a text (a row label, a column, a sentence).
        A hyphenated word also counts as the joined word ('Miljøfyrtårn-sertifisert')."""
        whole: set[str] = set()
        parts: set[str] = set()
        compounds: set[tuple[str, tuple[str, ...]]] = set()
        for t in self.terms(text, STOPWORDS_REPORT):  # report text: "IT" is no English "it"
            whole.add(t.stem)
            parts.update(t.parts)
            if t.parts:
                compounds.add((t.stem, t.parts))
        for _, _, joined in hyphen_joins(text):
            whole.add(self.stem(joined))
        return Field(frozenset(whole), frozenset(parts - whole), frozenset(compounds))


@dataclass(frozen=True)
class Term:
    stem: str
    parts: tuple[str, ...]
    word: str


@dataclass(frozen=True)
class Field:
    whole: frozenset[str]
    parts: frozenset[str] = frozenset()
    # (compound stem, its part stems): lets separate question words that together name a
    # compound ("interest income" -> rente + inntekt) count as the compound itself
    compounds: frozenset[tuple[str, tuple[str, ...]]] = frozenset()

    def assembled(self, stems: frozenset[str] | set[str]) -> frozenset[str]:
        """Stems among `stems` that, all together, name every part of one of this field's
        compounds ('plassert' + 'institusjon' -> 'institusjonsplasseringer')."""
        out: set[str] = set()
        for _, parts in self.compounds:
            found = [_part_match(p, stems) for p in parts]
            if all(found):
                out.update(s for f in found for s in f)
        return frozenset(out)

    def assembled_words(self, stems: frozenset[str] | set[str]) -> frozenset[str]:
        """This field's compound stems whose parts all occur among `stems`."""
        return frozenset(w for w, parts in self.compounds if all(_part_match(p, stems) for p in parts))

    @property
    def all(self) -> frozenset[str]:
        return self.whole | self.parts

    def __bool__(self) -> bool:
        return bool(self.whole or self.parts)


def _part_match(part: str, stems: frozenset[str] | set[str]) -> frozenset[str]:
    """The stems that are `part` itself or (5+ letters) a prefix relation of it
    ('plasser' ~ 'plassering'), as in resolve.stem_credit."""
    if part in stems:
        return frozenset((part,))
    if len(part) < 5:
        return frozenset()
    return frozenset(s for s in stems if len(s) >= 5 and (s.startswith(part) or part.startswith(s)))


# --------------------------------------------------------------------------- numbers
