"""Paid media: learnable adstock feeding a parametric saturation, per-node amplitude.

Per channel, one adstock and one saturation shape are shared by all nodes (a channel's
carry-over and diminishing returns are properties of the channel); the amplitude (how much
revenue a saturated channel brings, as a fraction of the node's mean sales) is
category + node deviation. Everything is ``[K, C, ...]`` and one einsum per step.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from mmm_pipeline.core.model.hierarchy import category_values, node_values
from mmm_pipeline.core.transforms.adstock import adstock_decay, adstock_weights
from mmm_pipeline.core.transforms.saturation import shape_params


@dataclass
class MediaParams:
    weights: torch.Tensor  # [K, C, L]
    decay: torch.Tensor  # [K, C]
    shape: dict[str, torch.Tensor]  # [K, C] each, scaled spend units
    amplitude: torch.Tensor  # [K, N, C] fraction of the node's mean target (log scale: log units)


def media_params(views: dict, cfg, node_category: torch.Tensor) -> MediaParams:
    bounds = cfg.media_bounds
    weights = adstock_weights(cfg.adstock, views["media.adstock"], cfg.l_max, bounds)
    decay = adstock_decay(cfg.adstock, views["media.adstock"], weights, bounds)
    shape = shape_params(cfg.saturation, views["media.saturation"], bounds)
    cat = views["media.amp_cat"]
    dev = views.get("media.amp_dev")
    if cfg.pooling_mode == "mix" and dev is not None:
        amp = cfg.mix_weight * F.softplus(category_values(cat, node_category)) + (1 - cfg.mix_weight) * F.softplus(
            node_values(cat, dev, node_category)
        )
    else:
        amp = F.softplus(node_values(cat, dev, node_category))
    return MediaParams(weights, decay, shape, amp)
