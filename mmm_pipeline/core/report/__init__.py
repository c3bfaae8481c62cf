"""The HTML and Markdown report, rendered from a results folder alone.

``render_report(results_dir, figures=None) -> (report.html, report.md)``; see render.py.
"""

from mmm_pipeline.core.report.render import render_report

__all__ = ["render_report"]
