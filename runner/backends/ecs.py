"""The ECS mapping, for the backends' existing imports: it lives in `runner.ecs`, which alert building uses too."""

from runner.ecs import ecs_mapping, ecs_version

__all__ = ["ecs_mapping", "ecs_version"]
