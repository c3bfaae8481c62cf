"""The generating design of ``retail_daily``: categories, sub-categories, channels and sale days.

Kept apart from the generator so the numbers a reader wants to check (target ROAS, decay,
saturation, elasticities, media shares) sit in one table. Media is designed so recovery is a
real test: two channels clearly saturated (Sponsorship, Online marketing), one weak channel
(Content Marketing), ROAS from 0.3 to 4, Affiliates tied to Online marketing as in the DT Mart
data, Radio and Other dark in most months.
"""

from dataclasses import dataclass

import numpy as np

from mmm_pipeline.core.data.simulator_experiments import LiftTestDesign

RETAIL_SEED = 20220701
RETAIL_L_MAX = 14
CRORE = 1.0e7
START, END = "2022-07-01", "2025-06-30"
NOISE_COMMON_SD, NOISE_NODE_SD = 0.03, 0.06
SEASON_PEAK_DAY = 300.0  # late October: the festive season
#: past lift tests shipped with the data (experiments.csv): whole-market geo tests scaled to the
#: market, four weeks each, on three large channels the sales history alone cannot separate
RETAIL_EXPERIMENTS = (
    LiftTestDesign("TV", "2023-10-02", 28, 0.0),
    LiftTestDesign("Sponsorship", "2024-02-05", 28, 0.5),
    LiftTestDesign("Online marketing", "2024-06-03", 28, 0.0),
)
#: standard error of each measured lift as a share of its true size (a well-powered geo test)
RETAIL_EXPERIMENT_SE = (0.2, 0.25, 0.15)


@dataclass(frozen=True)
class CategoryDesign:
    """Per-category parameters in level units (1 = the category's mean daily level)."""

    name: str
    elasticity: float  # target mean own-price elasticity; the price coefficient is calibrated to it
    media_share: float  # media contribution / noiseless GMV
    trend_per_year: float
    season_amplitude: tuple[float, float]  # yearly harmonics 1 and 2, peaking in the festive season
    sale_effect: float  # on special-sale days, on top of the deeper discount
    nps_effect: float  # h(NPS) = nps_effect * tanh((NPS - 50) / 8)


@dataclass(frozen=True)
class NodeDesign:
    category: str
    name: str
    mrp: float  # reference list price, INR
    discount: float  # typical discount fraction
    weight: float  # share of the category's revenue


@dataclass(frozen=True)
class ChannelDesign:
    """One channel: how its monthly plan is drawn and how it drives sales (daily grain)."""

    name: str
    mean_crores: float  # typical monthly spend when on air
    p_on: float  # share of months on air
    budget_exponent: float  # how strongly it follows the shared seasonal budget
    idio_sd: float  # own month-to-month log noise
    decay: float  # geometric adstock decay per day
    slope: float  # Hill slope
    half_rel: float  # Hill half-saturation / mean non-zero daily spend
    roas: float  # design ROAS over the window (the coefficient is set to hit it)
    category_weights: tuple[float, float, float]  # share of effect per category (CATEGORIES order)
    blank_when_dark: bool = False  # written as an empty cell in dark months (DT Mart's Radio, Other)
    follows: str | None = None  # spend proportional to another channel's (Affiliates ~ Online marketing)


CATEGORIES = [
    CategoryDesign("Camera", -1.1, 0.22, 0.05, (0.10, 0.04), 0.35, 0.05),
    CategoryDesign("GamingHardware", -1.6, 0.26, 0.09, (0.08, 0.05), 0.45, 0.04),
    CategoryDesign("EntertainmentSmall", -2.2, 0.29, 0.06, (0.12, 0.03), 0.55, 0.07),
]

NODES = [
    NodeDesign("Camera", "DSLR", 42000, 0.18, 0.45),
    NodeDesign("Camera", "Lens", 24000, 0.15, 0.30),
    NodeDesign("Camera", "CameraAccessory", 1800, 0.35, 0.25),
    NodeDesign("GamingHardware", "GamingConsole", 32000, 0.12, 0.60),
    NodeDesign("GamingHardware", "GamingAccessory", 2600, 0.30, 0.40),
    NodeDesign("EntertainmentSmall", "Speaker", 3500, 0.32, 0.35),
    NodeDesign("EntertainmentSmall", "Headphones", 1900, 0.40, 0.40),
    NodeDesign("EntertainmentSmall", "HomeAudio", 9000, 0.25, 0.25),
]

CHANNELS = [
    ChannelDesign("TV", 5.0, 0.75, 1.0, 0.35, 0.85, 1.5, 0.8, 1.2, (0.25, 0.25, 0.50)),
    ChannelDesign("Digital", 2.5, 0.95, 0.8, 0.45, 0.6, 1.2, 1.5, 2.0, (0.35, 0.35, 0.30)),
    ChannelDesign("Sponsorship", 22.0, 0.9, 2.0, 0.40, 0.8, 1.0, 0.3, 0.5, (0.30, 0.30, 0.40)),
    ChannelDesign("Content Marketing", 0.8, 0.6, 0.5, 0.60, 0.4, 1.0, 2.0, 0.3, (0.50, 0.20, 0.30)),
    ChannelDesign("Online marketing", 16.0, 1.0, 0.7, 0.25, 0.5, 2.0, 0.5, 1.5, (0.35, 0.25, 0.40)),
    ChannelDesign("Affiliates", 5.5, 1.0, 0.0, 0.20, 0.3, 1.5, 1.2, 2.5, (0.30, 0.30, 0.40),
                  follows="Online marketing"),
    ChannelDesign("SEM", 6.5, 1.0, 1.2, 0.45, 0.2, 1.0, 2.5, 4.0, (0.40, 0.30, 0.30)),
    ChannelDesign("Radio", 1.5, 0.25, 1.0, 0.40, 0.75, 1.3, 1.0, 0.8, (0.20, 0.20, 0.60), blank_when_dark=True),
    ChannelDesign("Other", 10.0, 0.25, 1.0, 0.60, 0.5, 1.0, 0.7, 0.6, (0.33, 0.33, 0.34), blank_when_dark=True),
]

# (name, first day, days), following the Indian festival calendar of each year
SALES = [
    ("Eid & Rathayatra sale", "2022-07-09", 2), ("Rakshabandhan Sale", "2022-08-09", 3),
    ("Independence Sale", "2022-08-13", 3), ("Daussera sale", "2022-10-03", 3),
    ("Big Diwali Sale", "2022-10-17", 8), ("Christmas & New Year Sale", "2022-12-25", 10),
    ("Republic Day", "2023-01-20", 3), ("Valentine's Day", "2023-02-12", 3),
    ("Big Saving Days", "2023-03-17", 3), ("Summer Sale", "2023-05-12", 3),
    ("Eid & Rathayatra sale", "2023-06-28", 2), ("Independence Sale", "2023-08-13", 3),
    ("Rakshabandhan Sale", "2023-08-28", 3), ("Daussera sale", "2023-10-22", 3),
    ("Big Diwali Sale", "2023-11-05", 8), ("Christmas & New Year Sale", "2023-12-25", 10),
    ("Republic Day", "2024-01-20", 3), ("Valentine's Day", "2024-02-12", 3),
    ("Big Saving Days", "2024-03-15", 3), ("Summer Sale", "2024-05-10", 3),
    ("Eid & Rathayatra sale", "2024-06-16", 2), ("Independence Sale", "2024-08-13", 3),
    ("Rakshabandhan Sale", "2024-08-17", 3), ("Daussera sale", "2024-10-10", 3),
    ("Big Diwali Sale", "2024-10-25", 8), ("Christmas & New Year Sale", "2024-12-25", 10),
    ("Republic Day", "2025-01-20", 3), ("Valentine's Day", "2025-02-12", 3),
    ("Big Saving Days", "2025-03-14", 3), ("Summer Sale", "2025-05-09", 3),
    ("Eid & Rathayatra sale", "2025-06-06", 2),
]

# media budget by calendar month (Jan..Dec): festive Sep-Dec heavy, as in the DT Mart plan
BUDGET_PROFILE = np.array([1.0, 0.8, 1.2, 0.8, 1.0, 0.7, 0.7, 0.6, 1.3, 1.8, 1.1, 1.3])
