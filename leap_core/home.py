"""Where LEAP keeps its embedded home when LEAP_HOME is not set: the same folder from any working directory.

The home used to be `./.leap`, relative to wherever the command ran, so `leap recordings list` outside
the repository found an empty database ("user not found: demo") and left a stray `.leap/` behind. Now:

1. `LEAP_HOME`, when set, always wins (pydantic reads it before this default is asked for);
2. else the home the last `leap init` recorded in the per-user config file (`~/.config/leap/home` on
   Linux), so `./scripts/dev`, which initialises `<repo>/.leap`, and the CLI anywhere else agree;
3. else the per-user data folder (`~/.local/share/leap` on Linux).

`leap init` run with DAGSTER_HOME also records that Dagster instance inside the home it set up, so
`leap admin pools` after `./scripts/dev` finds the instance without the variable being exported.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP = "leap"


def config_file() -> Path:
    """One line: the absolute path of the home `leap init` last set up. Honours XDG_CONFIG_HOME."""
    return platformdirs.user_config_path(APP) / "home"


def default_home() -> Path:
    recorded = config_file()
    if recorded.is_file():
        text = recorded.read_text(encoding="utf-8").strip()
        if text:
            return Path(text)
    return platformdirs.user_data_path(APP)


def remember_home(home: Path) -> Path:
    """Record `home` as the default for every later command without LEAP_HOME; returns the file written."""
    target = config_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(f"{home.expanduser().resolve()}\n", encoding="utf-8")
    return target


DAGSTER_HOME_FILE = "dagster_home"
"""In the LEAP home: one line, the DAGSTER_HOME `leap init` applied the pool limits to."""


def remember_dagster_home(leap_home: Path, dagster_home: str) -> None:
    """Record the Dagster instance `leap init` set up for this LEAP home."""
    leap_home.mkdir(parents=True, exist_ok=True)
    (leap_home / DAGSTER_HOME_FILE).write_text(f"{Path(dagster_home).expanduser().resolve()}\n", encoding="utf-8")


def recorded_dagster_home(leap_home: Path) -> str | None:
    """The Dagster instance `leap init` recorded for this LEAP home, if it still exists."""
    recorded = leap_home / DAGSTER_HOME_FILE
    if not recorded.is_file():
        return None
    text = recorded.read_text(encoding="utf-8").strip()
    return text if text and Path(text).is_dir() else None
