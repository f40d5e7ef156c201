"""The Elastic Common Schema as rule-runner knows it: field types (ECS 9.4.0) and the mapping they make.

A bottom layer, imported by the layers that need ECS (alert building, the backends' mappings); it imports nothing of
rule-runner's.
"""

from runner.ecs.fields import ecs_fields, ecs_version
from runner.ecs.mapping import ecs_mapping

__all__ = ["ecs_fields", "ecs_mapping", "ecs_version"]
