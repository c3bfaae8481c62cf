"""The trained model as the rest of the pipeline sees it: ``FittedNAM``.

All outputs are numpy arrays with a leading member axis ``K`` (bootstrap replicates or
ensemble members), in target (revenue) units and the data's own node and feature order.
``media_revenue`` is the exception: it returns a torch tensor so the budget optimizer can
differentiate through it.
"""

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mmm_pipeline.core.features.model_data import FeatureSpec, ModelData
from mmm_pipeline.core.model import diagnostics, economics
from mmm_pipeline.core.model.decompose import Decomposition, decompose_output, training_centring
from mmm_pipeline.core.model.nam import NAM, NAMConfig
from mmm_pipeline.core.model.scaling import ModelInputs, check_compatible, prepare_inputs
from mmm_pipeline.core.wording import join_names

log = logging.getLogger(__name__)


class FittedNAM:
    """K fitted NAMs with their scalers, feature specs, hierarchy and training history."""

    def __init__(self, model: NAM, data_features: list[FeatureSpec], centring: np.ndarray, settings: dict,
                 history: dict, meta: dict) -> None:
        self.model = model.eval()
        self.data_features = list(data_features)
        self.centring = np.asarray(centring, dtype=np.float64)  # [K, N, F_model]
        self.settings = settings
        self.history = history
        self.meta = meta

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_training(cls, model: NAM, data: ModelData, train_mask: np.ndarray, settings: dict, history: dict,
                      seed: int) -> "FittedNAM":
        inputs = prepare_inputs(data, model.cfg.features, model.scalers, model.cfg.l_max, model.cfg.target_scale)
        centring = training_centring(model, inputs, train_mask)
        dates = data.dates[np.asarray(train_mask, dtype=bool)]
        meta = {
            "dataset": data.dataset,
            "frequency": data.frequency,
            "target_name": data.target_name,
            "train_start": str(dates[0].date()),
            "train_end": str(dates[-1].date()),
            "n_train_periods": int(len(dates)),
            "seed": int(seed),
        }
        return cls(model, data.features, centring, settings, history, meta)

    @classmethod
    def stack(cls, parts: list["FittedNAM"]) -> "FittedNAM":
        """One model whose members are those of ``parts`` in order: fits of the same data and
        settings in batches (the bootstrap fits its replicates in chunks to bound memory).
        Per-member histories are concatenated (shorter runs padded with NaN epochs); of the
        scalars, ``seconds`` adds up and ``epochs_run`` is the longest."""
        if len(parts) == 1:
            return parts[0]
        first = parts[0]
        model = NAM(NAMConfig(**{**first.model.cfg.__dict__, "n_models": sum(p.n_models for p in parts)}),
                    first.model.scalers)
        with torch.no_grad():
            model.flat.copy_(torch.cat([p.model.flat for p in parts]))
        centring = np.concatenate([p.centring for p in parts])
        return cls(model, first.data_features, centring, first.settings, _stack_histories([p.history for p in parts]),
                   dict(first.meta))

    # ------------------------------------------------------------------ basics
    @property
    def n_models(self) -> int:
        return self.model.cfg.n_models

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.data_features]

    @property
    def channel_names(self) -> list[str]:
        return [f.name for f in self.data_features if f.kind == "media"]

    @property
    def nodes(self) -> list[str]:
        return list(self.model.cfg.nodes)

    @property
    def time_terms(self) -> list[str]:
        return [f.name for f in self.model.cfg.features if f.source == "time"]

    def inputs(self, data: ModelData, carry_in: np.ndarray | None = None, dense_operators: bool = False) -> ModelInputs:
        """Model inputs for ``data``; ``dense_operators`` for many-member passes (see ``prepare_inputs``)."""
        check_compatible(data, self.nodes, self.feature_names)
        cfg = self.model.cfg
        return prepare_inputs(data, cfg.features, self.model.scalers, cfg.l_max, cfg.target_scale, carry_in,
                              dense_operators)

    def _channel_index(self, channel: str) -> int:
        if channel not in self.channel_names:
            raise KeyError(f"no media channel '{channel}'; channels are {self.channel_names}")
        return self.channel_names.index(channel)

    # ------------------------------------------------------------------ predictions
    def decompose(self, data: ModelData) -> Decomposition:
        """Base + one contribution per data feature, ``base + contributions.sum(-1) == predict`` exactly."""
        inputs = self.inputs(data)
        with torch.no_grad():
            out = self.model(inputs)
        return decompose_output(self.model, out, self.centring)

    def predict(self, data: ModelData) -> np.ndarray:
        """``[K, T, N]`` predicted target, adstock from the data's own history (zero before it)."""
        return self.decompose(data).prediction

    # ------------------------------------------------------------------ media economics
    def adstock_weights(self) -> np.ndarray:
        """``[K, C, L]`` lag weights (each row sums to 1)."""
        with torch.no_grad():
            return self.model.media_params().weights.double().numpy()

    def saturation_params(self) -> dict[str, np.ndarray]:
        """``[K, C]`` arrays: shape parameters in money units, ``amplitude`` (revenue per period at
        saturation, summed over nodes), ``saturation_spend`` and ``decay``."""
        with torch.no_grad():
            out = economics.channel_money_params(self.model)
            out["decay"] = self.model.media_params().decay.double().numpy()
        return out

    def response_curve(self, channel: str, spend_grid: np.ndarray, data: ModelData | None = None) -> np.ndarray:
        """``[K, G]`` steady-state contribution per period (summed over nodes) at each per-period spend."""
        if data is not None:
            check_compatible(data, self.nodes, self.feature_names)
        return economics.response_curve(self.model, self.centring, self._channel_index(channel), spend_grid)

    def media_revenue(self, history_spend: torch.Tensor, plan: torch.Tensor, data: ModelData | None = None) -> torch.Tensor:
        """``[K, H]`` media revenue per plan period with carry-over from ``history_spend [T0, C]``.

        ``plan`` is ``[H, C]`` (one plan for every member) or ``[K, H, C]``; differentiable in ``plan``.
        """
        if data is not None:
            check_compatible(data, self.nodes, self.feature_names)
        plan = plan if torch.is_tensor(plan) else torch.as_tensor(plan)
        if plan.shape[-1] != len(self.channel_names):
            raise ValueError(f"plan has {plan.shape[-1]} channels, the model has {len(self.channel_names)}: {self.channel_names}")
        return economics.media_revenue(self.model, self.centring, history_spend, plan)

    def channel_summary(self, data: ModelData) -> pd.DataFrame:
        """One row per (member, channel); see docs/methodology.md for each column."""
        inputs = self.inputs(data)
        with torch.no_grad():
            out = self.model(inputs)
        k, t, n = out.eta.shape
        channels = self.channel_names
        m = torch.as_tensor(self.model.scalers.target_mean, dtype=torch.float64)
        deriv = diagnostics.media_log_derivative(self.model, out).double()  # [K, T, N, C]
        if self.model.cfg.target_scale == "level":
            contrib = torch.einsum("ktc,knc,n->kc", out.saturation.double(), out.media.amplitude.double(), m).numpy()
            d_rev = torch.einsum("ktnc,n->kc", deriv, m).numpy()
        else:
            dec = decompose_output(self.model, out, self.centring)
            contrib = dec.contributions[..., list(data.media_index)].sum(axis=(1, 2))
            yhat = torch.as_tensor(dec.prediction)
            d_rev = torch.einsum("ktnc,ktn->kc", deriv, yhat).numpy()
        spend = data.spend.sum(0)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = contrib / contrib.sum(-1, keepdims=True)
            roas = np.where(spend > 0, contrib / spend, np.nan)
            mroas = np.where(spend > 0, d_rev / spend, np.nan)
        params = self.saturation_params()
        weights = self.adstock_weights()
        mean_lag = (weights * np.arange(weights.shape[-1])).sum(-1)
        one = np.stack([economics.mroas_one_spend(self.model, self.centring, c, float(data.spend[:, c].max()))
                        for c in range(len(channels))], 1)
        frame = {
            "member": np.repeat(np.arange(k), len(channels)),
            "channel": np.tile(np.asarray(channels, dtype=object), k),
            "spend": np.tile(spend, k),
            "contribution": contrib.reshape(-1),
            "share": share.reshape(-1),
            "roas": roas.reshape(-1),
            "mroas": mroas.reshape(-1),
            "saturation_spend": params["saturation_spend"].reshape(-1),
            "mroas_one_spend": one.reshape(-1),
            "decay": params["decay"].reshape(-1),
            "mean_lag": mean_lag.reshape(-1),
            "amplitude": params["amplitude"].reshape(-1),
        }
        for name, v in params.items():
            if name not in frame:
                frame[name] = v.reshape(-1)
        return pd.DataFrame(frame)

    # ------------------------------------------------------------------ elasticities and constraints
    def elasticity(self, feature: str, data: ModelData) -> np.ndarray:
        """``[K, N]`` mean over the data's periods of d log y_hat / d log x (autograd)."""
        names = [f.name for f in self.model.cfg.features]
        if feature not in self.feature_names:
            raise KeyError(f"no feature '{feature}'; features are {self.feature_names}")
        return diagnostics.elasticity(self.model, self.inputs(data), names.index(feature))

    def constraint_violation_rates(self, data: ModelData) -> dict[str, float]:
        """Per constrained feature and channel, the share of grid and data checks violated (0.0 by construction)."""
        return diagnostics.violation_rates(self.model, self.inputs(data))

    def binding_constraints(self, data: ModelData) -> pd.DataFrame:
        """Constraints that bind (bounds reached, effects pinned at zero), one row per member and finding."""
        bounded = [f.name for f in self.model.cfg.features if f.elasticity_bounds and f.source == "data"]
        el = {name: self.elasticity(name, data) for name in bounded}
        return diagnostics.binding_constraints(self.model, self.inputs(data), self.channel_summary(data), el)

    def curve(self, feature: str, values: np.ndarray) -> np.ndarray:
        """``[K, N, G]`` the shaped term of a monotone/concave/free ``feature`` at raw input ``values [G]``
        (scaled target units, uncentred; each node read with its own input centring)."""
        names = [f.name for f in self.model.cfg.features]
        if feature not in names:
            raise KeyError(f"no feature '{feature}'; the features are {join_names(names)}")
        i = names.index(feature)
        f = self.model.cfg.features[i]
        if f.family not in ("monotone", "concave", "free"):
            raise ValueError(f"'{feature}' is a {f.family} term; curve() is for shaped features")
        sc = self.model.scalers
        v = np.log(np.asarray(values, dtype=float)) if f.transform == "log" else np.asarray(values, dtype=float)
        u = (v[:, None] - sc.center[i][None, :]) / sc.scale[i]  # [G, N]
        return diagnostics.grid_curve(self.model, i, u)

    # ------------------------------------------------------------------ members and persistence
    def member(self, k: int) -> "FittedNAM":
        if not 0 <= k < self.n_models:
            raise IndexError(f"member {k} out of range for {self.n_models} models")
        hist = {n: (v[:, k : k + 1] if isinstance(v, np.ndarray) and v.ndim == 2 else
                    v[k : k + 1] if isinstance(v, np.ndarray) and v.ndim == 1 else v) for n, v in self.history.items()}
        return FittedNAM(self.model.member_slice(k), self.data_features, self.centring[k : k + 1], self.settings,
                         hist, dict(self.meta))

    def save(self, path: str | Path) -> Path:
        from mmm_pipeline.core.model.checkpoint import save_checkpoint

        return save_checkpoint(self, path)

    @classmethod
    def load(cls, path: str | Path) -> "FittedNAM":
        from mmm_pipeline.core.model.checkpoint import load_checkpoint

        return load_checkpoint(path)


def _stack_histories(histories: list[dict]) -> dict:
    """Training histories of member batches as one: ``[epochs, K]`` arrays side by side (NaN
    after a batch's last epoch), ``[K]`` arrays joined, scalars summed (seconds) or maxed."""
    out: dict = {}
    for name in histories[0]:
        values = [np.asarray(h[name]) for h in histories]
        if values[0].ndim == 2:
            epochs = max(v.shape[0] for v in values)
            padded = [np.pad(v.astype(float), ((0, epochs - v.shape[0]), (0, 0)), constant_values=np.nan) for v in values]
            out[name] = np.concatenate(padded, axis=1)
        elif values[0].ndim == 1:
            out[name] = np.concatenate(values)
        else:
            out[name] = np.array(sum(values) if name == "seconds" else max(values))
    return out
