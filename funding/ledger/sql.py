"""Named SQL files from the `sql` package, adapted per engine.

One file serves both engines: `TS(x)` marks a timestamp comparison (identity
on PostgreSQL; on SQLite, whose timestamps are ISO text of varying form, a
normalisation to `YYYY-MM-DD HH:MM:SS.SSS` so they compare as timestamps).
Parameters are written `:name`. The files are package data, read through
`importlib.resources`, so an installed wheel carries them.
"""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files

_TS = re.compile(r"\bTS\(([^()]*)\)")
_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@cache
def sql_text(name: str) -> str:
    resource = files("sql").joinpath(name)
    if not resource.is_file():
        raise FileNotFoundError(f"no SQL file {name!r} in the sql package")
    return resource.read_text(encoding="utf-8")


def render(name: str, dialect: str) -> str:
    """The statement in `name` for `dialect` ('postgresql' or 'sqlite')."""
    text = sql_text(name)
    if dialect == "sqlite":
        return _TS.sub(r"strftime('%Y-%m-%d %H:%M:%f', \1)", text)
    if dialect == "postgresql":
        # psycopg's paramstyle is pyformat: escape literal % first.
        text = _TS.sub(r"\1", text).replace("%", "%%")
        return _PARAM.sub(r"%(\1)s", text)
    raise ValueError(f"unsupported ledger dialect {dialect!r}")


def statements(name: str) -> list[str]:
    """The statements of a DDL file, split on semicolons at line ends.

    Function bodies quoted with $$ are kept whole.
    """
    parts, current, in_dollar = [], [], False
    for line in sql_text(name).splitlines():
        if line.strip().startswith("--") and not in_dollar:
            continue
        current.append(line)
        in_dollar ^= line.count("$$") % 2 == 1
        if not in_dollar and line.rstrip().endswith(";"):
            parts.append("\n".join(current).strip().rstrip(";"))
            current = []
    if "".join(current).strip():
        parts.append("\n".join(current).strip())
    return parts
