"""Small PNG charts for asset metadata (shown inline in the Dagster UI as markdown images)."""

import base64
import io

import numpy as np


def png_markdown(png: bytes, alt: str) -> str:
    """A markdown image with the PNG inlined, so the chart lives in the run's metadata."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"


def loss_curves_png(history: dict) -> bytes:
    """Training and validation loss per epoch (mean over members), log scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.2))
    try:
        for name in ("total", "fit", "val"):
            values = np.asarray(history.get(name, []), dtype=float)
            if values.ndim == 2 and values.size and np.isfinite(values).any():
                ax.plot(np.nanmean(values, axis=1), label=name, lw=1.2)
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.legend(frameon=False)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=80)
        return buffer.getvalue()
    finally:
        plt.close(fig)
