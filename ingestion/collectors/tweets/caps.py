"""What the timeline's 3,200 cap hid: the run summary's notes and figures about it."""

from __future__ import annotations

from ingestion.collectors.tweets.staging import CursorStaging
from ingestion.cursors import Gap
from ingestion.errors import APIError
from ingestion.registry import Account


class CapReport(CursorStaging):
    # -- the 3,200 cap ---------------------------------------------------------------------------
    def _report_caps(self) -> None:
        searched_out = {name for name in self._searched if not self._open_gaps(name)}
        for capped in self._capped:
            name, first = capped.account.username, capped.first
            if name in searched_out:
                self.summary.notes.append(
                    f"@{name}: reached the timeline's {self.cap:,}-tweet cap ({capped.fetched:,} fetched from it); "
                    f"full-archive search fetched the {self._searched[name]:,} tweets it could not reach"
                )
                continue
            count = capped.tweet_count
            knows_before = "since_id" not in first.lower or first.count_at_lower is not None
            if count is None and knows_before:
                count = self._lookup_tweet_count(capped.account)
            lost = first.unreachable(self.cap, count)
            if lost == 0:
                continue
            head = f"@{name}: reached the timeline's {self.cap:,}-tweet cap ({capped.fetched:,} fetched this run)"
            if lost is None:
                self.summary.notes.append(
                    f"{head}; older tweets are beyond what the endpoint serves, how many is "
                    "unknown (no tweet_count to compare)"
                )
            elif "since_id" in first.lower:
                assert count is not None and first.count_at_lower is not None
                self.summary.notes.append(
                    f"{head}: {count - first.count_at_lower:,} posts since the last run (tweet_count "
                    f"{first.count_at_lower:,} → {count:,}) exceed it; about {lost:,} of them are beyond reach"
                )
            else:
                self.summary.notes.append(
                    f"{head}; about {lost:,} older tweets are beyond what the endpoint serves "
                    f"(profile tweet_count {count:,} − {self.cap:,}; includes any before --since)"
                )
            self.summary.extra.setdefault("capped_accounts", {})[name] = lost
        for name, fetched in sorted(self._searched.items()):
            if fetched:
                self.summary.extra.setdefault("backfilled_by_search", {})[name] = fetched
        why = (
            "--backfill off"
            if self.backfill == "off"
            else "search refused (403)"
            if self._search_refused
            else "the account failed"
        )
        for name in sorted(self._open_gaps_by_name()):
            gaps = self._open_gaps(name)
            self.summary.notes.append(
                f"@{name}: {len(gaps)} part(s) of its history beyond the timeline's reach wait "
                f"for full-archive search ({why}), the oldest below tweet "
                f"{min((g.until_id for g in gaps if g.until_id), key=int, default='-')}"
            )

    def _open_gaps(self, username: str) -> list[Gap]:
        return list(self._gaps.get(self._ids.get(username, ""), ()))

    def _open_gaps_by_name(self) -> list[str]:
        return [name for name, uid in self._ids.items() if self._gaps.get(uid)]

    def _lookup_tweet_count(self, account: Account) -> int | None:
        """The profile's tweet_count, for a server whose timeline pages carried no ``includes``."""
        try:
            page = self.client.user_by_id(str(account.user_id), user_fields="public_metrics")
        except APIError as err:  # the report is a courtesy: never fail a finished run over it
            self.summary.notes.append(f"@{account.username}: could not look up its tweet_count ({err})")
            return None
        # the answer must be the profile asked for: another one's tweet_count says nothing of this account
        profile = next((u for u in page.data if str(u.get("id")) == str(account.user_id)), {})
        count = (profile.get("public_metrics") or {}).get("tweet_count")
        return count if isinstance(count, int) and count >= 0 else None
