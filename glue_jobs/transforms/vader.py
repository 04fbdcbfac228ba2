"""VADER's compound score, by VADER's own rules and lexicon, without its repeated work.

``vaderSentiment`` 3.3.2 spends most of a text's time on work its rules do not need: it rebuilds
the text one character at a time to swap emoji for their descriptions (a string copy per
character, also for the texts without emoji), lower-cases every word of the text again for each
word it scores (up to four times per sentiment word: quadratic in the text's length), and works
out ``pos``/``neu``/``neg`` that the warehouse does not store. :class:`CompoundScorer` applies the
same rules to the same lexicon (read from the installed ``vaderSentiment``), in the same order of
floating-point operations, once per word: its compound score is the library's, to the last bit
(``tests/glue/test_vader.py`` compares the two on a corpus built to hit every rule), several times
faster (``bench/sentiment_bench.py`` prints both rates).

Pinned to ``vaderSentiment==3.3.2`` (``requirements.txt``): a new release may change its rules, and
the comparison test says so before a score drifts.
"""

from __future__ import annotations

import math
import string
from typing import Any

from vaderSentiment import vaderSentiment as _vs

_NEGATE = frozenset(_vs.NEGATE)
_BOOSTERS: dict[str, float] = _vs.BOOSTER_DICT
_SPECIAL_CASES: dict[str, float] = _vs.SPECIAL_CASES
_B = _vs.N_SCALAR
_C_INCR = _vs.C_INCR
_PUNCTUATION = string.punctuation


def _strip_punctuation(token: str) -> str:
    """Leading and trailing punctuation off a word; a token of two characters or fewer once stripped
    stays whole (an emoticon: ``:)``)."""
    stripped = token.strip(_PUNCTUATION)
    return token if len(stripped) <= 2 else stripped


def _negated(word: str) -> bool:
    """``vaderSentiment.negated([word])`` of one lower-case word."""
    return word in _NEGATE or "n't" in word


def _booster(word: str, valence: float, is_cap_diff: bool) -> float:
    """``vaderSentiment.scalar_inc_dec``."""
    scalar = 0.0
    lower = word.lower()
    if lower in _BOOSTERS:
        scalar = _BOOSTERS[lower]
        if valence < 0:
            scalar *= -1
        if word.isupper() and is_cap_diff:
            if valence > 0:
                scalar += _C_INCR
            else:
                scalar -= _C_INCR
    return scalar


def _negation(valence: float, low: list[str], start_i: int, i: int) -> float:
    """``SentimentIntensityAnalyzer._negation_check`` on the lower-cased words."""
    if start_i == 0 and _negated(low[i - 1]):
        valence = valence * _B
    if start_i == 1:
        if low[i - 2] == "never" and (low[i - 1] == "so" or low[i - 1] == "this"):
            valence = valence * 1.25
        elif low[i - 2] == "without" and low[i - 1] == "doubt":
            pass
        elif _negated(low[i - 2]):
            valence = valence * _B
    if start_i == 2:
        if (low[i - 3] == "never" and (low[i - 2] == "so" or low[i - 2] == "this")) or (
            low[i - 1] == "so" or low[i - 1] == "this"
        ):
            valence = valence * 1.25
        elif low[i - 3] == "without" and (low[i - 2] == "doubt" or low[i - 1] == "doubt"):
            pass
        elif _negated(low[i - 3]):
            valence = valence * _B
    return valence


def _special_idioms(valence: float, low: list[str], i: int) -> float:
    """``SentimentIntensityAnalyzer._special_idioms_check`` (only reached with ``i > 2``)."""
    one_zero = f"{low[i - 1]} {low[i]}"
    two_one_zero = f"{low[i - 2]} {low[i - 1]} {low[i]}"
    two_one = f"{low[i - 2]} {low[i - 1]}"
    three_two_one = f"{low[i - 3]} {low[i - 2]} {low[i - 1]}"
    three_two = f"{low[i - 3]} {low[i - 2]}"
    for sequence in (one_zero, two_one_zero, two_one, three_two_one, three_two):
        if sequence in _SPECIAL_CASES:
            valence = _SPECIAL_CASES[sequence]
            break
    if len(low) - 1 > i:
        zero_one = f"{low[i]} {low[i + 1]}"
        if zero_one in _SPECIAL_CASES:
            valence = _SPECIAL_CASES[zero_one]
    if len(low) - 1 > i + 1:
        zero_one_two = f"{low[i]} {low[i + 1]} {low[i + 2]}"
        if zero_one_two in _SPECIAL_CASES:
            valence = _SPECIAL_CASES[zero_one_two]
    for n_gram in (three_two_one, three_two, two_one):
        if n_gram in _BOOSTERS:
            valence = valence + _BOOSTERS[n_gram]
    return valence


def _but(low: list[str], sentiments: list[Any]) -> list[Any]:
    """``SentimentIntensityAnalyzer._but_check``, quirks included: it finds each score's place by
    its value (``list.index``), so equal scores on both sides of "but" are weighted as the first."""
    if "but" in low:
        bi = low.index("but")
        for sentiment in sentiments:
            si = sentiments.index(sentiment)
            if si < bi:
                sentiments.pop(si)
                sentiments.insert(si, sentiment * 0.5)
            elif si > bi:
                sentiments.pop(si)
                sentiments.insert(si, sentiment * 1.5)
    return sentiments


def _punctuation_emphasis(text: str) -> float:
    ep_count = min(text.count("!"), 4)
    qm_count = text.count("?")
    qm = 0.0 if qm_count <= 1 else (qm_count * 0.18 if qm_count <= 3 else 0.96)
    return ep_count * 0.292 + qm


def _normalize(score: float, alpha: float = 15) -> float:
    norm_score = score / math.sqrt((score * score) + alpha)
    return max(-1.0, min(1.0, norm_score))


class CompoundScorer:
    """``SentimentIntensityAnalyzer().polarity_scores(text)["compound"]``, computed once per word."""

    def __init__(self) -> None:
        analyzer = _vs.SentimentIntensityAnalyzer()  # its lexicon files, as the library reads them
        self.lexicon: dict[str, float] = analyzer.lexicon
        self.emojis: dict[str, str] = analyzer.emojis
        self.emoji_chars = frozenset(key for key in self.emojis if len(key) == 1)  # it looks up one character
        self._tokens: dict[str, tuple[str, str, bool, bool]] = {}

    def _without_emoji(self, text: str) -> str:
        if self.emoji_chars.isdisjoint(text):
            return text.strip()
        pieces: list[str] = []
        prev_space = True
        for char in text:
            if char in self.emojis:
                if not prev_space:
                    pieces.append(" ")
                pieces.append(self.emojis[char])
                prev_space = False
            else:
                pieces.append(char)
                prev_space = char == " "
        return "".join(pieces).strip()

    def _token(self, token: str) -> tuple[str, str, bool, bool]:
        """A token's word (punctuation stripped), its lower case, whether it is ALL CAPS, and whether
        it can carry a score (in the lexicon, not a booster); remembered, tweets repeat their words."""
        word = _strip_punctuation(token)
        low = word.lower()
        info = (word, low, word.isupper(), low in self.lexicon and low not in _BOOSTERS)
        if len(self._tokens) >= 200_000:
            self._tokens.clear()
        self._tokens[token] = info
        return info

    def compound(self, text: str) -> float:
        text = self._without_emoji(text)
        tokens = self._tokens
        infos = [tokens.get(token) or self._token(token) for token in text.split()]
        if not any(info[3] for info in infos):  # every word scores 0 (also: no words)
            return 0.0
        words = [info[0] for info in infos]
        low = [info[1] for info in infos]
        capitals = sum(info[2] for info in infos)
        is_cap_diff = 0 < len(words) - capitals < len(words)
        lexicon = self.lexicon
        last = len(words) - 1
        sentiments: list[Any] = []
        for i, item_low in enumerate(low):
            if not infos[i][3] or (i < last and item_low == "kind" and low[i + 1] == "of"):
                sentiments.append(0)
                continue
            sentiments.append(self._valence(lexicon[item_low], words, low, i, is_cap_diff))
        sentiments = _but(low, sentiments)
        sum_s = float(sum(sentiments))
        emphasis = _punctuation_emphasis(text)
        if sum_s > 0:
            sum_s += emphasis
        elif sum_s < 0:
            sum_s -= emphasis
        return round(_normalize(sum_s), 4)

    def _valence(self, valence: float, words: list[str], low: list[str], i: int, is_cap_diff: bool) -> float:
        """``SentimentIntensityAnalyzer.sentiment_valence`` of a word in the lexicon."""
        lexicon = self.lexicon
        item_low = low[i]
        if item_low == "no" and i != len(words) - 1 and low[i + 1] in lexicon:
            valence = 0.0
        if (
            (i > 0 and low[i - 1] == "no")
            or (i > 1 and low[i - 2] == "no")
            or (i > 2 and low[i - 3] == "no" and low[i - 1] in ("or", "nor"))
        ):
            valence = lexicon[item_low] * _B
        if words[i].isupper() and is_cap_diff:
            if valence > 0:
                valence += _C_INCR
            else:
                valence -= _C_INCR
        for start_i in range(0, 3):
            if i > start_i and low[i - (start_i + 1)] not in lexicon:
                s = _booster(words[i - (start_i + 1)], valence, is_cap_diff)
                if start_i == 1 and s != 0:
                    s = s * 0.95
                if start_i == 2 and s != 0:
                    s = s * 0.9
                valence = valence + s
                valence = _negation(valence, low, start_i, i)
                if start_i == 2:
                    valence = _special_idioms(valence, low, i)
        if i > 1 and low[i - 1] not in lexicon and low[i - 1] == "least":
            if low[i - 2] != "at" and low[i - 2] != "very":
                valence = valence * _B
        elif i > 0 and low[i - 1] not in lexicon and low[i - 1] == "least":
            valence = valence * _B
        return valence
