"""``tweetlake report``: one self-contained HTML file of charts over the warehouse's views.

Each chart (:mod:`~analytics.report.charts`) is a query over the views (:mod:`~analytics.report.queries`,
restricted to the report's :class:`~analytics.scope.Scope`), a caption saying what it shows, and a
Plotly figure (:mod:`~analytics.report.figures`) built from the query's rows. The page
(:mod:`~analytics.report.page`) inlines plotly.js once (no CDN, no network: it opens offline) and
puts the rows of every chart in a table behind it. All queries run in one read-only REPEATABLE READ
transaction, so the charts agree with each other even while a job commits.

A chart whose query finds nothing is shown as its caption and a sentence saying why, not as an
empty plot.
"""

from analytics.report.charts import CHARTS, PIPELINE, Chart
from analytics.report.page import build_report, collect

__all__ = ["CHARTS", "PIPELINE", "Chart", "build_report", "collect"]
