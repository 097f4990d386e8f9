"""Helpers for the outputs components declare."""

from __future__ import annotations

from typing import TypeVar

import pulumi

T = TypeVar("T")


def known_after(resource: pulumi.Resource, value: T) -> pulumi.Output[T]:
    """A value known in advance (an object's explicit name) that resolves once ``resource`` is
    registered, so whatever consumes it also waits for the resource."""
    return resource.urn.apply(lambda _: value)
