"""Beyond the timeline's cap: the gaps a capped pass leaves, filled by full-archive search."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from ingestion.client import SEARCH_ALL
from ingestion.collectors.tweets.passes import SEARCH_NEGATIONS, SEARCH_PAGE_SIZE, STOPS_THE_RUN, _max_id, _Pass
from ingestion.collectors.tweets.staging import CursorStaging
from ingestion.collectors.tweets.window import Asked
from ingestion.cursors import Gap
from ingestion.errors import APIError, ForbiddenError
from ingestion.registry import Account

log = logging.getLogger(__name__)


class SearchBackfill(CursorStaging):
    # -- beyond the cap: full-archive search -----------------------------------------------------
    def _open_gap(self, account: Account, walked: list[_Pass], tweet_count: int | None) -> None:
        """Record what the capped passes could not reach: below the oldest tweet they reached
        (or the oldest an earlier run of the backlog reached), down to the deepest lower bound."""
        assert account.user_id is not None
        reached = [int(p.oldest_id) for p in walked if p.oldest_id] + [int(p.until_id) for p in walked if p.until_id]
        if not reached:  # every position the timeline served was filtered out: nothing to stand on
            self.summary.notes.append(
                f"@{account.username}: the timeline met its cap without a tweet to search "
                "below; nothing recorded for full-archive search"
            )
            return
        first = walked[0]
        self._gaps[account.user_id].append(
            Gap(lower=first.lower, until_id=str(min(reached)), unreached=first.unreachable(self.cap, tweet_count))
        )
        self._restage(account)

    def _fill_gaps(self, account: Account) -> bool:
        """Search every open gap of the account down to its lower bound; False when the account
        failed (its cursor, gaps included, stays where its published parts put it)."""
        assert account.user_id is not None
        for gap in list(self._gaps[account.user_id]):
            if self._search_refused is not None:
                return True
            if not self._search(account, gap):
                return False
        return True

    def _search(self, account: Account, gap: Gap) -> bool:
        assert account.user_id is not None
        gaps = self._gaps[account.user_id]
        query = " ".join([f"from:{account.user_id}", *(SEARCH_NEGATIONS[kind] for kind in self.exclude)])
        params: dict[str, Any] = {**gap.lower, "max_results": SEARCH_PAGE_SIZE, **self.profile_params}
        if gap.until_id:
            params["until_id"] = gap.until_id
        if self.exclude:
            # kinds left out below where the exclusions began: a broader run must walk down to --since
            self._exclude_from[account.user_id] = None
        searched = self._searched.setdefault(account.username, 0)
        asked = Asked.of(account.user_id, gap.lower, gap.until_id)
        try:
            for page in self.client.search_all(query, **params):
                self.write_page(page)
                ids, outside = asked.split(page)
                self._outside(account, outside)
                current = self._current[account.user_id]
                newest_id = current.newest_id
                if ids:
                    oldest = min(ids) if gap.until_id is None else min(min(ids), int(gap.until_id))
                    moved = replace(gap, until_id=str(oldest), fetched=gap.fetched + len(ids))
                    gaps[gaps.index(gap)] = moved
                    gap = moved
                    newest_id = _max_id(newest_id, str(max(ids)))
                    searched += len(ids)
                    self._searched[account.username] = searched
                # what the published parts cover: the gap's new position, and any newer top
                self._stage(account, newest_id, current.pending, current.tweet_count)
                if self.writer.should_roll():
                    self.writer.flush()
        except ForbiddenError as err:
            if err.endpoint != SEARCH_ALL:
                raise
            self._refuse_search(err)
            return True
        except STOPS_THE_RUN:
            raise
        except APIError as err:
            self._account_failed(account, err)
            return False
        gaps.remove(gap)  # emptied down to its lower bound
        self._restage(account)
        self._failing_in_a_row = 0
        return True

    def _refuse_search(self, err: ForbiddenError) -> None:
        self._search_refused = str(err)
        line = (
            f"full-archive search is not available to this app ({err}); backfill off for the rest of this run: "
            "what the timeline could not reach stays recorded for a run with access"
        )
        log.info("%s", line)  # the face prints it once, from the summary (ingestion.run.outcome)
        self.summary.warnings.append(line)
