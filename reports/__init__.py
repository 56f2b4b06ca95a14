"""Investor report: Jinja2 templates over the published figure frames, one
self-contained HTML file (inline CSS, inline SVG charts) and its PDF.

    html = render_html(ReportData(...))
    pdf = render_pdf(html)  # byte-identical for the same HTML
"""

from reports.data import ReportData
from reports.operations import operations_report_html
from reports.render import environment, investor_documents, render_html, render_pdf

__all__ = [
    "ReportData",
    "environment",
    "investor_documents",
    "operations_report_html",
    "render_html",
    "render_pdf",
]
