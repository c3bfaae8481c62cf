"""The torch wrapper of the simulator's true response must reproduce TrueModel exactly."""

import numpy as np
import torch

from mmm_pipeline.core.data.simulator import simulate_weekly
from mmm_pipeline.core.plan.true_response import HillMediaResponse

torch.set_num_threads(1)


def test_media_revenue_and_curves_match_the_simulator_truth():
    sim = simulate_weekly(seed=5, n_weeks=60)
    true = sim.true_model
    model = HillMediaResponse.from_true_model(true)
    history, plan = sim.spend[:40], sim.spend[40:]
    ours = model.media_revenue(torch.as_tensor(history), torch.as_tensor(plan)).numpy()[0]
    theirs = true.media_contribution(plan, history=history)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)
    grid = np.linspace(0, 2 * sim.spend.max(), 11)
    for ch in true.channels:
        np.testing.assert_allclose(model.response_curve(ch, grid)[0], true.response_curve(ch, grid), rtol=1e-10)
        mid = float(np.median(sim.spend[:, true.channel_index(ch)]) + 1.0)
        np.testing.assert_allclose(
            model.marginal_response(np.full(len(true.channels), mid))[0, true.channel_index(ch)],
            true.marginal_roas(ch, mid), rtol=1e-8,
        )


def test_batched_plans_and_members_are_independent():
    rng = np.random.default_rng(0)
    k, c = 3, 2
    model = HillMediaResponse(["a", "b"], rng.uniform(0.1, 0.6, (k, c)), rng.uniform(50, 100, (k, c)),
                              rng.uniform(0.8, 2.0, (k, c)), rng.uniform(100, 300, (k, c)), l_max=4)
    history = torch.as_tensor(rng.uniform(0, 100, (10, c)))
    plans = torch.as_tensor(rng.uniform(0, 100, (k, 5, c)))
    batched = model.media_revenue(history, plans)
    for j in range(k):
        single = model.member(j).media_revenue(history, plans[j])
        np.testing.assert_allclose(batched[j].numpy(), single[0].numpy(), rtol=1e-12)


def test_returns_are_each_channels_revenue_and_marginal_revenue_over_its_spend(media_data, replicate_model):
    spend = media_data.spend
    roas, mroas = replicate_model.returns(spend)
    assert roas.shape == mroas.shape == (replicate_model.n_models, spend.shape[1])
    empty = torch.zeros(0, spend.shape[1], dtype=torch.float64)
    step = 1e-6
    for c in range(spend.shape[1]):
        alone = np.zeros_like(spend)
        alone[:, c] = spend[:, c]  # other channels dark: their Hill terms are zero
        revenue = replicate_model.media_revenue(empty, torch.as_tensor(alone)).numpy().sum(axis=1)
        np.testing.assert_allclose(roas[:, c], revenue / spend[:, c].sum(), rtol=1e-9)
        more = replicate_model.media_revenue(empty, torch.as_tensor(alone * (1 + step))).numpy().sum(axis=1)
        np.testing.assert_allclose(mroas[:, c], (more - revenue) / (step * spend[:, c].sum()), rtol=1e-4)
