"""A detector's decision about one plan field, with the evidence for it."""

from __future__ import annotations

from dataclasses import dataclass

from hivemind.models import Evidence
from hivemind.models.plan import DecisionSource


@dataclass(frozen=True)
class Decision:
    value: str | int | None
    reason: str
    file: str | None = None
    line: int | None = None
    source: DecisionSource = "detected"
    # a health path's decision also carries the other GET routes seen, for the smoke test
    routes: tuple[str, ...] = ()

    def evidence(self, field: str) -> Evidence:
        return Evidence(
            field=field, value=self.value, source=self.source, reason=self.reason, file=self.file, line=self.line
        )


Detection = dict[str, Decision]
# A detector's entries named "warning:<topic>" are not plan fields: their reasons become the plan's
# warnings (what may keep the app from working once deployed).
WARNING = "warning:"
# Entries named "required:<field>" say that the plan cannot work unless <field> has a value (from
# hivemind.toml or the request, when detection found none): their reason becomes the Plan's error.
REQUIRED = "required:"
# Entries named "env:<NAME>" are variables the app reads at start with no default (its evidence
# says where): the Plan stops naming those that the request does not give.
NEEDS_ENV = "env:"
# Entries named "set-env:<NAME>" are values HiveMind gives a variable the app reads (Django's
# allowed hosts behind the load balancer): the request's own value wins.
SETS_ENV = "set-env:"
# Entries named "stop:<topic>" are what makes the plan certain to fail once deployed (a setting that
# refuses every health check): their reason becomes the Plan's error, after the app's folder is found.
STOP = "stop:"


def default(value: str | int | None, reason: str) -> Decision:
    return Decision(value, reason, source="default")
