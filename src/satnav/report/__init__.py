"""Self-contained HTML reports of receiver solutions (``satnav report``, ``satnav solve --report``)."""

from .html import report_html, write_report

__all__ = ["write_report", "report_html"]
