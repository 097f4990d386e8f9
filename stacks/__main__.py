"""The prodstack program that `pulumi up -s <stack>` runs: validated config in, components out."""

import pulumi

from prodstack.config import load_environment
from prodstack.stack import build

for key, value in build(load_environment()).items():
    pulumi.export(key, value)
