"""The dbt project of tests/ingest/test_dbt_stranger.py (names of our own), built with the real
dbt-core + dbt-duckdb offline (`dbt deps` of a local package, `dbt build` twice, `dbt docs
generate`), once per test session: the features public dbt projects use that the first project
(dbt_project.py) does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.dbt_project import copy_project, run_dbt

STRANGER = {
    "dbt_project.yml": """name: treasury
version: '1.0'
config-version: 2
profile: treasury
model-paths: ['models']
seed-paths: ['seeds']
macro-paths: ['macros']
snapshot-paths: ['snapshots']
analysis-paths: ['analyses']
vars:
  min_amount: 10
  currencies: ['USD', 'EUR']
on-run-start:
  - "create schema if not exists landing"
  - 'create table if not exists landing."CashMoves" (move_id integer, acct varchar, amt decimal(18, 2), ccy varchar, moved_at timestamp)'
seeds:
  treasury:
    +schema: ref_data
    accounts:
      +column_types:
        acct_id: varchar(12)
        opened_on: date
models:
  treasury:
    +materialized: view
""",
    "profiles.yml": "treasury:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: vault.duckdb\n      threads: 1\n",
    "macros/generate_schema_name.sql": """{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
""",
    "seeds/accounts.csv": "acct_id,acct_name,opened_on\nA1,Operating,2020-01-01\nB2,Payroll,2021-06-30\n",
    "seeds/seeds.yml": """version: 2
seeds:
  - name: accounts
    description: '{{ doc("accounts_doc") }}'
    columns:
      - name: acct_id
        description: '{{ doc("acct_desc") }}'
""",
    "models/docs.md": """{% docs acct_desc %}
The ledger account a cash move is booked to.
{% enddocs %}

{% docs accounts_doc %}
Chart of ledger accounts, one row each.
{% enddocs %}

{% docs moves_doc %}
Cash moves, one row per movement,
above the minimum amount.
{% enddocs %}
""",
    "models/sources.yml": """version: 2
sources:
  - name: landing
    schema: landing
    quoting:
      identifier: true
    tables:
      - name: cash_moves
        identifier: CashMoves
        description: Raw cash moves as landed
        columns:
          - name: amt
            description: Signed amount
""",
    "models/staging/stg_moves.sql": """{{ config(
    pre_hook="select 1 as pre_hook_ran",
    post_hook=["select 2 as post_hook_ran"]
) }}
{% call set_sql_header(config) %}
set enable_progress_bar = false;
{% endcall %}
select
    move_id,
    upper(acct) as acct_id,
    amt as amount,
    ccy,
    moved_at
from {{ source('landing', 'cash_moves') }}
where amt >= {{ var('min_amount') }}
""",
    "models/staging/staging.yml": """version: 2
models:
  - name: stg_moves
    description: '{{ doc("moves_doc") }}'
    columns:
      - name: move_id
        tests: [not_null, unique]
      - name: acct_id
        description: '{{ doc("acct_desc") }}'
""",
    "models/staging/eph_usd.sql": """{{ config(materialized='ephemeral') }}
select * from {{ ref('stg_moves') }} where ccy = 'USD'
""",
    "models/staging/eph_big.sql": """{{ config(materialized='ephemeral') }}
select
    move_id,
    acct_id,
    amount * 100 as amount_cents
from {{ ref('eph_usd') }}
where amount > 1000
""",
    "models/marts/big_usd.sql": """{{ config(materialized='table') }}
select
    acct_id,
    sum(amount_cents) as total_cents
from {{ ref('eph_big') }}
group by acct_id
""",
    "models/marts/acct_balances_old.sql": """select
    acct_id,
    cast(sum(amount) as decimal(18, 2)) as balance
from {{ ref('stg_moves') }}
group by acct_id
""",
    "models/marts/acct_balances_v2.sql": """select
    m.acct_id,
    cast(sum(m.amount) as decimal(18, 2)) as balance,
    max(m.ccy) as ccy
from {{ ref('stg_moves') }} as m
join {{ ref('accounts') }} as a on a.acct_id = m.acct_id
group by m.acct_id
""",
    "models/marts/marts.yml": """version: 2
groups:
  - name: finance
    owner:
      name: Treasury desk
      email: treasury@example.com
models:
  - name: acct_balances
    description: Balance per account
    latest_version: 2
    group: finance
    access: public
    config:
      materialized: table
      contract:
        enforced: true
    columns:
      - name: acct_id
        data_type: varchar
        description: '{{ doc("acct_desc") }}'
      - name: balance
        data_type: decimal(18,2)
        description: Sum of amounts
      - name: ccy
        data_type: varchar
    versions:
      - v: 1
        defined_in: acct_balances_old
        columns:
          - include: all
            exclude: [ccy]
      - v: 2
  - name: fin_private
    group: finance
    access: private
  - name: acct_daily
    group: finance
    access: public
  - name: metricflow_time_spine
    time_spine:
      standard_granularity_column: date_day
    columns:
      - name: date_day
        granularity: day
exposures:
  - name: treasury_dashboard
    type: dashboard
    owner:
      name: Treasury desk
      email: treasury@example.com
    depends_on:
      - ref('acct_daily')
      - ref('acct_balances')
unit_tests:
  - name: pivot_sums_usd
    model: ccy_pivot
    given:
      - input: ref('stg_moves')
        rows:
          - {acct_id: A1, ccy: USD, amount: 5}
    expect:
      rows:
        - {acct_id: A1, amount_usd: 5, amount_eur: 0}
""",
    "models/marts/semantic.yml": """version: 2
semantic_models:
  - name: moves
    model: ref('stg_moves')
    defaults:
      agg_time_dimension: moved_at
    entities:
      - name: move
        type: primary
        expr: move_id
      - name: account
        type: foreign
        expr: acct_id
    dimensions:
      - name: moved_at
        type: time
        type_params:
          time_granularity: day
      - name: ccy
        type: categorical
    measures:
      - name: total_amount
        agg: sum
        expr: amount
metrics:
  - name: total_amount
    label: Total amount
    type: simple
    type_params:
      measure: total_amount
saved_queries:
  - name: amount_by_ccy
    query_params:
      metrics: [total_amount]
      group_by: ["Dimension('move__ccy')"]
""",
    "models/marts/metricflow_time_spine.sql": """{{ config(materialized='table') }}
select cast(range as date) as date_day
from range(timestamp '2024-01-01', timestamp '2024-02-01', interval 1 day)
""",
    "models/marts/fin_private.sql": """select acct_id, amount, moved_at from {{ ref('stg_moves') }}
""",
    "models/marts/acct_daily.sql": """{{ config(materialized='table', alias='daily_account_totals') }}
select
    p.acct_id,
    a.acct_name,
    cast(p.moved_at as date) as move_day,
    sum(p.amount) as day_total
from {{ ref('fin_private') }} as p
left join {{ ref('accounts') }} as a on a.acct_id = p.acct_id
group by 1, 2, 3
""",
    "models/marts/balances_latest.sql": "select * from {{ ref('acct_balances') }}\n",
    "models/marts/balances_v1_view.sql": """select
    acct_id,
    balance as old_balance
from {{ ref('acct_balances', v=1) }}
""",
    "models/marts/ccy_pivot.sql": """{% set ccys = var('currencies') %}
select
    acct_id,
    {% for c in ccys %}
    sum(case when ccy = '{{ c }}' then amount else 0 end) as amount_{{ c | lower }}{% if not loop.last %},{% endif %}
    {% endfor %}
from {{ ref('stg_moves') }}
group by acct_id
""",
    "models/marts/moves_inc.sql": """{{ config(materialized='incremental', unique_key='move_id') }}
select
    move_id,
    acct_id,
    amount
from {{ ref('stg_moves') }}
{% if is_incremental() %}
where move_id > (select coalesce(max(move_id), 0) from {{ this }})
{% endif %}
""",
    "models/marts/old_report.sql": """{{ config(enabled=false) }}
select acct_id from {{ ref('stg_moves') }}
""",
    "models/marts/acct_py.py": """def model(dbt, session):
    dbt.config(materialized="table")
    moves = dbt.ref("stg_moves")
    return moves.filter("amount > 0").project("acct_id, amount")
""",
    "analyses/moves_by_ccy.sql": "select ccy, count(*) as n from {{ ref('stg_moves') }} group by ccy\n",
    "snapshots/acct_snap.sql": """{% snapshot acct_snap %}
{{ config(target_schema='snapshots', unique_key='acct_id', strategy='check', check_cols=['acct_name']) }}
select
    acct_id,
    acct_name
from {{ ref('accounts') }}
{% endsnapshot %}
""",
    "snapshots/snapshots.yml": """snapshots:
  - name: moves_snap
    relation: ref('stg_moves')
    config:
      schema: snapshots
      unique_key: move_id
      strategy: timestamp
      updated_at: moved_at
""",
    # a model reading the Python model's columns
    "models/marts/py_consumer.sql": "select * from {{ ref('acct_py') }}\n",
    # a local package (`dbt deps` installs it under dbt_packages/): its model and its macro
    "packages.yml": "packages:\n  - local: ../ledger_utils\n",
    "models/marts/flagged.sql": """select
    f.acct_id,
    f.named,
    {{ ledger_utils.signed('b.balance') }} as signed_balance
from {{ ref('ledger_utils', 'acct_flags') }} as f
join {{ ref('acct_balances') }} as b on b.acct_id = f.acct_id
""",
}
"""The project (our own names), as a public project writes it: hooks, quoting, versions, docs."""

PACKAGE = {
    "dbt_project.yml": "name: ledger_utils\nversion: '1.0'\nconfig-version: 2\nmodel-paths: ['models']\n",
    "macros/signed.sql": "{% macro signed(col) %}(-1 * {{ col }}){% endmacro %}\n",
    "models/acct_flags.sql": "select\n    acct_id,\n    acct_name is not null as named\nfrom {{ ref('accounts') }}\n",
}
"""A local package beside the project (installed by `dbt deps`, no network)."""


_BUILT: dict[str, Path] = {}


def build_stranger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project after `dbt build` twice (the incremental model's second build compiles its
    ``is_incremental()`` branch) and `dbt docs generate`, once per session."""
    if "root" not in _BUILT:
        base = tmp_path_factory.mktemp("dbt_stranger")
        root = base / "treasury"
        for folder, files in ((root, STRANGER), (base / "ledger_utils", PACKAGE)):
            for rel, text in files.items():
                p = folder / rel
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_text(text)
        for cmd in (["deps"], ["build"], ["build"], ["docs", "generate"]):
            run_dbt(root, *cmd)
        _BUILT["root"] = root
    return _BUILT["root"]


FUNCTION = {
    "functions/cents_of.sql": "amount * 100\n",
    "functions/functions.yml": (
        "functions:\n  - name: cents_of\n    description: An amount in cents\n    arguments:\n"
        "      - name: amount\n        data_type: decimal(18, 2)\n    returns:\n      data_type: decimal(20, 2)\n"
    ),
    "models/marts/cents_view.sql": (
        "select\n    move_id,\n    {{ function('cents_of') }}(amount) as amount_cents\nfrom {{ ref('stg_moves') }}\n"
    ),
}
"""A dbt >= 1.11 user-defined function and a model calling it (dbt-duckdb cannot create
functions, so this copy of the project is only compiled: `dbt compile`, no catalog)."""


def build_with_function(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project plus FUNCTION after `dbt compile` (no catalog), once per session."""
    stranger = build_stranger(tmp_path_factory)
    if "function" not in _BUILT:
        root = copy_project(stranger, tmp_path_factory.mktemp("dbt_function") / "treasury")
        (root / "target" / "catalog.json").unlink()
        for rel, text in FUNCTION.items():
            p = root / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
        run_dbt(root, "compile")
        _BUILT["function"] = root
    return _BUILT["function"]
