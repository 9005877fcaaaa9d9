"""Run in a subprocess from the store's folder: the schema of ``database.url`` as JSON.

Prints ``{"diffs": [...], "tables": {...}}`` where ``diffs`` is what Alembic's
autogenerate would still change to make the database match the store's models (so
``[]`` means the schema equals what the models declare) and ``tables`` is the
reflected schema, for assertions a reader can follow. It runs out of process so the
store's models (``users``, ``products``, ...) never enter the test process's shared
metadata.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from loom.core.config.loader import load_config
from loom.migrations import database_url, run_on_connection, target_metadata


def reflect(conn: sa.Connection) -> dict[str, Any]:
    inspector = sa.inspect(conn)
    tables: dict[str, Any] = {}
    for name in inspector.get_table_names():
        tables[name] = {
            "columns": {
                c["name"]: {
                    "type": c["type"].compile(dialect=conn.dialect),
                    "nullable": c["nullable"],
                }
                for c in inspector.get_columns(name)
            },
            "foreign_keys": sorted(
                [
                    fk["constrained_columns"],
                    f"{fk['referred_table']}.{','.join(fk['referred_columns'])}",
                    (fk.get("options") or {}).get("ondelete"),
                ]
                for fk in inspector.get_foreign_keys(name)
            ),
            "indexes": sorted(
                [ix["column_names"], bool(ix["unique"])] for ix in inspector.get_indexes(name)
            ),
            "unique_constraints": sorted(
                uc["column_names"] for uc in inspector.get_unique_constraints(name)
            ),
            "primary_key": inspector.get_pk_constraint(name)["constrained_columns"],
        }
    return tables


def main() -> None:
    cfg = load_config(sys.argv[1])
    metadata = target_metadata(cfg)

    def probe(conn: sa.Connection) -> dict[str, Any]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, metadata)
        return {"diffs": [repr(d) for d in diffs], "tables": reflect(conn)}

    print(json.dumps(run_on_connection(database_url(cfg), probe)))


if __name__ == "__main__":
    main()
