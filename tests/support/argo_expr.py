"""Evaluates the small subset of Argo Rollouts' condition language prodstack emits, the way
Argo's analysis controller judges a measurement (Successful, Failed or Inconclusive)."""

from __future__ import annotations

import math
import re
from typing import Any

_TRANSLATIONS = ((r"&&", " and "), (r"\|\|", " or "), (r"!(?!=)", " not "))


def evaluate(condition: str, result: list[float]) -> bool:
    expression = condition
    for pattern, replacement in _TRANSLATIONS:
        expression = re.sub(pattern, replacement, expression)
    if re.search(r"[^\w\s\.\[\]\(\)<>=!+\-*/]", expression):
        raise ValueError(f"unsupported condition {condition!r}")
    scope: dict[str, Any] = {"result": result, "len": len, "isNaN": math.isnan}
    return bool(
        eval(expression, {"__builtins__": {}}, scope)
    )  # the pattern above admits only this subset


def phase(success: str, failure: str, result: list[float]) -> str:
    """Argo's EvaluateResult with both conditions set."""
    if evaluate(failure, result):
        return "Failed"
    if evaluate(success, result):
        return "Successful"
    return "Inconclusive"
