"""The Elastic Common Schema as rule-runner knows it: field types (ECS 9.4.0) and the mapping they make; and the
index templates (Elastic's integrations', users' own) that give a new index its mapping over ECS.

A bottom layer, imported by the layers that need ECS (alert building, the backends' mappings); it imports nothing of
rule-runner's but the bottom modules.
"""

from runner.ecs.fields import ecs_fields, ecs_version
from runner.ecs.mapping import ecs_mapping
from runner.ecs.templates import (
    SHIPPED,
    Template,
    TemplateError,
    Templates,
    data_stream_name,
    load_templates,
    mapping_for,
    shipped_templates,
    template_indices,
)

__all__ = ["SHIPPED", "Template", "TemplateError", "Templates", "data_stream_name", "ecs_fields", "ecs_mapping",
           "ecs_version", "load_templates", "mapping_for", "shipped_templates", "template_indices"]
