"""prodstack's CrossGuard pack; Pulumi runs this file (``python -m pulumi.policy``).

The policies live in prodstack.policies (one definition, also run offline by `prodstack check`).
"""

from pulumi_policy import Policy, PolicyPack

from prodstack.policies.crossguard import all_policies

policies: list[Policy] = [*all_policies()]
PolicyPack(name="prodstack", policies=policies)
