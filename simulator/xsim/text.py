"""Synthetic post and profile text with exact entity offsets.

Text is assembled from segments so every hashtag, cashtag, mention and url knows its
`start`/`end` in Unicode code points (Python string indices), which is how the X API counts.
Multi-code-point emoji (skin tones, ZWJ families, flags) are mixed in on purpose: clients that
count UTF-16 units or bytes get the offsets wrong, and the tests should notice.
"""

from __future__ import annotations

import random
import string
from collections.abc import Sequence
from typing import Any

PLAIN, HASHTAG, CASHTAG, MENTION, URL = 0, 1, 2, 3, 4

Segment = tuple[int, str, Any]
"""(kind, visible text, payload): payload is the tag, the (username, id) or the url triple."""


def _words(text: str) -> list[str]:
    """Whitespace-separated vocabulary (kept as prose so the lists stay readable)."""
    return text.split()


WORDS: dict[str, list[str]] = {
    "en": _words(
        "the data morning coffee rain train city code ship build music game night team "
        "match river launch update today really great small thread thoughts new old weekly "
        "report market open source release bug fix deploy pipeline weather garden book read "
        "finally never always maybe quick note about with from into over just love hate think"
    ),
    "es": _words(
        "el la datos mañana café lluvia tren ciudad código música juego noche equipo partido "
        "río hoy muy gran pequeño hilo nuevo viejo informe mercado abierto versión arreglo "
        "clima jardín libro leer siempre nunca quizás nota sobre con desde pero también"
    ),
    "fr": _words(
        "le la données matin café pluie train ville code musique jeu nuit équipe match "
        "rivière aujourd'hui très grand petit fil nouveau vieux rapport marché ouvert version "
        "correctif météo jardin livre lire toujours jamais peut-être note avec depuis mais"
    ),
    "pt": _words(
        "o a dados manhã café chuva trem cidade código música jogo noite time partida rio "
        "hoje muito grande pequeno fio novo velho relatório mercado aberto versão correção "
        "tempo jardim livro ler sempre nunca talvez nota sobre com desde mas também"
    ),
    "de": _words(
        "der die das Daten Morgen Kaffee Regen Zug Stadt Code Musik Spiel Nacht Mannschaft "
        "Fluss heute sehr groß klein neu alt Bericht Markt offen Version Fehler Wetter Garten "
        "Buch lesen immer nie vielleicht Notiz über mit aus aber auch schön"
    ),
    "ja": _words(
        "今日 は 天気 が いい です 東京 の 電車 コーヒー 雨 データ 新しい 古い 音楽 試合 夜 "
        "チーム 川 とても 大きい 小さい 報告 市場 公開 修正 庭 本 読む いつも たぶん メモ"
    ),
    "ar": _words(
        "اليوم الطقس جميل القهوة المطر القطار المدينة البيانات الموسيقى المباراة الليل "
        "الفريق النهر جديد قديم تقرير السوق مفتوح إصدار إصلاح الحديقة كتاب قراءة دائما ربما"
    ),
}
LANGS = list(WORDS)
HASHTAGS: dict[str, list[str]] = {
    "en": ["DataEngineering", "rain", "OpenSource", "MondayMotivation", "AI", "Python", "WorldCup"],
    "es": ["LaLiga", "datos", "Madrid", "lunes", "café"],
    "fr": ["Paris", "données", "météo", "café", "LigueDesChampions"],
    "pt": ["futebol", "dados", "SãoPaulo", "chuva"],
    "de": ["Bundesliga", "Daten", "Berlin", "Wetter"],
    "ja": ["東京", "雨", "今日のご飯", "データ"],
    "ar": ["الرياض", "القهوة", "كرة_القدم"],
}
CASHTAGS = ["TSLA", "AAPL", "BTC", "NVDA", "ETH", "GME", "MSFT"]
EMOJI = [
    "😀",
    "🎉",
    "🔥",
    "❤️",
    "👍🏽",
    "👨‍👩‍👧",
    "🇯🇵",
    "🇧🇷",
    "✨",
    "🙏",
    "😂",
    "🚀",
    "🌧️",
    "☕",
    "🏳️‍🌈",
    "🤷🏻‍♀️",
    "📈",
    "⚽",
]
DOMAINS = ["example.com", "blog.example.org", "news.example.net", "github.com", "youtu.be"]
_TCO = string.ascii_letters + string.digits


def _pick(rng: random.Random, items: Sequence[str]) -> str:
    """`rng.choice` without its overhead: text rendering is the simulator's hot path."""
    return items[int(rng.random() * len(items))]


def _between(rng: random.Random, low: int, high: int) -> int:
    """`rng.randint(low, high)`, several times faster."""
    return low + int(rng.random() * (high - low + 1))


def tco(rng: random.Random) -> str:
    """A t.co short link (10 alphanumerics), the form every url in a post takes."""
    bits = rng.getrandbits(60)
    chars = []
    for _ in range(10):
        bits, digit = divmod(bits, 62)
        chars.append(_TCO[digit])
    return "https://t.co/" + "".join(chars)


def url_segment(rng: random.Random, expanded: str | None = None) -> Segment:
    """A url entity segment; `display_url` is cut like the real one (no scheme, '…' past 25)."""
    if expanded is None:
        path = tco(rng)[13:].lower()[: _between(rng, 4, 10)] + str(_between(rng, 1, 99999))
        expanded = f"https://{_pick(rng, DOMAINS)}/{path}"
    short = tco(rng)
    display = expanded.split("://", 1)[-1]
    if len(display) > 26:
        display = display[:25] + "…"
    return (URL, short, (short, expanded, display))


_JA_ENDS = ("。", "！", "", "…")
_ENDS = (".", "!", "?", "", "…", " :)")


def sentence(rng: random.Random, lang: str, n_words: int) -> str:
    """Words of `lang` joined the way that script writes them (no spaces in Japanese)."""
    words = WORDS.get(lang, WORDS["en"])
    rand = rng.random
    size = len(words)
    picked = [words[int(rand() * size)] for _ in range(n_words)]
    if lang == "ja":
        return "".join(picked) + _pick(rng, _JA_ENDS)
    text = " ".join(picked)
    if lang != "ar":
        text = text[:1].upper() + text[1:]
    return text + _pick(rng, _ENDS)


_SENTENCE_POOL_SIZE = 4096
_SENTENCE_POOLS: dict[str, list[str]] = {}


def pooled_sentence(rng: random.Random, lang: str) -> str:
    """A sentence drawn from a fixed per-language pool.

    Composing words for every post dominated rendering time; a pool of 4,096 sentences per
    language (built once per process from a fixed seed, so still deterministic) keeps texts
    varied at a fraction of the cost.
    """
    pool = _SENTENCE_POOLS.get(lang)
    if pool is None:
        maker = random.Random(f"sentences:{lang}")
        pool = [sentence(maker, lang, _between(maker, 3, 14)) for _ in range(_SENTENCE_POOL_SIZE)]
        pool = _SENTENCE_POOLS.setdefault(lang, pool)
    return pool[int(rng.random() * _SENTENCE_POOL_SIZE)]


def body_segments(
    rng: random.Random,
    lang: str,
    mentionable: list[tuple[str, str]],
    long_post: bool = False,
) -> list[Segment]:
    """The free-text part of a post: sentences with entities and emoji sprinkled in.

    `mentionable` holds (username, user_id) pairs valid at the post's time.
    """
    segs: list[Segment] = []
    rand = rng.random
    if lang == "und":
        segs.append((PLAIN, "".join(_pick(rng, EMOJI) for _ in range(_between(rng, 1, 4))), None))
        return segs
    n_sentences = _between(rng, 9, 22) if long_post else _between(rng, 1, 3)
    for i in range(n_sentences):
        if i:
            segs.append((PLAIN, " " if lang != "ja" else "", None))
        segs.append((PLAIN, pooled_sentence(rng, lang), None))
        roll = rand()
        if roll < 0.12:
            segs.append((PLAIN, " " + _pick(rng, EMOJI), None))
        elif roll < 0.2 and mentionable:
            name, uid = mentionable[int(rand() * len(mentionable))]
            segs.append((PLAIN, " ", None))
            segs.append((MENTION, "@" + name, (name, uid)))
    if rand() < 0.3:
        tag = _pick(rng, HASHTAGS.get(lang, HASHTAGS["en"]))
        segs.append((PLAIN, " ", None))
        segs.append((HASHTAG, "#" + tag, tag))
    if rand() < 0.06:
        tag = _pick(rng, CASHTAGS)
        segs.append((PLAIN, " ", None))
        segs.append((CASHTAG, "$" + tag, tag))
    if rand() < 0.25:
        segs.append((PLAIN, " " + _pick(rng, EMOJI) * _between(rng, 1, 2), None))
    if rand() < 0.15:
        segs.append((PLAIN, " ", None))
        segs.append(url_segment(rng))
    return segs


def render(segs: list[Segment], limit: int | None = None) -> tuple[str, dict[str, list[dict[str, Any]]]]:
    """Join segments into (text, entities); with `limit`, keep only that many code points.

    Entities cut by the limit are dropped, as the real truncated `text` of long posts and
    retweets shows only the entities that fit.
    """
    parts: list[str] = []
    entities: dict[str, list[dict[str, Any]]] = {}
    pos = 0
    for kind, text, payload in segs:
        start = pos
        pos += len(text)
        parts.append(text)
        if kind == PLAIN or (limit is not None and pos >= limit):
            continue
        if kind == HASHTAG:
            entities.setdefault("hashtags", []).append({"start": start, "end": pos, "tag": payload})
        elif kind == CASHTAG:
            entities.setdefault("cashtags", []).append({"start": start, "end": pos, "tag": payload})
        elif kind == MENTION:
            entities.setdefault("mentions", []).append(
                {"start": start, "end": pos, "username": payload[0], "id": payload[1]}
            )
        else:
            short, expanded, display = payload[:3]
            entry: dict[str, Any] = {
                "start": start,
                "end": pos,
                "url": short,
                "expanded_url": expanded,
                "display_url": display,
            }
            if len(payload) > 3:
                entry["media_key"] = payload[3]
            entities.setdefault("urls", []).append(entry)
    text = "".join(parts)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text, {k: entities[k] for k in sorted(entities)}
