"""Fit K constrained hierarchical NAMs at once: ``fit_nam``.

Full-batch training (every period in every step) with a batched Adam whose learning rate,
gradient clipping, plateau schedule, early stopping and best-weights restore are all per
member, so member ``k`` of a K-batch trains exactly as a single fit with weights
``sample_weights[k]`` would. The validation slice is the last ``validation_fraction`` of the
training periods; it is never fitted, only used to pick each member's best epoch.
"""

import logging
import time
from dataclasses import dataclass

import numpy as np
import torch

from mmm_pipeline.core.features.model_data import ModelData
from mmm_pipeline.core.model.features import resolve_features
from mmm_pipeline.core.model.fitted import FittedNAM
from mmm_pipeline.core.model.nam import NAM, NAMConfig, member_seeds
from mmm_pipeline.core.model.scaling import DTYPE, ModelInputs, fit_scalers, prepare_inputs
from mmm_pipeline.core.train.errors import require_enough_periods
from mmm_pipeline.core.train.experiments import prepare_experiments
from mmm_pipeline.core.train.losses import TERMS, LossContext, loss_terms, roas_bounds, total_loss
from mmm_pipeline.core.train.strategies import Schedule
from mmm_pipeline.core.transforms.saturation import check_form, resolve_bounds

log = logging.getLogger(__name__)

LOSS_DEFAULTS = {"constraint": 1.0, "hierarchy": 1.0, "smoothness": 0.01, "elasticity": 1.0, "roas_prior": 0.0,
                 "spend_share": 0.0, "experiments": 1.0, "l2": 1e-4}


class BatchedAdam:
    """Adam over a ``[K, D]`` tensor with a per-member learning rate and an optional ``[D]`` mask."""

    def __init__(self, shape: torch.Size, lr: torch.Tensor, betas=(0.9, 0.999), eps: float = 1e-6, weight_decay: float = 0.0):
        self.m = torch.zeros(shape, dtype=DTYPE)
        self.v = torch.zeros(shape, dtype=DTYPE)
        self.lr = lr.clone()
        self.b1, self.b2 = betas
        self.eps = eps
        self.wd = weight_decay
        self.t = 0

    def reset(self, members: torch.Tensor) -> None:
        """Forget the moments of the selected members (after restoring their weights)."""
        keep = (~members).to(DTYPE).unsqueeze(1)
        self.m.mul_(keep)
        self.v.mul_(keep)

    @torch.no_grad()
    def step(self, param: torch.Tensor, grad: torch.Tensor, mask: torch.Tensor | None, active: torch.Tensor,
             scale: float = 1.0) -> None:
        """One update; ``scale`` multiplies every member's learning rate (warm-up)."""
        self.t += 1
        if mask is None:
            self.m.mul_(self.b1).add_(grad, alpha=1 - self.b1)
            self.v.mul_(self.b2).addcmul_(grad, grad, value=1 - self.b2)
        else:
            self.m.copy_(torch.where(mask, self.m * self.b1 + (1 - self.b1) * grad, self.m))
            self.v.copy_(torch.where(mask, self.v * self.b2 + (1 - self.b2) * grad * grad, self.v))
        m_hat = self.m / (1 - self.b1**self.t)
        v_hat = self.v / (1 - self.b2**self.t)
        lr = (self.lr * active * scale).unsqueeze(1)
        update = lr * m_hat / (v_hat.sqrt() + self.eps)
        if self.wd:
            update = update + lr * self.wd * param
        param.sub_(update if mask is None else update * mask)


def clip_per_member(grad: torch.Tensor, max_norm: float) -> torch.Tensor:
    """Scale each member's gradient to at most ``max_norm`` (L2 over all its parameters)."""
    if not max_norm or max_norm <= 0:
        return grad
    norm = grad.norm(dim=1, keepdim=True)
    return grad * torch.clamp(max_norm / (norm + 1e-12), max=1.0)


@dataclass
class TrainingWindow:
    """Which periods are fitted and which validate, as ``[K, T]`` normalised weights."""

    fit_w: torch.Tensor
    val_w: torch.Tensor | None
    train_mask: np.ndarray  # [T] all training periods (fitted + validation)
    fit_mask: np.ndarray  # [T] fitted periods: the scalers and knot ranges come from these
    n_fit: int
    n_val: int


def _check_arguments(data: ModelData, train_mask, sample_weights, n_models) -> tuple[np.ndarray, np.ndarray, int]:
    t = len(data.dates)
    mask = np.ones(t, dtype=bool) if train_mask is None else np.asarray(train_mask, dtype=bool)
    if mask.shape != (t,):
        raise ValueError(f"train_mask must be a boolean array of shape ({t},) matching data.dates, got {mask.shape}")
    if not mask.any():
        raise ValueError("train_mask selects no periods: nothing to train on")
    if sample_weights is None:
        k = int(n_models or 1)
        weights = np.ones((k, t))
    else:
        weights = np.asarray(sample_weights, dtype=np.float64)
        if weights.ndim == 1:
            weights = weights[None]
        if weights.ndim != 2 or weights.shape[1] != t:
            raise ValueError(f"sample_weights must have shape [K, {t}] (one row per model), got {weights.shape}")
        if n_models is not None and int(n_models) != weights.shape[0]:
            raise ValueError(f"n_models={n_models} but sample_weights has {weights.shape[0]} rows")
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise ValueError("sample_weights must be finite and >= 0")
        k = weights.shape[0]
    if k < 1:
        raise ValueError(f"n_models must be >= 1, got {k}")
    empty = np.nonzero((weights * mask[None]).sum(1) <= 0)[0]
    if empty.size:
        raise ValueError(f"models {empty.tolist()[:10]} have zero total sample weight on the training periods")
    return mask, weights, k


def _window(mask: np.ndarray, weights: np.ndarray, fraction: float) -> TrainingWindow:
    train_idx = np.nonzero(mask)[0]
    n_val = int(np.floor(len(train_idx) * fraction)) if fraction > 0 else 0
    if n_val < 2 or len(train_idx) - n_val < 4:
        n_val = 0
    fit_mask = mask.copy()
    val_mask = np.zeros_like(mask)
    if n_val:
        val_idx = train_idx[-n_val:]
        fit_mask[val_idx] = False
        val_mask[val_idx] = True
    fit_w = weights * fit_mask[None]
    zero = fit_w.sum(1) <= 0
    fit_w[zero] = fit_mask[None].astype(float).repeat(zero.sum(), 0)  # a replicate that drew only validation periods
    fit_w = fit_w / fit_w.sum(1, keepdims=True)
    val_w = None
    if n_val:
        vw = weights * val_mask[None]
        empty = vw.sum(1) <= 0
        vw[empty] = val_mask[None].astype(float).repeat(empty.sum(), 0)
        val_w = torch.as_tensor(vw / vw.sum(1, keepdims=True), dtype=DTYPE)
    return TrainingWindow(torch.as_tensor(fit_w, dtype=DTYPE), val_w, mask, fit_mask, int(fit_mask.sum()), n_val)


def _config(data: ModelData, features, k: int, model_s: dict) -> NAMConfig:
    media = model_s.get("media") or {}
    bounds = resolve_bounds(media)
    bounds["decay"] = tuple(float(x) for x in media.get("decay_bounds", (0.0, 0.9)))
    bounds["weibull_shape"] = tuple(float(x) for x in media.get("weibull_shape_bounds", (0.5, 5.0)))
    pooling = model_s.get("pooling") or {}
    mode = pooling.get("mode", "learned")
    if mode not in ("learned", "fixed", "mix"):
        raise ValueError(f"settings.model.pooling.mode must be learned, fixed or mix, got '{mode}'")
    adstock = media.get("adstock", "geometric")
    if adstock not in ("geometric", "delayed", "weibull"):
        raise ValueError(f"settings.model.media.adstock must be geometric, delayed or weibull, got '{adstock}'")
    l_max = int(media.get("l_max", 8))
    if l_max < 1:
        raise ValueError(f"settings.model.media.l_max must be >= 1, got {l_max}")
    return NAMConfig(
        n_models=k,
        nodes=list(data.nodes),
        node_category=data.category_index.tolist(),
        categories=data.categories,
        features=features,
        target_scale=model_s.get("target_scale", "level"),
        hidden=int(model_s.get("hidden_units", 16)),
        n_knots=int(model_s.get("knots", 32)),
        l_max=l_max,
        adstock=adstock,
        saturation=check_form(media.get("saturation", "hill")),
        media_bounds=bounds,
        pooling_mode=mode,
        pooling_strength=float(pooling.get("strength", 10.0)),
        mix_weight=float(pooling.get("mix_weight", 0.7)),
        sigma_bounds=tuple(float(x) for x in pooling.get("sigma_bounds", (0.01, 1.0))),
    )


def _loss_context(model: NAM, inputs: ModelInputs, window: TrainingWindow, data: ModelData, model_s: dict, loss_s: dict) -> LossContext:
    weights = {**LOSS_DEFAULTS, **{k: float(v) for k, v in loss_s.items() if k in LOSS_DEFAULTS}}
    channels = [model.cfg.features[i].name for i in model.index["media"]]
    lo, hi = roas_bounds(channels, model_s.get("roas_priors"))
    spend = torch.as_tensor(data.spend, dtype=DTYPE)  # [T, C] money
    spend_money = window.fit_w @ spend if channels else torch.zeros(window.fit_w.shape[0], 0)
    elastic = {}
    for fam in [*inputs.groups, "linear"]:
        idx = inputs.linear_index if fam == "linear" else inputs.groups[fam].index
        pos = [j for j, i in enumerate(idx) if model.cfg.features[i].elasticity_bounds is not None]
        if pos:
            b = [model.cfg.features[idx[j]].elasticity_bounds for j in pos]
            elastic[fam] = (pos, torch.tensor([x[0] for x in b], dtype=DTYPE), torch.tensor([x[1] for x in b], dtype=DTYPE))
    return LossContext(
        fit_w=window.fit_w,
        val_w=window.val_w,
        n_obs=float(window.n_fit * len(data.nodes)),
        y=inputs.y_scaled,
        weights=weights,
        target_mean=torch.as_tensor(model.scalers.target_mean, dtype=DTYPE),
        spend_money=spend_money,
        roas_lo=lo,
        roas_hi=hi,
        elastic=elastic,
        soft_constraints=any(f.family == "free" and f.direction != 0 for f in model.cfg.features),
        deviation_slices=model.deviation_slices(),
        experiments=prepare_experiments(data.experiments, data, window.train_mask, model.scalers.media_scale,
                                        model.scalers.target_mean, model.cfg.l_max, model.cfg.n_models),
    )


def penalty_context(model: NAM, inputs: ModelInputs, data: ModelData, train_mask: np.ndarray, settings: dict) -> LossContext:
    """The loss context a fit on ``train_mask`` used, rebuilt for a fitted model (one member).

    The information computation evaluates the same penalties the trainer minimised, at the
    fitted parameters, to tell how much of a channel's precision they supply.
    """
    train_s = dict(settings.get("training") or {})
    mask = np.asarray(train_mask, dtype=bool)
    window = _window(mask, np.ones((model.cfg.n_models, len(mask))), float(train_s.get("validation_fraction", 0.1)))
    return _loss_context(model, inputs, window, data, dict(settings.get("model") or {}), dict(settings.get("loss") or {}))


def _has_annealed_terms(ctx: LossContext) -> bool:
    """Annealing only matters when a ramped term can be non-zero."""
    w = ctx.weights
    return bool((w["constraint"] > 0 and ctx.soft_constraints) or (w["elasticity"] > 0 and ctx.elastic)
                or (w["roas_prior"] > 0 and bool((~torch.isnan(ctx.roas_lo)).any())) or w["spend_share"] > 0)


@torch.no_grad()
def _init_bias(model: NAM, inputs: ModelInputs, ctx: LossContext) -> None:
    """Start each node's intercept at its weighted mean residual, so early steps learn shapes."""
    out = model(inputs, detail=False)
    resid = inputs.y_scaled.unsqueeze(0) - out.eta  # [K, T, N]
    shift = torch.einsum("ktn,kt->kn", resid, ctx.fit_w)
    model.views()["bias"].add_(shift)


@dataclass
class MemberTracker:
    """Per-member best weights, patience, plateau schedule and early stopping, all ``[K]`` tensors."""

    best_flat: torch.Tensor
    min_delta: float
    lr_factor: float
    lr_patience: int
    min_lr: float

    def __post_init__(self) -> None:
        k = self.best_flat.shape[0]
        inf = torch.full((k,), float("inf"))
        self.best = inf.clone()  # best monitored value (weights in best_flat)
        self.stop_ref = inf.clone()  # last value that was a meaningful gain
        self.plateau_best = inf.clone()
        self.best_epoch = torch.zeros(k, dtype=torch.long)
        self.since_gain = torch.zeros(k, dtype=torch.long)
        self.plateau_bad = torch.zeros(k, dtype=torch.long)
        self.active = torch.ones(k, dtype=DTYPE)
        self.stopped_at = torch.full((k,), -1, dtype=torch.long)
        self.restarts = torch.zeros(k, dtype=torch.long)

    def track(self, epoch: int, monitor: torch.Tensor, flat: torch.Tensor, settled: bool) -> None:
        """Keep every member's best weights; patience counts epochs without a *meaningful* gain
        (``min_delta``, relative), so a crawl of 0.01% per epoch does not keep a member training."""
        improved = (monitor < self.best) & (self.active > 0) & settled
        self.best_flat.copy_(torch.where(improved.unsqueeze(1), flat, self.best_flat))
        self.best = torch.where(improved, monitor, self.best)
        self.best_epoch = torch.where(improved, torch.full_like(self.best_epoch, epoch), self.best_epoch)
        gain = (monitor < self.stop_ref * (1.0 - self.min_delta)) & settled
        self.stop_ref = torch.where(gain, monitor, self.stop_ref)
        self.since_gain = torch.where(gain, torch.zeros_like(self.since_gain), self.since_gain + int(settled))

    def guard(self, monitor: torch.Tensor, settled: bool, flat: torch.Tensor, opt: BatchedAdam) -> None:
        """A member whose objective blows up (a stiff penalty at a high learning rate) goes back to
        its best weights with a halved learning rate and fresh Adam moments."""
        blown = ~torch.isfinite(monitor) | (settled & torch.isfinite(self.best) & (monitor > 5.0 * self.best))
        if bool(blown.any()):
            flat.copy_(torch.where(blown.unsqueeze(1), self.best_flat, flat))
            opt.reset(blown)
            opt.lr = torch.where(blown, (opt.lr * self.lr_factor).clamp_min(self.min_lr), opt.lr)
            self.restarts += blown.long()

    def plateau(self, monitor: torch.Tensor, settled: bool, opt: BatchedAdam) -> None:
        """ReduceLROnPlateau per member on the monitored value."""
        better = (monitor < self.plateau_best - 1e-4 * self.plateau_best.abs()) | (not settled)
        self.plateau_best = torch.where(better, monitor, self.plateau_best)
        self.plateau_bad = torch.where(better, torch.zeros_like(self.plateau_bad), self.plateau_bad + 1)
        cut = self.plateau_bad > self.lr_patience
        opt.lr = torch.where(cut, (opt.lr * self.lr_factor).clamp_min(self.min_lr), opt.lr)
        self.plateau_bad = torch.where(cut, torch.zeros_like(self.plateau_bad), self.plateau_bad)

    def stop(self, epoch: int, patience: int) -> None:
        done = (self.since_gain > patience) & (self.active > 0)
        self.stopped_at = torch.where(done, torch.full_like(self.stopped_at, epoch), self.stopped_at)
        self.active = torch.where(done, torch.zeros_like(self.active), self.active)


def _monitor(terms: dict[str, torch.Tensor], total: torch.Tensor, has_val: bool) -> torch.Tensor:
    """Validation fit plus every penalty at its current weight (training fit without a validation
    slice): restoring the best plain validation MSE would favour epochs where business rules
    were not yet met."""
    penalties = total.detach() - terms["fit"].detach()
    return (terms["val"] if has_val else terms["fit"].detach()) + penalties


def _train(model: NAM, inputs: ModelInputs, ctx: LossContext, schedule: Schedule, train_s: dict) -> dict[str, np.ndarray]:
    k = model.cfg.n_models
    epochs = int(train_s.get("epochs", 400))
    lr0 = float(train_s.get("learning_rate", 0.1))
    patience = int(train_s.get("patience", 60))
    clip = float(train_s.get("clip_grad_norm", 5.0) or 0.0)
    ramp = int(round(epochs * float(train_s.get("anneal_fraction", 0.25)))) if ctx.anneal else 0
    # before this epoch nothing is tracked: the objective is still ramping, and an early
    # "best" validation loss of a barely trained model must not be what gets restored
    warmup = max(ramp, min(int(train_s.get("min_epochs", 100)), epochs - 1))
    # hybrid: the coordinate and block phases only prepare the joint fit, whose weights are the model
    warmup = max(warmup, min(schedule.phases[-1].start, epochs - 1))
    # Adam's first steps move every parameter by about the full learning rate, whatever the
    # size of its gradient; a short linear warm-up keeps them from throwing the fit far off
    warm_lr = int(train_s.get("lr_warmup", 20))
    opt = BatchedAdam(model.flat.shape, torch.full((k,), lr0), weight_decay=float(train_s.get("weight_decay", 0.0)))
    tracker = MemberTracker(model.flat.detach().clone(), float(train_s.get("min_delta", 0.002)),
                            float(train_s.get("lr_factor", 0.5)), int(train_s.get("lr_patience", 30)),
                            lr0 * float(train_s.get("min_lr_fraction", 1e-3)))
    has_val = ctx.val_w is not None
    names = [*TERMS, "val", "total", "lr"]
    hist = torch.full((epochs, len(names), k), float("nan"))
    nan = torch.full((k,), float("nan"))
    ran = 0
    for epoch in range(epochs):
        settled = epoch >= warmup
        mask = schedule.mask(epoch)
        ctx.report_constraints = epoch % 10 == 0 or epoch == epochs - 1
        if epoch % 5 == 0:
            ctx.elastic_weights = None  # recomputed from this step's predictions
        model.flat.grad = None
        out = model(inputs, detail=False)
        terms = loss_terms(model, out, inputs, ctx)
        total = total_loss(terms, ctx.weights, min(1.0, epoch / ramp) if ramp else 1.0)
        total.sum().backward()
        with torch.no_grad():
            monitor = _monitor(terms, total, has_val)
            hist[epoch] = torch.stack([terms[n].detach() for n in TERMS] + [terms.get("val", nan), total.detach(), opt.lr * tracker.active])
            tracker.track(epoch, monitor, model.flat.detach(), settled)
            opt.step(model.flat.data, clip_per_member(model.flat.grad, clip), None if mask is None else mask.unsqueeze(0),
                     tracker.active, min(1.0, (epoch + 1) / warm_lr) if warm_lr else 1.0)
            tracker.guard(monitor, settled, model.flat.data, opt)
            tracker.plateau(monitor, settled, opt)
            # without a validation slice the monitor is the training objective: a member stops when it
            # no longer improves meaningfully (converged), not to hold its estimates back
            tracker.stop(epoch, max(patience, 2 * schedule.cycle_length(epoch)))
        ran = epoch + 1
        if not bool(tracker.active.any()):
            break
    with torch.no_grad():
        if has_val:
            model.flat.copy_(tracker.best_flat)
    h = hist[:ran].numpy()
    history = {n: h[:, i, :].copy() for i, n in enumerate(names)}
    stopped = tracker.stopped_at.numpy()
    history["best_epoch"] = tracker.best_epoch.numpy() if has_val else np.full(k, ran - 1)
    history["stopped_epoch"] = np.where(stopped < 0, ran - 1, stopped)
    history["epochs_run"] = np.array(ran)
    history["restarts"] = tracker.restarts.numpy()
    return history


def fit_nam(
    data: ModelData,
    settings: dict,
    *,
    train_mask: np.ndarray | None = None,
    sample_weights: np.ndarray | None = None,
    n_models: int | None = None,
    seed: int | None = None,
) -> FittedNAM:
    """Train K NAMs (K = rows of ``sample_weights``, else ``n_models``, else 1) on ``data``.

    ``train_mask [T]`` picks the training periods (earlier unmasked periods still feed the
    adstock history; later ones are ignored). ``sample_weights [K, T] >= 0`` weight each
    period's loss per model (bootstrap counts, ensemble folds). Members start from the same
    initial draw when ``sample_weights`` is given (so they differ only through their data) and
    from ``seed + k`` otherwise (an ensemble); ``settings.training.member_init`` overrides
    (``same`` | ``different``). Same settings + data + seed give the same model on CPU.
    """
    mask, weights, k = _check_arguments(data, train_mask, sample_weights, n_models)
    # before anything is built: refuse data that cannot support the model (judged on the
    # periods this fit trains on, so a short walk-forward fold is refused too)
    require_enough_periods(data if train_mask is None else data.slice_time(mask), settings)
    model_s = dict(settings.get("model") or {})
    loss_s = dict(settings.get("loss") or {})
    train_s = dict(settings.get("training") or {})
    seed = int(train_s.get("seed", 0) if seed is None else seed)
    init_mode = train_s.get("member_init", "auto")
    if init_mode == "auto":
        init_mode = "same" if sample_weights is not None else "different"
    threads = int(train_s.get("threads", 0) or 0)
    previous_threads = torch.get_num_threads()
    if threads > 0:
        torch.set_num_threads(threads)
    started = time.perf_counter()
    try:
        # periods after the last training period are never read; before the first one only the
        # adstock window matters (carry-over into the first fitted period)
        rows = np.nonzero(mask)[0]
        l_max = int(((model_s.get("media") or {}).get("l_max", 8)))
        index = np.arange(len(data.dates))
        keep = (index <= rows[-1]) & (index >= rows[0] - (l_max - 1))
        window_data = data.slice_time(keep)
        mask, weights = mask[keep], weights[:, keep]
        torch.manual_seed(seed)
        window = _window(mask, weights, float(train_s.get("validation_fraction", 0.1)))
        features = resolve_features(window_data, model_s)
        scalers = fit_scalers(window_data, features, window.fit_mask, model_s.get("target_scale", "level"),
                              int(model_s.get("knots", 32)), float(model_s.get("knot_margin", 0.25)),
                              float(model_s.get("free_knot_margin", 0.0)))
        cfg = _config(window_data, features, k, model_s)
        model = NAM(cfg, scalers)
        model.initialise(member_seeds(seed, k, init_mode))
        inputs = prepare_inputs(window_data, features, scalers, cfg.l_max, cfg.target_scale, dense_operators=True)
        ctx = _loss_context(model, inputs, window, window_data, model_s, loss_s)
        ctx.anneal = bool(loss_s.get("anneal_constraints", True)) and _has_annealed_terms(ctx)
        schedule = Schedule(train_s.get("strategy", "joint"), int(train_s.get("epochs", 400)), features,
                            model.layout.owners(), list(train_s.get("hybrid_schedule", [0.2, 0.3, 0.5])),
                            int(train_s.get("coordinate_steps", 10)))
        _init_bias(model, inputs, ctx)
        history = _train(model, inputs, ctx, schedule, train_s)
        seconds = time.perf_counter() - started
        history["seconds"] = np.array(seconds)
        log.info("fit_nam: %d model(s), %d periods (%d fitted, %d validation), %d epochs in %.2fs",
                 k, len(window_data.dates), window.n_fit, window.n_val, int(history["epochs_run"]), seconds)
        return FittedNAM.from_training(model, window_data, mask, settings, history, seed=seed)
    finally:
        torch.set_num_threads(previous_threads)
