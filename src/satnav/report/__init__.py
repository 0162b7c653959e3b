"""Self-contained HTML reports of receiver solutions (``satnav report``, ``satnav solve --report``)."""

from .html import image_html, page_html, report_html, table_html, write_report

__all__ = ["write_report", "report_html", "page_html", "table_html", "image_html"]
