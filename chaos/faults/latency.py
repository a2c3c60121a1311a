"""A slow but correct answer.

The delay is fixed (`ms`) or drawn from a distribution with the engine's seeded
generator, so two runs with the same seed sleep the same. Every delay is capped
at 60 s: a longer one would outlive the server's worker timeout and turn into
a different fault.

The wait is `exchange.hold`: when the process already holds its share of slow
requests, or chaos is disabled meanwhile, the answer comes at once instead.
"""
import math

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from .base import Exchange, Fault
from ..fields import Number, WholeNumber

MAX_MS = 60_000
_ms = dict(validate=validate.Range(0, MAX_MS))  # whole milliseconds


class LatencySettings(Schema):
    ms = WholeNumber(**_ms)
    distribution = fields.String(validate=validate.OneOf(["uniform", "lognormal"]))
    min_ms = WholeNumber(**_ms)
    max_ms = WholeNumber(**_ms)
    median_ms = WholeNumber(**_ms)
    sigma = Number(validate=validate.Range(0, 5))
    # The settings each distribution takes, all required (the OpenAPI document gives
    # each shape its own branch from this); min_ms <= max_ms is checked below only.
    SHAPES = {None: ("ms",), "uniform": ("min_ms", "max_ms"),
              "lognormal": ("median_ms", "sigma")}

    @validates_schema
    def one_shape(self, data, **_kwargs):
        needs = self.SHAPES[data.get("distribution")]
        for name in needs:
            if name not in data:
                raise ValidationError("required for this distribution", name)
        for name in set(data) - set(needs) - {"distribution"}:
            raise ValidationError("not a setting of this distribution", name)
        if data.get("min_ms", 0) > data.get("max_ms", MAX_MS):
            raise ValidationError("must not exceed max_ms", "min_ms")


class LatencyFault(Fault):
    type = "latency"
    Settings = LatencySettings

    def __init__(self, ms=None, distribution=None, min_ms=None, max_ms=None,
                 median_ms=None, sigma=None):
        self.ms, self.distribution = ms, distribution
        self.min_ms, self.max_ms, self.median_ms, self.sigma = min_ms, max_ms, median_ms, sigma

    def delay_ms(self, rng) -> float:
        if self.distribution == "uniform":
            drawn = rng.uniform(self.min_ms, self.max_ms)
        elif self.distribution == "lognormal":
            drawn = rng.lognormvariate(math.log(max(self.median_ms, 1e-3)), self.sigma)
        else:
            drawn = self.ms
        return min(drawn, MAX_MS)

    def inject(self, exchange: Exchange):
        exchange.hold(self.delay_ms(exchange.rng) / 1000)
        return exchange.forward()  # in full, cut short or refused: the answer is the same
