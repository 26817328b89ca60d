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

from bm25s.stopwords import STOPWORDS_NORWEGIAN

# --------------------------------------------------------------------------- cleaning

_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
_ODD_SPACES = re.compile("[\u00a0\u2007\u2009\u202f\u200a\u2002\u2003\u2004\u2005\u2006\u3000]")
_DASH_BEFORE_DIGIT = re.compile(r"[\u2212\u2013](?=\s?\d)")
# A Norwegian number as printed: digit groups of three separated by a space, decimal comma.
_GROUPED_NUMBER = re.compile(r"(?<![\d,.])\d{1,3}(?: \d{3})+(?:,\d+)?(?![\d])")
_TOKEN = re.compile(r"\d+(?:,\d+)?|[^\W\d_]+|\d+", re.UNICODE)

# Words that say nothing about what is asked, in both languages (on top of bm25s' list).
EXTRA_STOPWORDS_NO = frozenset(
    """
    hvor hva hvem hvilke hvilken hvilket hvordan når mye mange stor stort store høy høyt
    var ble blir er vært totalt samlet i år året årets ifølge iht kr kroner mill millioner
    mrd milliarder prosent antall tall oppgi svar fortell gi meg omtrent cirka ca rapporten
    årsrapporten rapport den det de en et ett sin sitt sine sine seg seg hadde har få fikk
    """.split()
)
STOPWORDS_EN = frozenset(
    """
    a an the of in on at to for from by with and or what which who whom how much many was were
    is are be been did do does has have had it its this that these those there their them they
    according as per into about than then during total overall give tell me please report
    """.split()
)
STOPWORDS = frozenset(STOPWORDS_NORWEGIAN) | EXTRA_STOPWORDS_NO | STOPWORDS_EN


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


def raw_tokens(text: str) -> list[str]:
    """Lowercased word and number tokens, one-character tokens kept, no stopword removal."""
    return _TOKEN.findall(join_numbers(clean(text)).lower())


# --------------------------------------------------------------------------- language

_NO_MARKERS = frozenset(
    """
    hva hvor hvem hvilke hvilken hvordan når mye mange var ble er og i på til av med det den som
    kommunen kommunens fikk brukte hadde enn mer mindre flere færre ifølge
    """.split()
)
_EN_MARKERS = frozenset(
    """
    what how who which when where much many was were did the of in to and is are with than
    according did does municipality total average share year end
    """.split()
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
        self.min_compound = min_compound
        self.vocabulary: frozenset[str] = frozenset()
        self._stem_vocab: frozenset[str] = frozenset()
        if vocabulary is not None:
            self.set_vocabulary(vocabulary)

    # -- vocabulary -----------------------------------------------------------------------

    def set_vocabulary(self, words: Iterable[str]) -> None:
        vocab = {w for w in words if len(w) >= 3 and not w[0].isdigit()}
        self.vocabulary = frozenset(vocab)
        self._stem_vocab = frozenset(self.stem(w) for w in vocab)
        self._split_cache.clear()

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
            self._stem_cache[word] = s
        return s

    def _known(self, part: str) -> bool:
        return part in self.vocabulary or self.stem(part) in self._stem_vocab

    def split_compound(self, word: str) -> tuple[str, ...]:
        """Stems of the two parts of a compound, or () when no split is found."""
        if not self.vocabulary or len(word) < self.min_compound or word[:1].isdigit():
            return ()
        hit = self._split_cache.get(word)
        if hit is not None:
            return hit
        best: tuple[int, tuple[str, ...]] | None = None
        for i in range(3, len(word) - 3):
            left, right = word[:i], word[i:]
            if not self._known(right) or len(self.stem(right)) < 3:
                continue
            lefts = [left]
            if len(left) > 4 and left[-1] in "se":  # linking -s- / -e- (skatteinntekt, inntektsskatt)
                lefts.append(left[:-1])
            for lf in lefts:
                if len(lf) >= 3 and self._known(lf):
                    score = min(len(lf), len(right))
                    if best is None or score > best[0]:
                        best = (score, (self.stem(lf), self.stem(right)))
                    break
        result = best[1] if best else ()
        self._split_cache[word] = result
        return result

    # -- tokens ---------------------------------------------------------------------------

    def tokens(self, text: str, *, stopwords: bool = True, compounds: bool = True) -> list[str]:
        """Search tokens: stems of content words (and compound parts), numbers joined."""
        out: list[str] = []
        for w in raw_tokens(text):
            if stopwords and w in STOPWORDS:
                continue
            out.append(self.stem(w))
            if compounds:
                out.extend(self.split_compound(w))
        return out

    def stems(self, text: str) -> set[str]:
        return set(self.tokens(text))


# --------------------------------------------------------------------------- numbers

_NUM_IN_TEXT = re.compile(
    r"(?<![\w,.])(-\s?)?(\d{1,3}(?: \d{3})+|\d+)(?:,(\d+))?(?![\d])"
)


def parse_number(raw: str) -> float | None:
    """'-1 878,6' -> -1878.6, '7,02 %' -> 7.02; None when there is no number."""
    m = _NUM_IN_TEXT.search(clean(raw))
    if not m:
        return None
    sign, whole, dec = m.groups()
    value = float(whole.replace(" ", "") + ("." + dec if dec else ""))
    return -value if sign else value


def format_number(value: float, decimals: int | None = None) -> str:
    """Norwegian print form: -1878.6 -> '-1 878,6' (decimals inferred when None)."""
    if decimals is None:
        decimals = 0 if float(value).is_integer() else min(len(repr(float(value)).split(".")[1]), 2)
    text = f"{abs(value):,.{decimals}f}".replace(",", " ").replace(".", ",")
    negative = value < 0 and any(ch not in "0, " for ch in text)
    return ("-" if negative else "") + text
