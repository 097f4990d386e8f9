"""The Pulumi program: the stack configuration in, prodstack's components out.

`pulumi up -s dev` runs it, and so do `prodstack render dev` and `prodstack check dev` (offline).
"""

import pulumi

from prodstack.config import load_environment
from prodstack.stack import build

for key, value in build(load_environment()).items():
    pulumi.export(key, value)
