"""What every report section reads (:class:`Context`), and cell formatters they share."""

from collections.abc import Callable
from dataclasses import dataclass, field

from mmm_pipeline.core.report.derived import ChannelRow
from mmm_pipeline.core.report.formatting import fmt_amount, fmt_interval, fmt_pct, fmt_ratio
from mmm_pipeline.core.report.inputs import ReportInputs
from mmm_pipeline.core.report.markup import esc, figure
from mmm_pipeline.core.report.narrative import Finding


@dataclass
class Context:
    """What every section may read; built once per render."""

    inputs: ReportInputs
    rows: list[ChannelRow]
    colours: dict[str, str]
    period: str
    interval_label: str
    findings: list[Finding]
    #: section id -> [(figure key, image bytes)] passed in by the pipeline
    extra_figures: dict[str, list[tuple[str, bytes]]] = field(default_factory=dict)

    @property
    def summary(self) -> dict:
        return self.inputs.summary

    def extras(self, section_id: str) -> str:
        """Pipeline-supplied figures for a section, as inline images."""
        return "".join(
            figure(image, alt=key.replace("_", " "), caption=key.replace("_", " "))
            for key, image in self.extra_figures.get(section_id, [])
        )


def estimate_cell(row: ChannelRow, iv: dict | None, fmt: Callable = fmt_ratio) -> str:
    """A not-identified channel never shows a point estimate: only its range, marked as such."""
    if row.identified:
        return esc(fmt_interval(iv, fmt=fmt))
    return f'<span class="range-only">range {esc(fmt_interval(iv, fmt=fmt, show_mean=False))}</span>'


def signed_pct(value: float | None) -> str:
    return fmt_pct(value, signed=True)


def signed_amount(value: float | None) -> str:
    text = fmt_amount(value)
    return f"+{text}" if value is not None and value > 0 else text
