"""What both dashboards (an app's, in the console; the platform's, in the admin) show: charts, cards and CSV."""
import csv
import datetime as dt
from urllib.parse import urlencode

from django.http import HttpResponse
from django.utils.translation import gettext as _

from .charts import Series, bar_chart, line_chart
from .selectors import UsageReport

CSV_COLUMNS = ["date", "calls", "errors", "unique_callers", "p50_ms", "p95_ms", "queue_p50_ms", "queue_p95_ms",
               "revenue", "cost", "margin"]


def context(report: UsageReport) -> dict:
    """The dashboard's four SVG charts for `report`, and the query string of its CSV export (the same days)."""
    days = report.dates
    rows = report.days
    return {
        "csv_query": urlencode({"from": report.start.isoformat(), "to": report.end.isoformat()}),
        "calls_chart": bar_chart(days, [
            Series(_("Calls"), "calls", [d.calls for d in rows]),
            Series(_("Errors"), "errors", [d.errors for d in rows]),
        ], label=_("Calls and errors per day")),
        "money_chart": line_chart(days, [
            Series(_("Revenue"), "revenue", [d.revenue for d in rows]),
            Series(_("Cost C"), "cost", [d.cost for d in rows]),
            Series(_("Margin"), "margin", [d.margin for d in rows]),
        ], label=_("Revenue, cost and margin per day")),
        "latency_chart": line_chart(days, [
            Series(_("p50 latency"), "p50", [d.p50_ms for d in rows]),
            Series(_("p95 latency"), "p95", [d.p95_ms for d in rows]),
            Series(_("p50 queue time"), "queue", [d.queue_p50_ms for d in rows]),
        ], label=_("Latency per day (ms)")),
        "callers_chart": bar_chart(days, [
            Series(_("Unique callers"), "callers", [d.unique_callers for d in rows]),
        ], label=_("Unique callers per day")),
    }


def _cell(value: object) -> str:
    return "" if value is None else str(value)


def csv_response(report: UsageReport, *, name: str) -> HttpResponse:
    """The report's days as CSV (one row per day, the same rows as the page's table), as a download."""
    filename = f"{name}-usage-{report.start.isoformat()}-{report.end.isoformat()}.csv"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for day in report.days:
        writer.writerow([_cell(value) for value in (
            day.date.isoformat() if isinstance(day.date, dt.date) else "", day.calls, day.errors, day.unique_callers,
            day.p50_ms, day.p95_ms, day.queue_p50_ms, day.queue_p95_ms, day.revenue, day.cost, day.margin)])
    return response
