"""The YAML configuration: which backend, where the rules are, how alerts are written and how the scheduler runs.

`load_settings()` finds the file (`--config`, else `$RULE_RUNNER_CONFIG`, else `config/runner.yaml` under the working
directory, else built-in defaults with the embedded backend), reads it with PyYAML keeping every node's position,
replaces `${VAR}` / `${VAR:-default}` in string values from the environment (`$$` is a literal `$`), and validates
the result with the pydantic models. Every problem is collected and raised at once as a `SettingsError`, each naming
the file, the dotted key (`rules.overrides.<rule_id>.interval`) and the line:column, in our own words: pydantic's
default messages echo the input, and the input may be a secret.

The package, by job:

- `model`: the sections as frozen pydantic models (`Settings` and one class per section), with `values`, the types
  of their values and the checks on them (durations, paths, hosts, URLs, index names);
- `reader`: YAML text to plain data with the position of every key and value, and interpolation;
- `credentials`: secrets, checked and read at load time and masked wherever settings are shown;
- `errors` and `messages`: `SettingsError`, and pydantic's errors in our words at their place in the file (through
  `runner.problems`, the translation the rule loader shares);
- `loading`: `load_settings()`, which finds the file and puts the others together.

Other packages import from here only.
"""

from runner.settings.errors import SettingsError, SettingsProblem
from runner.settings.loading import load_settings
from runner.settings.model import (
    AlertsSettings,
    ElasticsearchSettings,
    EmbeddedSettings,
    KibanaSettings,
    LoggingSettings,
    RuleOverride,
    RuleSelector,
    RulesSettings,
    SchedulerSettings,
    Settings,
)

__all__ = [
    "AlertsSettings",
    "ElasticsearchSettings",
    "EmbeddedSettings",
    "KibanaSettings",
    "LoggingSettings",
    "RuleOverride",
    "RuleSelector",
    "RulesSettings",
    "SchedulerSettings",
    "Settings",
    "SettingsError",
    "SettingsProblem",
    "load_settings",
]
