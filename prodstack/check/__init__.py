"""Offline checks of a synthesized stack: policies, graph integrity and network flows."""

from prodstack.check.report import Problem, Report, check, subjects

__all__ = ["Problem", "Report", "check", "subjects"]
