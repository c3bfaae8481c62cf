"""mmm_pipeline: marketing-mix modelling with a constrained Neural Additive Model on Dagster.

The Dagster ``Definitions`` live in :mod:`mmm_pipeline.definitions`; the pure modelling
core, usable from a notebook without Dagster, lives in :mod:`mmm_pipeline.core`.
"""

__version__ = "0.1.0"


def load(dataset: str, output_root: str | None = None):
    """The champion model of ``dataset``: see :func:`mmm_pipeline.api.model.load`.

    Imported on call so ``python -m mmm_pipeline --help`` stays instant (no torch import).
    """
    from mmm_pipeline.api.model import load as load_champion

    return load_champion(dataset, output_root)
