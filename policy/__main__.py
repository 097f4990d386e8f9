"""prodstack's CrossGuard policy pack: `pulumi preview --policy-pack policy` on any program.

The policies live in prodstack.policies (one definition, also run offline by `prodstack check`).
"""

from pulumi_policy import PolicyPack

from prodstack.policies.crossguard import all_policies

PolicyPack(name="prodstack", policies=all_policies())
