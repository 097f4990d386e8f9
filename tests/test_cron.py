"""CronJob schedules: prodstack accepts what the Kubernetes CronJob controller accepts.

Kubernetes validates ``spec.schedule`` with robfig/cron v3's ``ParseStandard`` (kubernetes
pkg/apis/batch/validation ``validateScheduleFormat``) and refuses any ``TZ`` in it. The
``ROBFIG`` table gives, for each schedule, what robfig/cron v3.0.1 does with it, read from its
parser.go (``Parse``, ``normalizeFields``, ``getRange``, ``parseIntOrName``, ``mustParseInt``,
``parseDescriptor``) and spec.go (``bounds``): the cases cover every branch of those functions.
"""

from __future__ import annotations

import pytest

from prodstack.config import ConfigError, parse_environment
from prodstack.config.cron import check_schedule
from tests.support.stacks import key, svc, varied

# (schedule, robfig v3 accepts it)
ROBFIG = [
    ("0 2 * * *", True),
    ("*/5 * * * *", True),
    ("0 0 1-31 * *", True),
    ("0-59/15 0-23/2 1-31/3 1-12/4 0-6/2", True),
    ("5/10 * * * *", True),  # "N/step" is N-max/step
    ("*/90 * * * *", True),  # a step beyond the range is allowed
    ("0 0 * jan/2 *", True),
    ("0 0 * JAN-DEC *", True),  # names in any case
    ("0 0 * * mon-fri", True),
    ("0 0 * * SUN,sat", True),
    ("? ? ? ? ?", True),  # '?' is '*' in every field
    ("0 0 1,15 * *", True),
    ("05 07 * * *", True),  # leading zeros
    ("  0  2 * *\t*  ", True),  # fields split on whitespace
    ("@yearly", True),
    ("@annually", True),
    ("@monthly", True),
    ("@weekly", True),
    ("@daily", True),
    ("@midnight", True),
    ("@hourly", True),
    ("", False),  # empty spec string
    ("@DAILY", False),  # descriptors match exactly
    ("@daily ", False),
    (" @daily", False),
    ("@reboot", False),
    ("0 25 * * *", False),  # end of range above maximum
    ("61 * * * *", False),
    ("0 0 0 * *", False),  # below minimum
    ("0 0 * 0 *", False),
    ("0 0 * 13 *", False),
    ("* * * * 7", False),  # day of week is 0-6
    ("*/0 * * * *", False),  # step of range should be a positive number
    ("1-59/0 * * * *", False),
    ("5-1 * * * *", False),  # beginning of range beyond end
    ("0 0 * * sat-sun", False),
    ("-1 * * * *", False),
    ("1- * * * *", False),
    ("1-2-3 * * * *", False),  # too many hyphens
    ("1/2/3 * * * *", False),  # too many slashes
    ("0x5 * * * *", False),
    ("jan * * * *", False),  # names only in month and day of week
    ("0 0 * * jan", False),
    ("0 0 L * *", False),
    ("0 0 1W * *", False),
    ("* * * * 1#2", False),
    ("* * * *", False),  # exactly 5 fields
    ("0 0 2 * * *", False),  # no seconds field in the standard parser
    ("TZ=UTC 0 2 * * *", False),  # Kubernetes refuses TZ in the schedule
    ("CRON_TZ=Europe/Berlin 0 2 * * *", False),
]

# Where prodstack is stricter than robfig, on purpose (prodstack/config/cron.py says why).
STRICTER = {
    "@every 1h": "@every is not a calendar schedule",
    "*-5 * * * *": "is not a list of",
    "1,,2 * * * *": "is not a list of",
    ", * * * *": "is not a list of",
    "+5 * * * *": "is not a cron schedule",
    "0 0 30 2 *": "never runs",
    "0 0 31 4,6,9,11 *": "never runs",
}


@pytest.mark.parametrize(("schedule", "accepted"), ROBFIG)
def test_accepts_what_the_cronjob_controller_accepts(schedule: str, accepted: bool) -> None:
    if accepted:
        assert check_schedule(schedule) == schedule
    else:
        with pytest.raises(ValueError):
            check_schedule(schedule)


@pytest.mark.parametrize(("schedule", "reason"), sorted(STRICTER.items()))
def test_refuses_what_is_almost_certainly_a_mistake(schedule: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        check_schedule(schedule)


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("0 25 * * *", "'0 25 * * *': the hour field '25': 25 is outside 0-23"),
        ("*/0 * * * *", "the minute field '*/0': a step must be at least 1"),
        ("61 * * * *", "the minute field '61': 61 is outside 0-59"),
        ("* * * * 7", "7 is outside 0-6 (Sunday is 0)"),
        ("0 0 * * sat-sun", "the range sat-sun runs backwards"),
        ("0 0 2 * * *", "has 6 field(s), not 5"),
    ],
)
def test_messages_name_the_field_and_the_fix(schedule: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_schedule(schedule)
    assert message in str(caught.value)


def test_a_huge_schedule_is_not_echoed_whole() -> None:
    with pytest.raises(ValueError) as caught:
        check_schedule("1," * 10_000 + "1 * * * *")
    assert len(str(caught.value)) < 300


@pytest.mark.parametrize("job", ["backup", "restoreCheck"])
def test_the_stack_reports_a_bad_schedule_at_its_key(job: str) -> None:
    def change(raw: dict[str, object]) -> None:
        svc(raw)["dbBackup"].setdefault(job, {})["schedule"] = "0 25 * * *"

    with pytest.raises(ConfigError) as caught:
        parse_environment(varied("staging", change))
    problems = dict(caught.value.problems)
    assert problems[key(f"dbBackup.{job}.schedule")].endswith("25 is outside 0-23")
