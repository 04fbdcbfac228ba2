"""The tweets job's VADER (``glue_jobs/transforms/vader.py``) against ``vaderSentiment`` itself.

The expected score of every text is the library's ``polarity_scores(text)["compound"]``, computed
here from the library (an independent implementation of the same rules), never from the code under
test. The corpus is drawn to hit each rule many times: boosters (one and two words, in capitals),
"kind of", negations ("not", "n't", "never so", "without doubt", "no … or"), "least", "but" (with
equal scores on both sides), the special cases and idioms, ALL CAPS next to lower case, "!" and "?"
runs, emoji, emoticons and punctuation around words."""

from __future__ import annotations

import random

import pytest
from vaderSentiment.vaderSentiment import BOOSTER_DICT, NEGATE, SentimentIntensityAnalyzer

from glue_jobs.transforms.vader import CompoundScorer


def _words(text: str) -> list[str]:
    return text.split()


RULE_WORDS = _words(
    "kind of sort of kinda very extremely barely hardly just enough "
    "not no nor or never so this without doubt least at very but BUT But "
    "isn't don't cant wasn't nothing rarely despite "
    "the shit bomb bad ass yeah right kiss of death to die for beating heart bus stop "
    "cut the mustard hand to mouth upper hand break a leg in the black under the weather"
)
FILLER = _words("rover launch team data today the a of and is was it we they you telescope orbit")
PUNCTUATION = ("", "", "", "!", "!!", "!!!!!", "?", "??", "????", ".", ",", "...", ":", '"', "(", ")")
EMOTICONS = (":)", ":(", ":D", ":-(", "<3", ";)", ":'(", "xD", ":/")


def _token(rng: random.Random, lexicon: list[str], emoji: list[str]) -> str:
    pick = rng.random()
    if pick < 0.35:
        word = rng.choice(lexicon)
    elif pick < 0.6:
        word = rng.choice(RULE_WORDS)
    elif pick < 0.7:
        word = rng.choice(list(BOOSTER_DICT))
    elif pick < 0.75:
        word = rng.choice(NEGATE)
    elif pick < 0.8:
        word = rng.choice(EMOTICONS)
    elif pick < 0.85:
        word = rng.choice(emoji) + rng.choice(("", "", rng.choice(emoji)))
    else:
        word = rng.choice(FILLER)
    shape = rng.random()
    if shape < 0.12:
        word = word.upper()
    elif shape < 0.18:
        word = word.capitalize()
    if rng.random() < 0.2:
        word = rng.choice(PUNCTUATION) + word
    if rng.random() < 0.3:
        word = word + rng.choice(PUNCTUATION)
    return word


def corpus(count: int, seed: int) -> list[str]:
    reference = SentimentIntensityAnalyzer()
    lexicon = sorted(reference.lexicon)
    emoji = sorted(key for key in reference.emojis if len(key) == 1)
    rng = random.Random(seed)
    texts = [
        "VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!",
        "The plot was good, but the characters are uncompelling and the dialog is not great.",
        "Today only kinda sux! But I'll get by, lol",
        "Catch utf-8 emoji such as 💘 and 💋 and 😁",
        "At least it isn't a horrible book.",
        "good but good but good",
        "",
        "   ",
        "!!!",
        "😍",
    ]
    while len(texts) < count:
        glue = rng.choice((" ", " ", " ", "  ", "\n", "\t", ""))
        texts.append(glue.join(_token(rng, lexicon, emoji) for _ in range(rng.randint(1, 40))))
    return texts


@pytest.mark.parametrize("seed", [1, 2])
def test_the_compound_score_is_the_librarys_on_every_rule(seed: int) -> None:
    reference = SentimentIntensityAnalyzer()
    scorer = CompoundScorer()
    texts = corpus(20_000, seed)
    expected = [reference.polarity_scores(text)["compound"] for text in texts]
    got = [scorer.compound(text) for text in texts]
    differ = [(text, e, g) for text, e, g in zip(texts, expected, got, strict=True) if e != g]
    assert not differ, f"{len(differ)} of {len(texts)} texts score differently, first: {differ[:3]}"
    # the corpus reaches the rules: scores on both sides, and many texts with "but"
    assert sum(e > 0.05 for e in expected) > 4000 and sum(e < -0.05 for e in expected) > 4000
    assert sum(" but " in f" {t.lower()} " for t in texts) > 1000


def test_a_text_of_emoji_only_scores_through_their_descriptions() -> None:
    scorer = CompoundScorer()
    assert scorer.compound("😍😍") > 0.5  # "smiling face with heart-eyes"
    assert scorer.compound("😢") < -0.3  # "crying face"
    assert scorer.compound("") == 0.0
