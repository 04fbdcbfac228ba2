"""The report's Plotly figures: one per chart, built from its query's :class:`Table`."""

from __future__ import annotations

import html
from typing import Any

from analytics.table import Table


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


def followers(t: Table) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    for account, part in t.groups("account").items():
        fig.add_trace(
            go.Scatter(
                x=part.column("day"), y=part.column("followers_count"), name=label(account), mode="lines+markers"
            )
        )
    fig.update_yaxes(type="log")  # accounts of very different sizes side by side
    return _layout(fig, x="day (UTC)", y="followers (log scale)")


def posts(t: Table) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    for kind, part in t.groups("tweet_type").items():
        fig.add_trace(go.Bar(x=part.column("day"), y=part.column("tweets"), name=str(kind)))
    fig.update_layout(barmode="stack")
    return _layout(fig, x="day posted (UTC)", y="tweets")


def engagement(t: Table) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("engagement rate (% of impressions)", "average engagement per tweet")
    )
    fig.add_trace(go.Bar(x=t.column("tweet_type"), y=t.column("engagement_rate_pct"), name="rate %"), row=1, col=1)
    fig.add_trace(go.Bar(x=t.column("tweet_type"), y=t.column("avg_engagement"), name="avg engagement"), row=1, col=2)
    fig.update_layout(showlegend=False)
    return _layout(fig)


def curves(t: Table) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    for account, part in t.groups("account").items():
        fig.add_trace(
            go.Scatter(x=part.column("hours"), y=part.column("median_likes"), name=label(account), mode="lines+markers")
        )
    return _layout(fig, x="hours since posting (2-hour bins)", y="median likes")


def share(t: Table) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    for (account, metric), part in t.by("account", "metric").items():
        fig.add_trace(
            go.Scatter(
                x=part.column("hours"),
                y=part.column("median_share_of_7d"),
                name=label(f"{account} · {metric}"),
                mode="lines+markers",
            )
        )
    fig.update_yaxes(tickformat=".0%")
    return _layout(fig, x="hours since posting", y="median share of the 7-day value")


def heatmap(t: Table) -> Any:
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


def entities(t: Table) -> Any:
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


def sentiment(t: Table) -> Any:
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


def pipeline(t: Table) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    for name in ("rows_loaded", "rows_quarantined", "rows_api_errors"):
        fig.add_trace(go.Bar(x=t.column("dataset"), y=t.column(name), name=name.replace("_", " ")))
    fig.update_layout(barmode="group")
    fig.update_yaxes(type="log")
    return _layout(fig, x="dataset", y="rows (log scale)")


def _entity_label(kind: str, entity: str) -> str:
    return label({"hashtag": "#", "mention": "@", "cashtag": "$"}.get(kind, "") + str(entity))


def label(value: Any) -> str:
    """Data as plotly label text: plotly reads a subset of HTML in labels (``<a href>`` becomes a
    link, ``<b>`` bold), so ``<``, ``>`` and ``&`` are escaped; plotly shows them as typed."""
    return html.escape(str(value), quote=False)
