"""render_report: results folder -> report.html (self-contained) and report.md.

Pure core: reads only files, so any results folder can be re-rendered later without the
pipeline. The HTML inlines its CSS, script, data and images (no network needed to open it);
templates live next to this module as package data.
"""

from importlib import resources
import logging
from pathlib import Path
import re
from string import Template

from mmm_pipeline.core.report.chart_style import channel_colours
from mmm_pipeline.core.report.context import Context
from mmm_pipeline.core.report.derived import channel_rows
from mmm_pipeline.core.report.formatting import interval_level_label, period_word
from mmm_pipeline.core.report.inputs import ReportInputs, load_results
from mmm_pipeline.core.report.markdown import render_markdown
from mmm_pipeline.core.report.markup import badge, esc, image_mime, section, unavailable
from mmm_pipeline.core.report.narrative import executive_summary
from mmm_pipeline.core.report.sections import SECTIONS

log = logging.getLogger(__name__)

HTML_FILE = "report.html"
MD_FILE = "report.md"
#: a pipeline figure goes to the first section whose keywords appear in its key
FIGURE_SECTIONS: list[tuple[str, tuple[str, ...]]] = [
    ("residuals", ("residual", "diagnostic", "acf", "qq")),
    ("walk-forward", ("walk_forward", "fold", "holdout", "hold_out", "baseline", "metric")),
    ("decomposition", ("decomposition", "waterfall", "contribution")),
    ("roas", ("roas",)),
    ("saturation", ("saturation", "response")),
    ("adstock", ("adstock", "carry")),
    ("hierarchy", ("hierarch", "pooling", "subcategor")),
    ("price-elasticity", ("price", "elasticit")),
    ("budget", ("budget", "allocation", "sensitivity", "optimi")),
    ("scenarios", ("scenario",)),
]


def render_report(results_dir: Path, figures: dict[str, bytes] | None = None) -> tuple[Path, Path]:
    """Write report.html and report.md into ``results_dir``; returns (html path, md path).

    ``figures`` are pre-rendered images (PNG, JPEG or SVG bytes) from the pipeline, placed in
    the section their key names (``walk_forward_folds`` -> validation, ``residual_*`` ->
    residual diagnostics; anything else under "Additional figures").
    """
    results_dir = Path(results_dir)
    inputs = load_results(results_dir)
    ctx = build_context(inputs, figures or {})
    html_path, md_path = results_dir / HTML_FILE, results_dir / MD_FILE
    html_path.write_text(render_html(ctx), encoding="utf-8")
    md_path.write_text(render_markdown(inputs, ctx.rows, ctx.findings), encoding="utf-8")
    log.info("report written: %s, %s", html_path, md_path)
    return html_path, md_path


def build_context(inputs: ReportInputs, figures: dict[str, bytes]) -> Context:
    rows = channel_rows(inputs)
    return Context(
        inputs=inputs,
        rows=rows,
        colours=channel_colours([r.name for r in rows] or list(inputs.response_curves or {})),
        period=period_word(inputs.summary.get("frequency")),
        interval_label=interval_level_label(inputs.summary),
        findings=executive_summary(inputs, rows),
        extra_figures=assign_figures(figures),
    )


def assign_figures(figures: dict[str, bytes]) -> dict[str, list[tuple[str, bytes]]]:
    """Group pipeline figures by section; rejects anything that is not an image, naming the key."""
    placed: dict[str, list[tuple[str, bytes]]] = {}
    for key, image in figures.items():
        if not isinstance(image, (bytes, bytearray)):
            raise TypeError(f"figure '{key}' must be image bytes (PNG, JPEG or SVG), got {type(image).__name__}")
        try:
            image_mime(bytes(image))
        except ValueError as exc:
            raise ValueError(
                f"figure '{key}': {exc}; pass PNG bytes, e.g. from fig.savefig(buf, format='png')"
            ) from exc
        slug = re.sub(r"[^a-z0-9]+", "_", key.lower())
        target = next((sid for sid, words in FIGURE_SECTIONS if any(w in slug for w in words)), "additional-figures")
        placed.setdefault(target, []).append((key, bytes(image)))
    return placed


def render_html(ctx: Context) -> str:
    body = []
    nav = []
    for section_id, short_title, build in SECTIONS:
        html = _safe_section(section_id, short_title, build, ctx)
        if html:
            body.append(html)
            nav.append(f'<a href="#{section_id}">{esc(short_title)}</a>')
    s = ctx.summary
    return _template("report.html").substitute(
        title=esc(s.get("title") or s.get("dataset") or "Marketing-mix model report"),
        header=_header(ctx),
        nav="\n".join(nav),
        sections="\n".join(body),
        css=_template_text("report.css"),
        script=_template_text("simulator.js"),
    )


def _safe_section(section_id: str, title: str, build, ctx: Context) -> str:
    """A section that fails on unexpected data says so instead of taking the whole report down."""
    try:
        return build(ctx)
    except Exception as exc:  # noqa: BLE001 - one odd input must not cost the reader the other sections
        log.exception("report: section %s failed", section_id)
        return section(section_id, title, unavailable(f"This section could not be drawn from the results: {exc!r}"))


def _header(ctx: Context) -> str:
    s = ctx.summary
    badges = []
    if s.get("simulated"):
        badges.append(badge("SIMULATED DATA", "warn"))
    gate = s.get("gate") or {}
    if "passed" in gate:
        badges.append(badge("gate passed", "good") if gate["passed"] else badge("gate failed", "bad"))
    champion = s.get("champion") or {}
    if "promoted" in champion:
        badges.append(badge("champion", "good") if champion["promoted"] else badge("not promoted", "info"))
    meta = " · ".join(
        esc(x)
        for x in (
            f"dataset {s.get('dataset', '?')}",
            f"model {s.get('model_version', '?')}",
            f"created {s.get('created_at', '?')}",
            f"{s.get('frequency', '?')} data",
        )
    )
    return f'<div class="badges">{"".join(badges)}</div><p class="meta">{meta}</p>'


def _template_text(name: str) -> str:
    return resources.files("mmm_pipeline.core.report").joinpath("templates", name).read_text(encoding="utf-8")


def _template(name: str) -> Template:
    return Template(_template_text(name))
