"""Request bodies of the HTTP service, as pydantic models (they are the OpenAPI schema too).

Types, ranges and fixed choices are checked here, so a bad request is refused with 422
before any model runs; names that depend on the dataset (channels, scenarios) are checked by
the facade against the champion. Unknown fields are refused with the fields that exist, so a
misspelt ``total_budjet`` is not silently ignored.
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mmm_pipeline.core.hints import suggest


class UnknownField(ValueError):
    """A request names a field its body does not have; ``allowed`` lists those it has."""

    def __init__(self, field: str, allowed: list[str]) -> None:
        self.field, self.allowed = field, allowed
        super().__init__(f"unknown field '{field}'{suggest(field, allowed, '')}")


class Strict(BaseModel):
    """A request body that names its allowed fields when it meets an unknown one."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _known_fields(cls, value: Any) -> Any:
        if isinstance(value, dict):
            fields = list(cls.model_fields)
            for key in value:
                if key not in fields:
                    raise UnknownField(str(key), fields)
        return value


class PredictRequest(Strict):
    """A plan for future periods; everything left out keeps today's values."""

    periods: int | None = Field(None, ge=1, description="plan length in periods (default: the planning horizon)")
    spend: dict[str, float | list[float]] = Field(
        default_factory=dict,
        description="per channel: spend per period (one number for every period, or one per period); "
                    "channels left out keep their current run-rate")
    price_change: float = Field(0.0, gt=-1.0, le=10.0, description="relative list-price change, e.g. -0.05")
    discount_change: float = Field(0.0, ge=-0.95, le=0.95, description="absolute discount change, e.g. 0.1")


class ChannelBounds(Strict):
    lower: float | None = Field(None, ge=0, description="lowest spend per period")
    upper: float | None = Field(None, ge=0, description="highest spend per period")
    lower_pct: float | None = Field(None, ge=-1.0, description="lowest change from current spend, e.g. -0.5")
    upper_pct: float | None = Field(None, ge=-1.0, description="highest change from current spend, e.g. 1.0")


class LinearConstraintRequest(Strict):
    coefficients: dict[str, float] = Field(description="per channel, the weight of its horizon spend")
    lower: float | None = None
    upper: float | None = None
    name: str | None = None


class OptimizeRequest(Strict):
    """A planning question; ``{}`` plans the current budget with the dataset's settings."""

    total_budget: float | None = Field(None, gt=0, description="money over the horizon (default: current run-rate)")
    horizon_periods: int | None = Field(None, ge=1, le=1000, description="periods to plan (default: a quarter)")
    objective: Literal["conservative", "mean", "point"] | None = None
    bounds: dict[str, ChannelBounds] | None = None
    locked: list[str] | None = Field(None, description="channels held at current spend")
    exclude: list[str] | None = Field(None, description="channels that must not spend")
    linear_constraints: list[LinearConstraintRequest] | None = Field(None, max_length=50)
    margin: float | None = Field(None, gt=0, le=1, description="gross margin: optimise profit instead of revenue")
    plan_blocks: int | None = Field(None, ge=1, le=52, description="spend levels over the horizon (1: flat)")


class ScenarioRequest(Strict):
    """One ad-hoc scenario, replayed over the most recent periods (as in settings.scenarios)."""

    name: str = Field(min_length=1, max_length=100)
    description: str | None = Field(None, max_length=500)
    channels: dict[str, float] | None = Field(None, description="spend multiplier per channel, e.g. {TV: 0.8}")
    all_channels: float | None = Field(None, ge=0, description="multiplier for every channel not in `channels`")
    price_change: float | None = Field(None, gt=-1.0, le=10.0)
    discount_change: float | None = Field(None, ge=-0.95, le=0.95)
    discount_multiplier: float | None = Field(None, ge=0)
    events: dict[str, bool] | None = None
    periods: int | None = Field(None, ge=1)


class ScenariosRequest(Strict):
    names: list[str] | None = Field(None, description="stored scenarios to return (default: all when no `scenarios`)")
    scenarios: list[ScenarioRequest] = Field(default_factory=list, max_length=20)
