"""The report's Plotly figures: one per chart, built from its query's :class:`Table`."""

from __future__ import annotations

import html
from typing import Any

from analytics.table import Table


def _layout(fig: Any, **axes: str) -> Any:
    fig.update_layout(
        margin={"l": 60, "r": 20, "t": 60, "b": 50},  # plotly's toolbar sits above the titles
        height=380,
        template="plotly_white",
        legend={"orientation": "h", "y": -0.2},
    )
    for axis, title in axes.items():
        fig.update_layout({f"{axis}axis": {"title": {"text": title}}})
    return fig


def followers(t: Table) -> Any:
    import plotly.graph_objects as go

    traces = [  # given at once: add_trace copies the figure's traces at every call (500 accounts: 0.2 s)
        go.Scatter(x=part.column("day"), y=part.column("followers_count"), name=label(account), mode="lines+markers")
        for account, part in t.groups("account").items()
    ]
    fig = go.Figure(data=traces)
    fig.update_yaxes(type="log")  # accounts of very different sizes side by side
    return _layout(fig, x="day (UTC)", y="followers (log scale)")


def posts(t: Table) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    for kind, part in t.groups("tweet_type").items():
        fig.add_trace(go.Bar(x=part.column("period"), y=part.column("tweets"), name=label(kind)))
    fig.update_layout(barmode="stack", bargap=0.1)
    return _layout(fig, x=f"{_bin(t)} posted (UTC)", y=f"tweets a {_bin(t)}")


def _bin(t: Table) -> str:
    """The bin of a binned query (day, week or month), for the axis titles."""
    bins = set(t.column("bin"))
    return str(bins.pop()) if len(bins) == 1 else "period"


def engagement(t: Table) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("engagement rate (% of impressions)", "average engagement per tweet")
    )
    kinds = [label(k) for k in t.column("tweet_type")]
    fig.add_trace(go.Bar(x=kinds, y=t.column("engagement_rate_pct"), name="rate %"), row=1, col=1)
    fig.add_trace(go.Bar(x=kinds, y=t.column("avg_engagement"), name="avg engagement"), row=1, col=2)
    for kind, rate, avg in zip(kinds, t.column("engagement_rate_pct"), t.column("avg_engagement"), strict=True):
        if rate is None:  # an empty bar says why
            why = "no metrics yet" if avg is None else "no impressions<br>reported"
            fig.add_annotation(x=kind, y=0, text=why, showarrow=False, yanchor="bottom", row=1, col=1)
        if avg is None:
            fig.add_annotation(x=kind, y=0, text="no metrics yet", showarrow=False, yanchor="bottom", row=1, col=2)
    fig.update_layout(showlegend=False)
    return _layout(fig)


def curves(t: Table) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    for account, part in t.groups("account").items():
        tweets = [int(n) for n in part.column("tweets")]
        fig.add_trace(
            go.Scatter(
                x=part.column("hours"),
                y=part.column("median_likes"),
                name=label(f"{account} · {_span(tweets)} a point"),
                mode="lines+markers",
                line={"dash": "dot" if max(tweets) < FEW_TWEETS else "solid"},
                customdata=tweets,
                hovertemplate="%{x} h: median %{y} likes over %{customdata} tweets",
                marker={
                    "symbol": ["circle" if n >= FEW_TWEETS else "circle-open" for n in tweets],
                    "size": [9 if n >= FEW_TWEETS else 7 for n in tweets],
                },
            )
        )
    return _layout(fig, x="hours since posting (2-hour bins)", y="median likes")


FEW_TWEETS = 5
"""A median over fewer tweets than this is drawn as a hollow point (a line of only such points is
dotted): it says little."""


def _span(counts: list[int]) -> str:
    lo, hi = min(counts), max(counts)
    return f"{lo} tweet{'s' if lo != 1 else ''}" if lo == hi else f"{lo}–{hi} tweets"


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
    for kind, color in (("positive", "#2ca02c"), ("neutral", "#bbbbbb"), ("negative", "#d62728")):
        fig.add_trace(
            go.Bar(x=t.column("period"), y=t.column(kind), name=f"{kind} tweets", marker_color=color),
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
    fig.update_yaxes(
        title_text="average compound (−1…1)",
        range=[-1, 1],
        tickvals=[-1, -0.5, 0, 0.5, 1],
        showgrid=False,
        secondary_y=True,
    )
    return _layout(fig, x=f"{_bin(t)} posted (UTC)")


def pipeline(t: Table) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    for name in ("rows_loaded", "rows_quarantined", "rows_api_errors"):
        values = t.column(name)
        legend = name.replace("_", " ") + (": none" if not any(values) else "")  # a log axis draws no zero
        fig.add_trace(go.Bar(x=t.column("dataset"), y=values, name=legend))
    fig.update_layout(barmode="group")
    fig.update_yaxes(type="log")
    return _layout(fig, x="dataset", y="rows (log scale)")


def _entity_label(kind: str, entity: str) -> str:
    return label({"hashtag": "#", "mention": "@", "cashtag": "$"}.get(kind, "") + str(entity))


def label(value: Any) -> str:
    """Data as plotly label text: plotly reads a subset of HTML in labels (``<a href>`` becomes a
    link, ``<b>`` bold), so ``<``, ``>`` and ``&`` are escaped; plotly shows them as typed."""
    return html.escape(str(value), quote=False)
