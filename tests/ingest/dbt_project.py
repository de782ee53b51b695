"""A small dbt project (names of our own) built with the real dbt-core + dbt-duckdb (`make dbt-env`,
venv .venv-dbt), offline: `dbt seed`, `dbt run`, `dbt docs generate` write target/manifest.json
(schema v12) and target/catalog.json. Shared by the tests/ingest/test_dbt*.py modules.

What it exercises: a seed and a source (a table the project's on-run-start hook creates) as
tables; a view with documented columns; an ephemeral model selecting `*` from the view; a table
model aggregating through a macro over that ephemeral model; a view selecting `*` from the view;
a view with unqualified columns over a join of a model and a seed; a `{% for %}` loop.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT = REPO_ROOT / ".venv-dbt" / "bin" / "dbt"

PROJECT = {
    "dbt_project.yml": (
        "name: desk_book\nversion: '1.0'\nconfig-version: 2\nprofile: desk_book\n"
        "model-paths: ['models']\nseed-paths: ['seeds']\nmacro-paths: ['macros']\n"
        'on-run-start:\n  - "create table if not exists main.trade_events (event_id integer, '
        'book varchar, amount decimal(18, 2))"\n'
    ),
    "profiles.yml": (
        "desk_book:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: book.duckdb\n      threads: 1\n"
    ),
    "seeds/raw_fills.csv": "fill_id,desk,qty,px,ccy\n1,rates,10,99.5,USD\n2,fx,5,1.1,EUR\n",
    "seeds/fx_rates.csv": "ccy,usd_rate\nUSD,1.0\nEUR,1.08\n",
    "models/schema.yml": (
        "version: 2\nmodels:\n  - name: stg_fills\n    description: Fills, cleaned\n"
        "    columns:\n      - name: fill_id\n        description: The fill key\n        tests: [not_null]\n"
        "      - name: notional\n        description: Quantity times price\n"
    ),
    "models/sources.yml": (
        "version: 2\nsources:\n  - name: ops\n    schema: main\n    description: Operational store\n"
        "    tables:\n      - name: trade_events\n        description: One row per booking event\n"
        "        columns:\n          - name: amount\n            description: Booked amount\n"
    ),
    "macros/cents.sql": "{% macro to_cents(col) %}({{ col }} * 100){% endmacro %}\n",
    "models/staging/stg_fills.sql": (
        "{{ config(materialized='view') }}\nselect\n    fill_id,\n    lower(desk) as desk,\n"
        "    qty * px as notional,\n    ccy\nfrom {{ ref('raw_fills') }}\n"
    ),
    "models/staging/stg_events.sql": (
        "select\n    event_id,\n    book,\n    amount\nfrom {{ source('ops', 'trade_events') }}\n"
    ),
    "models/staging/usd_fills.sql": (
        "{{ config(materialized='ephemeral') }}\nselect * from {{ ref('stg_fills') }} where ccy = 'USD'\n"
    ),
    "models/marts/desk_notional.sql": (
        "{{ config(materialized='table') }}\nselect\n    desk,\n    sum({{ to_cents('notional') }}) as notional_cents\n"
        "from {{ ref('usd_fills') }}\ngroup by desk\n"
    ),
    "models/marts/fills_all.sql": "select * from {{ ref('stg_fills') }}\n",
    "models/marts/fills_usd.sql": (
        "select\n    fill_id,\n    notional * usd_rate as notional_usd\n"
        "from {{ ref('stg_fills') }}\njoin {{ ref('fx_rates') }} using (ccy)\n"
    ),
    "models/marts/desk_flags.sql": (
        "{% set desks = ['rates', 'fx'] %}\nselect\n    fill_id,\n"
        "    {% for d in desks %}\n    case when desk = '{{ d }}' then 1 else 0 end as is_{{ d }},\n"
        "    {% endfor %}\n    notional\nfrom {{ ref('stg_fills') }}\n"
    ),
}


EXTRA = {
    # a snapshot block and an incremental model: each is its relation, with lineage
    "snapshots/fills_snap.sql": (
        "{% snapshot fills_snap %}\n{{ config(target_schema='main', unique_key='fill_id', "
        "strategy='check', check_cols=['qty']) }}\nselect\n    fill_id,\n    desk,\n    qty\n"
        "from {{ ref('raw_fills') }}\n{% endsnapshot %}\n"
    ),
    "models/marts/fills_inc.sql": (
        "{{ config(materialized='incremental', unique_key='fill_id') }}\nselect\n    fill_id,\n"
        "    notional\nfrom {{ ref('stg_fills') }}\n{% if is_incremental() %}\n"
        "where fill_id > (select max(fill_id) from {{ this }})\n{% endif %}\n"
    ),
    # two snapshots declared in one YAML file (dbt >= 1.9)
    "snapshots/snaps.yml": (
        "snapshots:\n  - name: events_snap\n    relation: source('ops', 'trade_events')\n    config:\n"
        "      unique_key: amount\n      strategy: check\n      check_cols: all\n"
        "  - name: rates_snap\n    relation: ref('fx_rates')\n    config:\n      unique_key: ccy\n"
        "      strategy: check\n      check_cols: all\n"
    ),
    # a model reading the snapshot's validity column (dbt's snapshot materialisation adds it)
    "models/marts/fills_current.sql": (
        "select\n    fill_id,\n    dbt_valid_from as booked_from\nfrom {{ ref('fills_snap') }}\n"
        "where dbt_valid_to is null\n"
    ),
    # SELECT * from a source whose YAML documents some columns, and from one that documents none
    "models/staging/events_all.sql": "select * from {{ source('ops', 'trade_events') }}\n",
    "models/ref_sources.yml": (
        "version: 2\nsources:\n  - name: refdata\n    schema: main\n    tables:\n      - name: books\n"
    ),
    "models/staging/books_all.sql": "select\n    *\nfrom {{ source('refdata', 'books') }}\n",
    # a syntax error on a line a loop moved (compiled line 9 is raw line 7)
    "models/marts/broken.sql": (
        "{{ config(materialized='table') }}\n{% set cols = ['fill_id', 'desk'] %}\nselect\n"
        "    {% for c in cols %}\n    {{ c }},\n    {% endfor %}\n    (qty * ) as bad\n"
        "from {{ ref('raw_fills') }}\n"
    ),
    # a column the upstream model does not have, on the fourth line
    "models/marts/typo.sql": (
        "{{ config(materialized='view') }}\nselect\n    fill_id,\n    notinal * 2 as double_notional\n"
        "from {{ ref('stg_fills') }}\n"
    ),
}
"""Models added to PROJECT by ``build_extra`` (`dbt compile` only: no catalog, one model broken)."""


_BUILT: dict[str, Path] = {}


def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project after `dbt seed`, `dbt run`, `dbt docs generate` (dbt's own artifacts), built
    once per test session (each test module's `dbt_project` fixture calls this)."""
    if "root" in _BUILT:
        return _BUILT["root"]
    assert DBT.exists(), f"dbt is not installed at {DBT} (make dbt-env)"
    root = tmp_path_factory.mktemp("dbt") / "desk_book"
    for rel, text in PROJECT.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    for cmd in (["seed"], ["run"], ["docs", "generate"]):
        run_dbt(root, *cmd)
    assert (root / "target" / "manifest.json").exists() and (root / "target" / "catalog.json").exists()
    _BUILT["root"] = root
    return root


def build_extra(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """PROJECT plus EXTRA after `dbt compile` alone (manifest with compiled code, no catalog,
    nothing run), built once per test session."""
    if "extra" in _BUILT:
        return _BUILT["extra"]
    assert DBT.exists(), f"dbt is not installed at {DBT} (make dbt-env)"
    root = tmp_path_factory.mktemp("dbt_extra") / "desk_book"
    for rel, text in {**PROJECT, **EXTRA}.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    run_dbt(root, "compile")
    assert (root / "target" / "manifest.json").exists() and not (root / "target" / "catalog.json").exists()
    _BUILT["extra"] = root
    return root


def run_dbt(root: Path, *args: str) -> None:
    """The real dbt, offline, on the project at ``root`` (its own profiles.yml)."""
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(root),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
        "DBT_VERSION_CHECK": "false",
    }
    done = subprocess.run([str(DBT), *args], cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def copy_project(src: Path, dest: Path, *, sql_files: bool = True) -> Path:
    """The project as a user would hand it over (no database file); without the raw `.sql`
    files when ``sql_files`` is false (only dbt's artifacts and YAML)."""
    skip = ["*.duckdb", "*.wal", "*.gpickle", "*.msgpack"]
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(*skip))
    if not sql_files:
        for p in dest.rglob("*.sql"):
            if "target" not in p.relative_to(dest).parts:
                p.unlink()
    return dest


def manifest(root: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((root / "target" / "manifest.json").read_text())
    return doc


def raw_line(text: str, needle: str) -> int:
    """1-based line of the first line of ``text`` containing ``needle``."""
    return next(i for i, ln in enumerate(text.split("\n"), 1) if needle in ln)
