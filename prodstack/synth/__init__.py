"""The offline engine: synthesize a Pulumi program's resource graph under the mock runtime."""

from prodstack.synth.engine import synthesize, synthesize_stack
from prodstack.synth.graph import Resource, ResourceGraph
from prodstack.synth.project import Project, ProjectError, UnknownStackError, find_project
from prodstack.synth.values import Secret, Unknown

__all__ = [
    "Project",
    "ProjectError",
    "Resource",
    "ResourceGraph",
    "Secret",
    "Unknown",
    "UnknownStackError",
    "find_project",
    "synthesize",
    "synthesize_stack",
]
