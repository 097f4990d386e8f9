"""CronJob schedules, accepted only when the Kubernetes CronJob controller accepts them.

Kubernetes parses ``spec.schedule`` with robfig/cron v3's standard parser (kubernetes
pkg/apis/batch/validation ``validateScheduleFormat``: ``cron.ParseStandard``, and any ``TZ`` in
the schedule refused): five fields, or one of the descriptors. robfig/cron v3.0.1 parser.go and
spec.go fix the grammar: fields split on whitespace; each a comma-separated list of ``*``,
``?`` (the same as ``*``), ``N`` or ``N-M``, optionally ``/step``; names (``jan``-``dec``,
``sun``-``sat``, any case) in the month and day-of-week fields only; minute 0-59, hour 0-23,
day of month 1-31, month 1-12, day of week 0-6; a step of at least 1; a range that does not
run backwards. Descriptors match exactly (``@daily``, not ``@daily `` or ``@DAILY``).

The fields are evaluated with cronsim (a maintained parser that computes the runs); it also
knows ``L``, ``W``, ``#`` and a day-of-week 7, which robfig refuses, so those are refused here
first. prodstack is stricter than robfig in five places, each a schedule that is almost
certainly a mistake (tests/test_cron.py pins every case): ``@every <duration>`` (not a calendar
schedule: write the five fields), a range from ``*`` (``*-5``, which robfig reads as ``*``),
empty list items (``1,,2``), a sign (``+5``), and a schedule that never runs (``0 0 30 2 *``).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from cronsim import CronSim, CronSimError

from prodstack.config.types import shown

DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day-of-month", 1, 31),
    ("month", 1, 12),
    ("day-of-week", 0, 6),
)
_NAMES = {
    "month": ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
    "day-of-week": ("sun", "mon", "tue", "wed", "thu", "fri", "sat"),
}
_VALUE = r"[0-9]{1,4}|[A-Za-z]{3}"
_TERM = re.compile(
    rf"^(?:[*?]|(?P<low>{_VALUE})(?:-(?P<high>{_VALUE}))?)(?:/(?P<step>[0-9]{{1,4}}))?$"
)
_CHARACTERS = re.compile(r"^[0-9A-Za-z*?/,\- \t]*$")
MAX_LENGTH = 200
EXAMPLE = (
    "write five fields (minute hour day-of-month month day-of-week, e.g. '0 2 * * *') or @daily"
)


def check_schedule(value: str) -> str:
    """The schedule unchanged, or ValueError saying what Kubernetes would refuse and the fix."""
    if "TZ" in value:
        raise ValueError("put the time zone in timeZone, not in the schedule")
    if value.startswith("@"):
        if value in DESCRIPTORS:
            return value
        if value.startswith("@every"):
            raise ValueError(
                f"{shown(value)}: @every is not a calendar schedule; write the five fields "
                "(e.g. '0 */6 * * *' for every 6 hours)"
            )
        raise ValueError(
            f"{shown(value)} is not a cron descriptor; use one of {', '.join(DESCRIPTORS)}"
        )
    if len(value) > MAX_LENGTH or _CHARACTERS.match(value) is None:
        raise ValueError(f"{shown(value)} is not a cron schedule; {EXAMPLE}")
    fields = value.split()
    if len(fields) != len(FIELDS):
        raise ValueError(
            f"{shown(value)} has {len(fields)} field(s), not {len(FIELDS)}; {EXAMPLE} "
            "(Kubernetes has no seconds field)"
        )
    for text, (name, low, high) in zip(fields, FIELDS, strict=True):
        _check_field(value, text, name, low, high)
    try:
        CronSim(value.replace("?", "*"), datetime(2000, 1, 1, tzinfo=timezone.utc))
    except CronSimError as exc:
        field = str(exc).removeprefix("Bad ")
        if field == "day-of-month":
            raise ValueError(
                f"{shown(value)} never runs: no month it names has that day of the month"
            ) from None
        raise ValueError(f"{shown(value)}: bad {field} field") from None  # pragma: no cover
    return value


def _check_field(value: str, text: str, name: str, low: int, high: int) -> None:
    where = f"{shown(value)}: the {name} field {shown(text)}"
    for term in text.split(","):
        match = _TERM.match(term)
        if match is None:
            raise ValueError(
                f"{where} is not a list of *, N, N-M or those with /step (Kubernetes' cron "
                "knows no L, W or #)"
            )
        bounds = [match["low"], match["high"]] if match["low"] else []
        numbers = [_number(part, name, where) for part in bounds if part is not None]
        for number in numbers:
            if not low <= number <= high:
                sunday = " (Sunday is 0)" if name == "day-of-week" else ""
                raise ValueError(f"{where}: {number} is outside {low}-{high}{sunday}")
        if len(numbers) == 2 and numbers[0] > numbers[1]:
            raise ValueError(f"{where}: the range {term} runs backwards")
        if match["step"] is not None and int(match["step"]) == 0:
            raise ValueError(f"{where}: a step must be at least 1")


def _number(part: str, name: str, where: str) -> int:
    if part.isdigit():
        return int(part)
    names = _NAMES.get(name, ())
    if part.lower() not in names:
        known = f" (names here: {', '.join(names)})" if names else " (names: months, days)"
        raise ValueError(f"{where}: {part!r} is not a number{known}")
    return names.index(part.lower()) + (1 if name == "month" else 0)
