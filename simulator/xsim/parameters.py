"""Query parameters: the documented names and values, and their validation.

Every problem is collected, not raised at the first, because the API answers one 400 listing
them all; the messages are the API's own.
"""

from __future__ import annotations

import re
from typing import Any

from xsim.errors import BadRequest
from xsim.timeutil import parse_rfc3339, to_ms

ID_PATTERN = "^[0-9]{1,19}$"
USERNAME_PATTERN = "^[A-Za-z0-9_]{1,15}$"
ID_RE = re.compile(ID_PATTERN)
USERNAME_RE = re.compile(USERNAME_PATTERN)
MIN_TIME_MS = 1289001600000  # 2010-11-06T00:00:00Z, the earliest start_time/end_time accepted
ARCHIVE_MIN_TIME_MS = 1142899200000  # 2006-03-21T00:00:00Z, the earliest full-archive search accepts


def _names(text: str) -> list[str]:
    return text.split()


TWEET_FIELDS = _names(
    "article attachments author_id card_uri community_id context_annotations conversation_id created_at "
    "display_text_range edit_controls edit_history_tweet_ids entities geo id in_reply_to_user_id lang "
    "media_metadata non_public_metrics note_tweet organic_metrics possibly_sensitive promoted_metrics "
    "public_metrics referenced_tweets reply_settings scopes source text withheld"
)
USER_FIELDS = _names(
    "affiliation connection_status created_at description entities id is_identity_verified location "
    "most_recent_tweet_id name parody pinned_tweet_id profile_banner_url profile_image_url protected "
    "public_metrics receives_your_dm subscription subscription_type url username verified "
    "verified_followers_count verified_type withheld"
)
MEDIA_FIELDS = _names(
    "alt_text duration_ms height media_key non_public_metrics organic_metrics preview_image_url "
    "promoted_metrics public_metrics type url variants width"
)
POLL_FIELDS = _names("duration_minutes end_datetime id options voting_status")
PLACE_FIELDS = _names("contained_within country country_code full_name geo id name place_type")
TWEET_EXPANSIONS = _names(
    "article.cover_media article.media_entities attachments.media_keys attachments.media_source_tweet "
    "attachments.poll_ids author_id edit_history_tweet_ids entities.mentions.username geo.place_id "
    "in_reply_to_user_id entities.note.mentions.username referenced_tweets.id "
    "referenced_tweets.id.attachments.media_keys referenced_tweets.id.author_id"
)
USER_EXPANSIONS = _names("affiliation.user_id most_recent_tweet_id pinned_tweet_id")
EXCLUDE = ["replies", "retweets"]
SORT_ORDERS = ["recency", "relevancy"]
GRANULARITIES = ["minute", "hour", "day"]
SEARCH_COUNT_FIELDS = _names("end start tweet_count")
USAGE_FIELDS = _names("cap_reset_day daily_client_app_usage daily_project_usage project_cap project_id project_usage")
_FIELD_PARAMS: dict[str, list[str]] = {
    "tweet.fields": TWEET_FIELDS,
    "user.fields": USER_FIELDS,
    "media.fields": MEDIA_FIELDS,
    "poll.fields": POLL_FIELDS,
    "place.fields": PLACE_FIELDS,
}


class Params:
    """Validated query parameters of one request to an endpoint accepting `accepted`."""

    def __init__(self, accepted: tuple[str, ...], pairs: list[tuple[str, str]]) -> None:
        self.values: dict[str, str] = {}
        self.errors: list[dict[str, Any]] = []
        seen: set[str] = set()
        for name, value in pairs:
            if name not in accepted or name == "id":
                allowed = ",".join(accepted)
                self.error(name, value, f"The query parameter [{name}] is not one of [{allowed}]")
            elif name in seen:
                self.error(name, value, f"Duplicate parameters are not allowed: the `{name}` query parameter")
            else:
                seen.add(name)
                self.values[name] = value

    def error(self, name: str, value: str, message: str) -> None:
        self.errors.append({"parameters": {name: [value]}, "message": message})

    def check(self) -> None:
        """Raise the collected problems as one 400."""
        if self.errors:
            raise BadRequest(self.errors)

    def csv(self, name: str, allowed: list[str]) -> list[str]:
        """A comma-separated parameter whose every item must be in `allowed`."""
        raw = self.values.get(name)
        if raw is None:
            return []
        items = raw.split(",")
        out: list[str] = []
        for item in items:
            if item not in allowed:
                self.error(
                    name, raw, f"The `{name}` query parameter value [{item}] is not one of [{','.join(allowed)}]"
                )
            elif item not in out:
                out.append(item)
        return out

    def fields(self, expansions_allowed: list[str]) -> dict[str, list[str]]:
        """Every `*.fields` parameter and `expansions`, each a list of the names asked for."""
        out = {name: self.csv(name, allowed) for name, allowed in _FIELD_PARAMS.items()}
        out["expansions"] = self.csv("expansions", expansions_allowed)
        return out

    def path_id(self, raw: str | None) -> str:
        """The `:id` of the path, checked like a query parameter."""
        raw = raw or ""
        if not ID_RE.match(raw):
            self.error("id", raw, f"The `id` query parameter value [{raw}] does not match {ID_PATTERN}")
        return raw

    def max_results(self, default: int, low: int, high: int) -> int:
        raw = self.values.get("max_results")
        if raw is None:
            return default
        if not raw.isdigit() or not low <= int(raw) <= high:
            self.error(
                "max_results", raw, f"The `max_results` query parameter value [{raw}] is not between {low} and {high}"
            )
            return default
        return int(raw)

    def id_value(self, name: str) -> int | None:
        raw = self.values.get(name)
        if raw is None:
            return None
        if not ID_RE.match(raw):
            self.error(name, raw, f"The `{name}` query parameter value [{raw}] does not match {ID_PATTERN}")
            return None
        return int(raw)

    def time_value(self, name: str, earliest_ms: int = MIN_TIME_MS) -> int | None:
        """An RFC 3339 time as Unix seconds (the API works at second granularity)."""
        raw = self.values.get(name)
        if raw is None:
            return None
        parsed = parse_rfc3339(raw)
        if parsed is None:
            self.error(
                name,
                raw,
                f"Invalid '{name}':'{raw}'. '{name}' must be a valid RFC 3339 date-time, e.g. YYYY-MM-DDTHH:mm:ssZ",
            )
            return None
        ms = to_ms(parsed)
        if ms < earliest_ms:
            earliest = "2010-11-06T00:00:00Z" if earliest_ms == MIN_TIME_MS else "2006-03-21T00:00:00Z"
            self.error(name, raw, f"Invalid '{name}':'{raw}'. '{name}' must be on or after {earliest}")
            return None
        return ms // 1000

    def id_list(self, name: str, pattern: re.Pattern[str], pattern_text: str) -> list[str]:
        raw = self.values.get(name)
        if raw is None or raw == "":
            self.error(name, raw or "", f"The `{name}` query parameter can not be empty")
            return []
        items = raw.split(",")
        if len(items) > 100:
            self.error(
                name,
                raw,
                f"The number of values in the `{name}` query parameter list [{len(items)}] is not between 1 and 100",
            )
            return []
        out: list[str] = []
        for item in items:
            if not pattern.match(item):
                self.error(name, item, f"The `{name}` query parameter value [{item}] does not match {pattern_text}")
            elif item not in out:
                out.append(item)
        return out
