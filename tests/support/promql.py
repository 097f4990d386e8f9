"""Reading PromQL as Prometheus does (promql-parser, a port of Prometheus's parser)."""

from __future__ import annotations

import promql_parser


def metric_names(expr: str) -> set[str]:
    """Every metric name an expression selects; raises ValueError when it does not parse."""
    names: set[str] = set()

    def visit(node: promql_parser.Expr) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                names.add(node.name)
            names.update(m.value for m in node.matchers.matchers if m.name == "__name__")
        return True

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names
