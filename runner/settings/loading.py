"""Finding the configuration file and loading it: the one entry point, `load_settings()`.

The file is `--config`, else `$RULE_RUNNER_CONFIG`, else `config/runner.yaml` under the working directory, else there
is none and the built-in defaults apply (embedded backend). A file is read as UTF-8 YAML (`YamlReader`), validated
(`Settings`), and every problem of both steps is raised at once as one `SettingsError`, in file order.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from runner.settings.errors import SettingsError, SettingsProblem
from runner.settings.messages import allowed_keys, settings_problems
from runner.settings.model import Settings
from runner.settings.reader import YamlReader

CONFIG_ENV = "RULE_RUNNER_CONFIG"
DEFAULT_CONFIG = Path("config") / "runner.yaml"


def load_settings(
    path: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """The settings from `path` (`--config`), else `$RULE_RUNNER_CONFIG`, else `config/runner.yaml` under `cwd` if
    it exists, else the built-in defaults (embedded backend). `env` feeds `${VAR}` and the lookup (default
    `os.environ`); `cwd` defaults to the working directory. Raises `SettingsError` listing every problem."""
    environ: Mapping[str, str] = os.environ if env is None else env
    base = Path(os.path.abspath(cwd if cwd is not None else Path.cwd()))
    if path is not None:
        shown, origin = str(path), ""
    elif environ.get(CONFIG_ENV):
        shown, origin = environ[CONFIG_ENV], f" (from {CONFIG_ENV})"
    elif (base / DEFAULT_CONFIG).is_file():
        shown, origin = str(DEFAULT_CONFIG), ""
    else:
        return Settings.model_validate({}, context={"base": base, "source": None})
    file = Path(os.path.abspath(base / Path(shown).expanduser()))
    if not file.is_file():
        reason = "not a file" if file.exists() else "not found"
        raise SettingsError([SettingsProblem(None, f"config file {reason}: {file}{origin}")])
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        message = f"cannot read config file {file}: not UTF-8 text ({err.reason})"
        raise SettingsError([SettingsProblem(None, message)]) from None
    except OSError as err:
        raise SettingsError([SettingsProblem(None, f"cannot read config file {file}: {err.strerror or err}")]) from None
    reader = YamlReader(text, shown, environ, allowed_keys(()) or ())
    data = reader.read()
    problems = list(reader.problems)
    settings: Settings | None = None
    try:
        settings = Settings.model_validate(data, context={"base": file.parent, "source": file})
    except ValidationError as err:
        problems.extend(settings_problems(err, reader))
    if problems or settings is None:
        raise SettingsError(problems)
    return settings


__all__ = ["CONFIG_ENV", "DEFAULT_CONFIG", "load_settings"]
