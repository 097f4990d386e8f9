"""The offline engine: synthesize a Pulumi program's resource graph under the mock runtime."""

from prodstack.synth.encrypted import EncryptedPlaceholder
from prodstack.synth.engine import synthesize, synthesize_stack
from prodstack.synth.graph import Resource, ResourceGraph
from prodstack.synth.project import (
    Project,
    ProjectError,
    StackConfig,
    UnknownStackError,
    find_project,
    load_stack_config,
)
from prodstack.synth.values import Secret, Unknown

__all__ = [
    "EncryptedPlaceholder",
    "Project",
    "ProjectError",
    "Resource",
    "ResourceGraph",
    "Secret",
    "StackConfig",
    "Unknown",
    "UnknownStackError",
    "find_project",
    "load_stack_config",
    "synthesize",
    "synthesize_stack",
]
