"""``tweetlake report``: one self-contained HTML file of charts over the warehouse's views.

Each chart is a :class:`Chart`: a query over the views (restricted to the report's
:class:`~analytics.scope.Scope`), a caption saying what it shows, and a Plotly figure built from
the query's rows. The page inlines plotly.js once (no CDN, no network: it opens offline) and puts
the rows of every chart in a table behind it. All queries run in one read-only REPEATABLE READ
transaction, so the charts agree with each other even while a job commits.

A chart whose query finds nothing is shown as its caption and a sentence saying why, not as an
empty plot.
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from analytics.pipeline import pipeline_health, quarantine_reasons
from analytics.scope import Scope
from common import __version__
from common.lake import Lake
from common.warehouse.db import check_identifier

Rows = list[tuple[Any, ...]]


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: Rows

    def column(self, name: str) -> list[Any]:
        i = self.columns.index(name)
        return [r[i] for r in self.rows]

    def groups(self, key: str) -> dict[Any, Table]:
        """The rows split by the value of ``key``, in first-seen order."""
        i = self.columns.index(key)
        split: dict[Any, Rows] = defaultdict(list)
        for row in self.rows:
            split[row[i]].append(row)
        return {k: Table(self.columns, v) for k, v in split.items()}


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    caption: str
    query: Callable[[Scope], tuple[str, dict[str, Any]]]
    figure: Callable[[Table], Any]
    empty: str = "no rows in this scope"


# -- queries ----------------------------------------------------------------------------------
def _q_followers(scope: Scope) -> tuple[str, dict[str, Any]]:
    where, params = scope.where("user_id", "date_key")
    return (
        f"SELECT coalesce(username, user_id::text) AS account, full_date AS day, followers_count,"
        f" followers_change_1d, followers_change_7d FROM v_user_growth WHERE {where}"
        " ORDER BY account, day"
    ), params


def _q_posts(scope: Scope) -> tuple[str, dict[str, Any]]:
    where, params = scope.where("author_id", "date_key")
    return (
        f"SELECT to_date(date_key::text, 'YYYYMMDD') AS day, tweet_type, count(*) AS tweets FROM fact_tweet"
        f" WHERE date_key IS NOT NULL AND {where} GROUP BY 1, 2 ORDER BY 1, 2"
    ), params


def _q_engagement(scope: Scope) -> tuple[str, dict[str, Any]]:
    # v_tweet_engagement's sums without its as-of followers lookups (two index probes a tweet)
    where, params = scope.where("t.author_id", "t.date_key")
    engagement = (
        "coalesce(m.like_count, 0) + coalesce(m.retweet_count, 0) + coalesce(m.reply_count, 0)"
        " + coalesce(m.quote_count, 0)"
    )
    return (
        "SELECT t.tweet_type, count(*) AS tweets, count(m.tweet_id) AS with_metrics,"
        f" round(avg({engagement}) FILTER (WHERE m.tweet_id IS NOT NULL), 2) AS avg_engagement,"
        f" round(100 * sum({engagement}) FILTER (WHERE m.impression_count > 0)::numeric"
        "   / nullif(sum(m.impression_count) FILTER (WHERE m.impression_count > 0), 0), 3) AS engagement_rate_pct"
        " FROM fact_tweet t LEFT JOIN v_tweet_latest_metrics m ON m.tweet_id = t.tweet_id"
        f" WHERE {where} GROUP BY t.tweet_type ORDER BY t.tweet_type"
    ), params


def _q_curves(scope: Scope) -> tuple[str, dict[str, Any]]:
    where, params = scope.where("t.author_id", "t.date_key")
    return (
        "WITH first_seen AS (SELECT tweet_id, min(collected_at) AS first_at FROM fact_tweet_metrics"
        "   GROUP BY tweet_id),"
        " young AS (SELECT t.tweet_id, t.author_id, t.created_at"
        "   FROM fact_tweet t JOIN first_seen f USING (tweet_id) WHERE t.tweet_type <> 'retweet'"
        f"   AND f.first_at - t.created_at BETWEEN interval '0' AND interval '6 hours' AND {where})"
        " SELECT coalesce(u.username, y.author_id::text) AS account,"
        "   (floor(extract(epoch FROM m.collected_at - y.created_at) / 7200) * 2)::int AS hours,"
        "   count(DISTINCT m.tweet_id) AS tweets,"
        "   percentile_cont(0.5) WITHIN GROUP (ORDER BY m.like_count) AS median_likes,"
        "   percentile_cont(0.5) WITHIN GROUP (ORDER BY m.impression_count) AS median_impressions"
        " FROM young y JOIN fact_tweet_metrics m ON m.tweet_id = y.tweet_id"
        "   AND m.collected_at >= y.created_at AND m.collected_at < y.created_at + interval '72 hours'"
        " LEFT JOIN dim_user u ON u.user_id = y.author_id AND u.is_current"
        " GROUP BY 1, 2 ORDER BY 1, 2"
    ), params


def _q_share(scope: Scope) -> tuple[str, dict[str, Any]]:
    where, params = scope.users("author_id")
    return (
        "SELECT coalesce(username, author_id::text) AS account, metric, hours, tweets,"
        " round(median_share_of_7d::numeric, 4) AS median_share_of_7d"
        f" FROM v_metric_growth_share WHERE {where} ORDER BY account, metric, hours"
    ), params


def _q_heatmap(scope: Scope) -> tuple[str, dict[str, Any]]:
    where, params = scope.where("author_id", "date_key")
    return (
        "SELECT extract(isodow FROM created_at AT TIME ZONE 'UTC')::int AS weekday,"
        " extract(hour FROM created_at AT TIME ZONE 'UTC')::int AS hour_utc, count(*) AS tweets"
        f" FROM fact_tweet WHERE created_at IS NOT NULL AND {where} GROUP BY 1, 2 ORDER BY 1, 2"
    ), params


def _q_entities(scope: Scope) -> tuple[str, dict[str, Any]]:
    where, params = scope.where("author_id", "date_key")
    return (
        "SELECT entity_type, entity, tweets FROM ("
        " SELECT entity_type, entity, sum(tweets) AS tweets,"
        "   row_number() OVER (PARTITION BY entity_type ORDER BY sum(tweets) DESC, entity) AS rank"
        f" FROM v_entity_daily WHERE {where} GROUP BY entity_type, entity) ranked"
        " WHERE rank <= 10 ORDER BY entity_type, tweets DESC, entity"
    ), params


def _q_sentiment(scope: Scope) -> tuple[str, dict[str, Any]]:
    # per day, or per ISO week (its Monday) when the scope spans more than 120 days
    where, params = scope.where("author_id", "date_key")
    return (
        "WITH daily AS (SELECT * FROM v_sentiment_daily WHERE " + where + "),"
        " span AS (SELECT max(day) - min(day) > 120 AS weekly FROM daily)"
        " SELECT CASE WHEN span.weekly THEN date_trunc('week', day)::date ELSE day END AS period,"
        " sum(tweets_scored) AS tweets_scored,"
        " round((sum(avg_compound * tweets_scored) / sum(tweets_scored))::numeric, 4) AS avg_compound,"
        " sum(positive) AS positive, sum(neutral) AS neutral, sum(negative) AS negative"
        " FROM daily CROSS JOIN span GROUP BY 1 ORDER BY 1"
    ), params


# -- figures ----------------------------------------------------------------------------------
def _layout(fig: Any, **axes: str) -> Any:
    fig.update_layout(
        margin={"l": 60, "r": 20, "t": 20, "b": 50},
        height=380,
        template="plotly_white",
        legend={"orientation": "h", "y": -0.2},
    )
    for axis, title in axes.items():
        fig.update_layout({f"{axis}axis": {"title": {"text": title}}})
    return fig


def _fig_followers(t: Table) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    for account, part in t.groups("account").items():
        fig.add_trace(
            go.Scatter(x=part.column("day"), y=part.column("followers_count"), name=str(account), mode="lines+markers")
        )
    fig.update_yaxes(type="log")  # accounts of very different sizes side by side
    return _layout(fig, x="day (UTC)", y="followers (log scale)")


def _fig_posts(t: Table) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    for kind, part in t.groups("tweet_type").items():
        fig.add_trace(go.Bar(x=part.column("day"), y=part.column("tweets"), name=str(kind)))
    fig.update_layout(barmode="stack")
    return _layout(fig, x="day posted (UTC)", y="tweets")


def _fig_engagement(t: Table) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("engagement rate (% of impressions)", "average engagement per tweet")
    )
    fig.add_trace(go.Bar(x=t.column("tweet_type"), y=t.column("engagement_rate_pct"), name="rate %"), row=1, col=1)
    fig.add_trace(go.Bar(x=t.column("tweet_type"), y=t.column("avg_engagement"), name="avg engagement"), row=1, col=2)
    fig.update_layout(showlegend=False)
    return _layout(fig)


def _fig_curves(t: Table) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    for account, part in t.groups("account").items():
        fig.add_trace(
            go.Scatter(x=part.column("hours"), y=part.column("median_likes"), name=str(account), mode="lines+markers")
        )
    return _layout(fig, x="hours since posting (2-hour bins)", y="median likes")


def _fig_share(t: Table) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    for (account, metric), rows in _by(t, "account", "metric").items():
        part = Table(t.columns, rows)
        fig.add_trace(
            go.Scatter(
                x=part.column("hours"),
                y=part.column("median_share_of_7d"),
                name=f"{account} · {metric}",
                mode="lines+markers",
            )
        )
    fig.update_yaxes(tickformat=".0%")
    return _layout(fig, x="hours since posting", y="median share of the 7-day value")


def _fig_heatmap(t: Table) -> Any:
    import plotly.graph_objects as go

    grid = [[0] * 24 for _ in range(7)]
    for weekday, hour, tweets in t.rows:
        grid[int(weekday) - 1][int(hour)] = int(tweets)
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    fig = go.Figure(
        go.Heatmap(z=grid, x=list(range(24)), y=days, colorscale="Blues", colorbar={"title": {"text": "tweets"}})
    )
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, x="hour of day (UTC)", y="weekday")


def _fig_entities(t: Table) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    kinds = ("hashtag", "mention", "cashtag", "domain")
    fig = make_subplots(rows=2, cols=2, subplot_titles=[f"{k}s" for k in kinds], horizontal_spacing=0.25)
    groups = t.groups("entity_type")
    for i, kind in enumerate(kinds):
        part = groups.get(kind, Table(t.columns, []))
        labels = [_entity_label(kind, e) for e in part.column("entity")]
        fig.add_trace(
            go.Bar(y=labels[::-1], x=part.column("tweets")[::-1], orientation="h", name=kind),
            row=i // 2 + 1,
            col=i % 2 + 1,
        )
    fig.update_layout(showlegend=False)
    _layout(fig)
    fig.update_yaxes(automargin=True)  # long entity names keep their labels
    fig.update_layout(height=620, margin={"l": 140})
    return fig


def _fig_sentiment(t: Table) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(specs=[[{"secondary_y": True}]])
    for label, color in (("positive", "#2ca02c"), ("neutral", "#bbbbbb"), ("negative", "#d62728")):
        fig.add_trace(
            go.Bar(x=t.column("period"), y=t.column(label), name=f"{label} tweets", marker_color=color),
            secondary_y=False,
        )
    fig.add_trace(
        go.Scatter(
            x=t.column("period"),
            y=t.column("avg_compound"),
            name="average compound",
            mode="lines+markers",
            line={"color": "black"},
        ),
        secondary_y=True,
    )
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title_text="tweets scored", secondary_y=False)
    fig.update_yaxes(title_text="average compound (−1…1)", range=[-1, 1], secondary_y=True)
    return _layout(fig, x="day (or ISO week) posted, UTC")


def _fig_pipeline(t: Table) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    for name in ("rows_loaded", "rows_quarantined", "rows_api_errors"):
        fig.add_trace(go.Bar(x=t.column("dataset"), y=t.column(name), name=name.replace("_", " ")))
    fig.update_layout(barmode="group")
    fig.update_yaxes(type="log")
    return _layout(fig, x="dataset", y="rows (log scale)")


def _by(t: Table, *keys: str) -> dict[tuple[Any, ...], Rows]:
    idx = [t.columns.index(k) for k in keys]
    split: dict[tuple[Any, ...], Rows] = defaultdict(list)
    for row in t.rows:
        split[tuple(row[i] for i in idx)].append(row)
    return split


def _entity_label(kind: str, entity: str) -> str:
    return {"hashtag": "#", "mention": "@", "cashtag": "$"}.get(kind, "") + str(entity)


CHARTS: tuple[Chart, ...] = (
    Chart(
        "followers",
        "Follower growth per account",
        "Followers of each account at each daily profile snapshot, on a log scale (v_user_growth). The "
        "table adds the day-over-day change (only when the previous snapshot is the day before) and the "
        "change against the latest snapshot at least 7 days earlier.",
        _q_followers,
        _fig_followers,
    ),
    Chart(
        "posts",
        "Posts per day",
        "Tweets per UTC day of posting, stacked by type (original, reply, quote, retweet), from fact_tweet.",
        _q_posts,
        _fig_posts,
    ),
    Chart(
        "engagement",
        "Engagement by tweet type",
        "Left: engagement (likes + retweets + replies + quotes, latest snapshot) as a share of impressions, "
        "summed over the tweets with impressions. Right: average engagement per tweet with metrics "
        "(v_tweet_engagement). Retweets show the counts X reports on the retweet itself.",
        _q_engagement,
        _fig_engagement,
    ),
    Chart(
        "curves",
        "Metric growth curves: likes by hours since posting",
        "Median likes of the tweets first seen within 6 hours of posting, at their snapshots' age in "
        "2-hour bins (v_tweet_metric_curve): how fast a tweet gathers its likes, per account.",
        _q_curves,
        _fig_curves,
        empty="no tweet in this scope was first seen within 6 hours of posting",
    ),
    Chart(
        "share",
        "Share of the 7-day value reached after 1, 6, 24 and 48 hours",
        "Per account and metric, the median over tweets of the value at 1 h, 6 h, 24 h and 48 h (interpolated "
        "between snapshots) divided by the value at 7 days (v_metric_growth_share). Only tweets observed "
        "past 7 days count.",
        _q_share,
        _fig_share,
        empty="no tweet in this scope has been observed for 7 days yet (the 7-day value is not known)",
    ),
    Chart(
        "heatmap",
        "Posting activity (hour of day × weekday, UTC)",
        "Tweets posted in each hour of each weekday, UTC, over the report's period (v_posting_activity "
        "gives the same grid per account over all days).",
        _q_heatmap,
        _fig_heatmap,
    ),
    Chart(
        "entities",
        "Top entities",
        "The 10 hashtags, mentions, cashtags and link domains used in the most tweets over the period "
        "(v_entity_daily; hashtags in lower case, cashtags upper case, domains without www.).",
        _q_entities,
        _fig_entities,
    ),
    Chart(
        "sentiment",
        "Sentiment over time",
        "English tweets that are not retweets, per UTC day of posting (per ISO week when the period spans "
        "more than 120 days): how many VADER scores positive "
        "(compound ≥ 0.05), neutral or negative (≤ −0.05), and the day's average compound score "
        "(v_sentiment_daily).",
        _q_sentiment,
        _fig_sentiment,
        empty="no scored tweet in this scope (no English tweets, or loaded before sentiment existed)",
    ),
)


@dataclass(frozen=True)
class Section:
    chart: Chart
    table: Table


def run_query(conn: Any, sql: str, params: dict[str, Any]) -> Table:
    cur = conn.execute(sql, params)
    return Table(tuple(d.name for d in cur.description or ()), [tuple(r) for r in cur.fetchall()])


def collect(conn: Any, scope: Scope, lake: Lake | None = None) -> tuple[list[Section], Table, Table | None]:
    """Every chart's rows, the pipeline-health table and the quarantine reasons (when the lake is
    readable), inside one read-only snapshot."""
    check_identifier(scope.schema)
    sections: list[Section] = []
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        conn.execute(f"SET LOCAL search_path TO {scope.schema}, public")
        for chart in CHARTS:
            sql, params = chart.query(scope)
            table = run_query(conn, sql, params)
            sections.append(Section(chart, table))
        health = pipeline_health(conn)
    reasons = quarantine_reasons(lake) if lake is not None else None
    return sections, health, reasons


PIPELINE = Chart(
    "pipeline",
    "Pipeline health",
    "Per dataset: the last collection time loaded, the files and rows the jobs loaded (etl_file_ledger), "
    "API error records (deleted tweets, suspended accounts) and lines quarantined as malformed. Below: "
    "the quarantined lines by reason, read from the lake's quarantine/ folder.",
    lambda scope: ("", {}),
    _fig_pipeline,
)


def build_report(
    conn: Any, scope: Scope, *, lake: Lake | None = None, now: datetime | None = None, billed: Table | None = None
) -> str:
    """The whole HTML page; ``billed``: the usage ledger's month by dataset (the X API's bill), when there is one."""
    import plotly.offline

    sections, health, reasons = collect(conn, scope, lake)
    generated = (now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    blocks = [_section(s.chart, s.table) for s in sections]
    blocks.append(_section(PIPELINE, health, extra=_reasons_block(reasons) + _billed_block(billed)))
    return _PAGE.format(
        title=html.escape(f"tweetlake report · {scope.schema}"),
        csp=CONTENT_SECURITY_POLICY,
        scope=html.escape(scope.describe()),
        generated=html.escape(generated),
        version=html.escape(__version__),
        plotlyjs=plotly.offline.get_plotlyjs(),
        toc="".join(f'<li><a href="#{c.id}">{html.escape(c.title)}</a></li>' for c in (*CHARTS, PIPELINE)),
        body="\n".join(blocks),
    )


def _section(chart: Chart, table: Table, extra: str = "") -> str:
    if table.rows:
        figure = chart.figure(table)
        plot = figure.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=f"chart-{chart.id}",
            config={"displaylogo": False, "responsive": True},
        )
        plot = f'<div class="chart" data-chart="{chart.id}">{plot}</div>'
    else:
        plot = f'<p class="empty" data-empty="{chart.id}">{html.escape(chart.empty)}.</p>'
    return (
        f'<section id="{chart.id}"><h2>{html.escape(chart.title)}</h2><figure>{plot}'
        f"<figcaption>{html.escape(chart.caption)}</figcaption></figure>"
        f"<details><summary>Table ({len(table.rows)} rows)</summary>{_table_html(table)}</details>"
        f"{extra}</section>"
    )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float | Decimal):
        return f"{value:,.4f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _table_html(table: Table) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>" for row in table.rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _billed_block(billed: Table | None) -> str:
    if billed is None:
        return "<p>Billed X API reads: no usage ledger in the lake (<code>state/usage/</code>).</p>"
    return (
        f'<h3 id="billed">Billed X API reads, {html.escape(str(billed.rows[0][0]))} to date</h3>'
        "<p>What the runs read by X's pay-per-use rules (a post or user read once per UTC day, across"
        " datasets), at the documented prices; from the lake's usage ledger.</p>" + _table_html(billed)
    )


def _reasons_block(reasons: Table | None) -> str:
    if reasons is None:
        return "<p>Quarantine reasons: not read (no lake given with <code>--lake</code>, or it could not be read).</p>"
    if not reasons.rows:
        return "<p>Quarantine reasons: nothing quarantined in the lake.</p>"
    return f"<h3>Quarantined lines by reason</h3>{_table_html(reasons)}"


CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline';"
    " img-src data: blob:; font-src data:"
)
"""The page may load nothing from anywhere: a chart that needed the network would fail, visibly."""


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 1rem 2rem; color: #222; }}
header p {{ color: #555; margin: .2rem 0; }}
section {{ border-top: 1px solid #ddd; padding: .5rem 0 1rem; }}
figure {{ margin: 0; }} figcaption {{ color: #444; font-size: .92rem; margin: .3rem 0 .5rem; }}
table {{ border-collapse: collapse; font-size: .85rem; margin: .5rem 0; }}
th, td {{ border: 1px solid #ddd; padding: .15rem .5rem; text-align: left; }} th {{ background: #f4f4f4; }}
.empty {{ background: #fafafa; border: 1px dashed #ccc; padding: 1rem; color: #666; }}
nav ol {{ columns: 2; font-size: .9rem; }}
</style>
<script>{plotlyjs}</script>
</head><body>
<header><h1>{title}</h1><p>{scope}</p>
<p>generated {generated} by tweetlake {version}; opens offline (plotly.js is inlined)</p>
<nav><ol>{toc}</ol></nav></header>
{body}
</body></html>
"""
