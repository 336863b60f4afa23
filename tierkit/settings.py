"""Every setting tierkit reads from the environment, in one place.

Why one module: a setting read in six places drifts (two defaults, one undocumented name).
Here each has its name, its environment variable, its default and a line of help;
docs/settings.md lists them all, and a test checks that the two agree and that no other module
reads the environment. Workspace settings (tierkit.yaml) are the workspace's; these are the
process's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_LANG = "zh"  # the language of labels, cards and summaries unless a workspace says otherwise
LANGS = ("zh", "en")


@dataclass(frozen=True)
class Setting:
    name: str
    env: str
    default: str | None
    help: str

    def get(self) -> str | None:
        """The value from the environment, else the default ('' counts as not set)."""
        return os.environ.get(self.env) or self.default


SETTINGS: tuple[Setting, ...] = (
    Setting("workspace", "TIERKIT_WORKSPACE", ".", "the workspace folder when a command is given no --workspace"),
    Setting(
        "lock_timeout",
        "TIERKIT_LOCK_TIMEOUT",
        "600",
        "seconds a writing command waits for another one writing the same workspace before it gives up",
    ),
    Setting(
        "memory_limit",
        "TIERKIT_MEMORY_LIMIT",
        "2.5GB",
        "DuckDB's memory cap (e.g. 3GB, 500MB): past it DuckDB spills to disk instead of growing",
    ),
    Setting(
        "plan_cache",
        "TIERKIT_PLAN_CACHE",
        None,
        "the folder of compiled plans (DuckDB SQL by plan); `off` compiles every time; default: ~/.cache/tierkit/plans",
    ),
    Setting(
        "replay",
        "TIERKIT_REPLAY",
        "on",
        "`off`: a file-mode `tierkit grade` done once is graded whole again, not replayed from its transcript",
    ),
    Setting(
        "reasons",
        "TIERKIT_REASONS",
        "lean",
        "`full` writes each customer's whole reasons JSON into a result (rule texts, score names, tag actions, "
        "the values); `lean` only what the row's columns and the policy do not say (cards and exports show the whole)",
    ),
    Setting("spark_master", "TIERKIT_SPARK_MASTER", "local[2]", "the Spark master URL of `--engine spark`"),
    Setting(
        "spark_partitions",
        "TIERKIT_SPARK_PARTITIONS",
        "8",
        "spark.sql.shuffle.partitions of the Spark session (raise it on a cluster)",
    ),
    Setting(
        "spark_conf",
        "TIERKIT_SPARK_CONF",
        None,
        "more Spark properties for `--engine spark`, as key=value pairs separated by ';' (they win over "
        "tierkit's own and over spark-defaults.conf)",
    ),
    Setting(
        "database_url",
        "TIERKIT_DATABASE_URL",
        None,
        "the operational store (users, overrides, audit, contacts, jobs) as a SQLAlchemy URL; wins over "
        "the workspace's `database:`; default: tierkit.db (SQLite) in the workspace",
    ),
    Setting(
        "serve_workspace",
        "TIERKIT_SERVE_WORKSPACE",
        None,
        "set by `tierkit serve` for its worker processes: the workspace they serve",
    ),
    Setting(
        "serve_rate",
        "TIERKIT_SERVE_RATE",
        "100",
        "set by `tierkit serve --rate-limit`: requests per second per API key (per worker process)",
    ),
    Setting(
        "serve_burst", "TIERKIT_SERVE_BURST", "200", "set by `tierkit serve --burst`: requests allowed at once per key"
    ),
    Setting(
        "serve_lang",
        "TIERKIT_SERVE_LANG",
        DEFAULT_LANG,
        "set by `tierkit serve` from the workspace's `lang`: the language of the cards it serves",
    ),
    Setting(
        "serve_docs",
        "TIERKIT_SERVE_DOCS",
        "open",
        "the API's own documentation (/openapi.json, /docs, /redoc): open (no key), key (the schema "
        "to any role's key; no /docs) or off (not served)",
    ),
    Setting(
        "serve_telemetry",
        "TIERKIT_SERVE_TELEMETRY",
        "off",
        "FastAPI's own OpenTelemetry (traces, metrics and logs of each request to the providers "
        "configured in the process): on or off",
    ),
    Setting(
        "loop_interval",
        "TIERKIT_LOOP_INTERVAL",
        "30",
        "seconds between the ticks of `tierkit serve`'s background loop (scheduled gradings, ...)",
    ),
    Setting(
        "audit_retention_days",
        "TIERKIT_AUDIT_RETENTION_DAYS",
        None,
        "days the audit log keeps an entry (erasures always kept); `tierkit audit prune` and the server "
        "(daily) remove older ones; default: kept forever",
    ),
)
BY_NAME = {setting.name: setting for setting in SETTINGS}


def setting(name: str) -> str | None:
    """The current value of a setting by its name in SETTINGS."""
    return BY_NAME[name].get()


def environment_for(values: dict[str, str]) -> dict[str, str]:
    """Environment variables that hand settings to a child process (`tierkit serve`'s workers)."""
    return {BY_NAME[name].env: value for name, value in values.items()}
