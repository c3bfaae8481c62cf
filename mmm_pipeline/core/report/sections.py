"""The report's sections in reading order, with stable ids (tests and links rely on them).

Each builder takes the :class:`~mmm_pipeline.core.report.context.Context` and returns one
``<section id=...>``; the builders live in sections_quality, sections_media, sections_evidence and sections_plan.
"""

from collections.abc import Callable

from mmm_pipeline.core.report.context import Context
from mmm_pipeline.core.report.sections_evidence import evidence, next_tests
from mmm_pipeline.core.report.sections_media import (
    adstock,
    decomposition,
    hierarchy,
    price_elasticity,
    roas,
    saturation,
)
from mmm_pipeline.core.report.sections_plan import budget, scenarios, simulator
from mmm_pipeline.core.report.sections_quality import (
    additional_figures,
    executive_summary,
    model_card,
    residuals,
    walk_forward,
)

SECTIONS: list[tuple[str, str, Callable[[Context], str]]] = [
    ("executive-summary", "Summary", executive_summary),
    ("model-card", "Model card", model_card),
    ("walk-forward", "Validation", walk_forward),
    ("decomposition", "Decomposition", decomposition),
    ("roas", "ROAS", roas),
    ("evidence", "Evidence", evidence),
    ("saturation", "Saturation", saturation),
    ("adstock", "Carry-over", adstock),
    ("price-elasticity", "Price", price_elasticity),
    ("budget", "Budget", budget),
    ("simulator", "Simulator", simulator),
    ("scenarios", "Scenarios", scenarios),
    ("next-tests", "Next tests", next_tests),
    ("residuals", "Residuals", residuals),
    ("hierarchy", "Hierarchy", hierarchy),
    ("additional-figures", "More figures", additional_figures),
]
