"""Deterministic synthetic SQL corpus of any size, with the shapes of the bundled demo.

Layers raw -> stg -> int -> mart -> rpt, each split into tiers; an object reads from one object
of the tier just before it (so chains are as deep as the tiers: 8 hops from raw to the last
rpt tier) plus up to two objects of any earlier tier. Dialects by layer:

* raw  (T-SQL):     CREATE TABLE DDL, plus `raw.fx_rates` used for currency conversion;
* stg  (T-SQL):     table DDL + stored procedure (temp table `#work`, MERGE, TRY/CATCH, IF/ELSE,
                    EXEC of the upstream procedure, GO batches, some statements without `;`),
                    or views;
* int  (PostgreSQL): table DDL + PL/pgSQL function (DELETE + INSERT ... SELECT), views with
                    `SELECT s1.*` and joins, materialized views with aggregates;
* mart (Snowflake): CTAS (`CREATE OR REPLACE TABLE ... AS SELECT`) with QUALIFY, views;
* rpt  (Spark SQL): Delta table DDL + `INSERT OVERWRITE TABLE ... SELECT`, `INSERT INTO`, views.

Expressions: renamed columns, FX conversion through a `raw.fx_rates` join, CASE, aggregates
with GROUP BY, window functions. Same seed -> byte-identical files.
"""

from __future__ import annotations

import gc
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CorpusStats", "generate_corpus"]

# (schema, dialect, number of tiers, share of objects)
_LAYERS: tuple[tuple[str, str, int, float], ...] = (
    ("raw", "tsql", 1, 0.15),
    ("stg", "tsql", 2, 0.25),
    ("int", "postgres", 2, 0.24),
    ("mart", "snowflake", 2, 0.21),
    ("rpt", "spark", 2, 0.15),
)

_TOML = """# finlineage project file for a generated corpus: file globs -> SQL dialect.

[dialects]
"tsql/**/*.sql" = "tsql"
"postgres/**/*.sql" = "postgres"
"snowflake/**/*.sql" = "snowflake"
"spark/**/*.sql" = "spark"
"""

_TYPES = {
    "tsql": {"id": "BIGINT", "date": "DATE", "ccy": "CHAR(3)", "num": "DECIMAL(18, 4)", "str": "VARCHAR(20)"},
    "postgres": {
        "id": "bigint",
        "date": "date",
        "ccy": "char(3)",
        "num": "numeric(18, 4)",
        "str": "varchar(20)",
    },
    "snowflake": {
        "id": "NUMBER(18, 0)",
        "date": "DATE",
        "ccy": "VARCHAR(3)",
        "num": "NUMBER(18, 4)",
        "str": "VARCHAR",
    },
    "spark": {"id": "BIGINT", "date": "DATE", "ccy": "STRING", "num": "DECIMAL(38, 4)", "str": "STRING"},
}

_ENTITIES = {
    "raw": (
        "venue_trades",
        "venue_fills",
        "prices",
        "counterparties",
        "collateral",
        "limits",
        "curves",
        "settlements",
    ),
    "stg": ("trades", "fills", "instruments", "cpty", "collateral", "limits", "curves", "cashflows"),
    "int": ("positions", "valuations", "exposures", "sensitivities", "pnl", "netting", "margin", "accruals"),
    "mart": (
        "desk_risk",
        "cpty_exposure",
        "var_inputs",
        "pnl_daily",
        "limit_usage",
        "stress",
        "rwa",
        "liquidity",
    ),
    "rpt": (
        "regulatory_exposure",
        "large_exposures",
        "risk_capital",
        "pnl_summary",
        "concentration",
        "board_pack",
    ),
}

# raw measure column -> the harmonised name used from staging on
_RAW_MEASURES = (
    ("qty", "quantity"),
    ("px", "price"),
    ("amt", "amount"),
    ("fee_amt", "fee"),
    ("ntnl", "notional"),
    ("mv", "market_value"),
    ("cost_px", "cost"),
    ("bal", "balance"),
    ("lim_amt", "limit"),
    ("sens", "sensitivity"),
)


@dataclass
class _Col:
    name: str
    base: str
    kind: str  # id, date, ccy, num, str
    usd: bool = False  # already converted to USD


@dataclass
class _Obj:
    name: str
    kind: str  # table, view, materialized_view
    tier: int
    cols: list[_Col]
    loader: str | None = None  # procedure/function that fills it


@dataclass
class CorpusStats:
    out_dir: Path
    files: int = 0
    objects: int = 0
    objects_by_kind: dict[str, int] = field(default_factory=dict)
    statements: int = 0
    files_by_dialect: dict[str, int] = field(default_factory=dict)
    max_depth: int = 0
    """Hops of the longest raw -> ... -> rpt chain."""


def _tier_plan(objects: int) -> list[tuple[str, str, int]]:
    """(schema, dialect, object budget) per tier, summing to `objects` (fx_rates excluded)."""
    tiers: list[tuple[str, str, float]] = []
    for schema, dialect, n, share in _LAYERS:
        tiers += [(schema, dialect, share / n)] * n
    budget = objects - 1  # raw.fx_rates
    if budget <= 0:
        return []
    tiers = tiers[: max(1, min(len(tiers), budget))]
    total_share = sum(t[2] for t in tiers)
    counts = [max(1, int(budget * t[2] / total_share)) for t in tiers]
    # fix rounding on the raw tier, then trim from the largest tiers if over budget
    counts[0] += budget - sum(counts)
    while counts[0] < 1:
        i = max(range(1, len(counts)), key=lambda k: counts[k])
        counts[i] -= 1
        counts[0] += 1
    return [(t[0], t[1], c) for t, c in zip(tiers, counts, strict=True)]


class _Gen:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.by_tier: list[list[_Obj]] = []
        self.counter = 0
        self.kinds: Counter[str] = Counter()
        self._loaders: dict[str, str] = {}

    # ------------------------------------------------------------------ naming helpers
    def new_name(self, schema: str, prefix: str = "") -> str:
        self.counter += 1
        word = self.rng.choice(_ENTITIES[schema])
        return f"{schema}.{prefix}{word}_{self.counter:06d}"

    @staticmethod
    def ddl(name: str, cols: list[_Col], dialect: str, suffix: str = "") -> str:
        types = _TYPES[dialect]
        width = max(len(c.name) for c in cols) + 2
        body = ",\n".join(
            f"    {c.name.ljust(width)}{types[c.kind]}{' NOT NULL' if c.kind in ('id', 'date') else ''}"
            for c in cols
        )
        kw = "CREATE TABLE IF NOT EXISTS" if dialect == "spark" else "CREATE TABLE"
        return f"{kw} {name} (\n{body}\n){suffix}"

    # ------------------------------------------------------------------ query builder
    def select(
        self, tier: int, dialect: str, *, aggregate: bool, star: bool = False
    ) -> tuple[str, list[_Col], str]:
        """A SELECT reading the tier before `tier` (+ up to two earlier objects).
        Returns (sql, output columns, alias of the primary source)."""
        rng = self.rng
        primary = rng.choice(self.by_tier[tier - 1])
        extra: list[_Obj] = []
        for _ in range(rng.choice((0, 1, 1, 2))):
            t = rng.randrange(0, tier)
            cand = rng.choice(self.by_tier[t])
            if cand is not primary and cand not in extra:
                extra.append(cand)
        srcs = [primary, *extra]
        measures = {i: [c for c in s.cols if c.kind == "num"] for i, s in enumerate(srcs)}
        schema = _LAYERS_BY_TIER[tier][0]
        cols: list[_Col] = []
        exprs: list[str] = []
        used: set[str] = set()
        keys = [c for c in primary.cols if c.kind in ("id", "date", "ccy")]
        use_fx = False

        def add(expr: str, name: str, base: str, kind: str = "num", usd: bool = False) -> None:
            n = name
            k = 2
            while n in used:
                n = f"{name}_{k}"
                k += 1
            used.add(n)
            cols.append(_Col(n, base, kind, usd))
            exprs.append(f"{expr} AS {n}" if expr.split(".")[-1] != n else expr)

        if star:
            for c in primary.cols:
                used.add(c.name)
                cols.append(_Col(c.name, c.base, c.kind, c.usd))
            exprs.append("s1.*")
        else:
            for c in keys:
                add(f"s1.{c.name}", c.name, c.base, c.kind)
        n_out = rng.randint(2, 4) if not star else rng.randint(1, 2)
        for _ in range(n_out):
            si = rng.randrange(len(srcs))
            pool = measures[si] or measures[0]
            if not pool:
                continue
            col = rng.choice(pool)
            ref = f"s{si + 1}.{col.name}"
            base = col.base
            shape = rng.choice(
                ("rename", "fx", "fx", "case", "combo", "window")
                if not aggregate
                else ("sum", "fx", "max", "avg", "case")
            )
            if shape == "fx" and col.usd:
                shape = "sum" if aggregate else "rename"
            if shape == "fx":
                use_fx = True
                e = f"{ref} * fx.usd_rate"
                if aggregate:
                    e = f"SUM({e})"
                add(e, f"{base}_usd", base, usd=True)
            elif shape == "case":
                e = f"CASE WHEN {ref} < 0 THEN 0 ELSE {ref} END"
                if aggregate:
                    e = f"SUM({e})"
                add(e, f"{base}_floored", base, usd=col.usd)
            elif shape == "combo" and len(srcs) > 1 and si != 0 and measures[0]:
                other = rng.choice(measures[0])
                add(f"s1.{other.name} + COALESCE({ref}, 0)", f"{other.base}_adj", other.base, usd=other.usd)
            elif shape == "window":
                add(
                    f"SUM({ref}) OVER (PARTITION BY s1.{keys[0].name} ORDER BY s1.as_of_date)",
                    f"{base}_running",
                    base,
                    usd=col.usd,
                )
            elif shape == "sum":
                add(f"SUM({ref})", f"total_{base}{'_usd' if col.usd else ''}", base, usd=col.usd)
            elif shape == "max":
                add(f"MAX({ref})", f"max_{base}{'_usd' if col.usd else ''}", base, usd=col.usd)
            elif shape == "avg":
                add(f"AVG({ref})", f"avg_{base}{'_usd' if col.usd else ''}", base, usd=col.usd)
            else:
                new = f"{schema}_{base}" if rng.random() < 0.5 else base
                if col.usd:
                    new += "_usd"
                add(f"SUM({ref})" if aggregate else ref, new, base, usd=col.usd)
        if not any(c.kind == "num" for c in cols):
            num = next((c for c in primary.cols if c.kind == "num"), None)
            if num is not None:
                add(f"SUM(s1.{num.name})" if aggregate else f"s1.{num.name}", f"{num.base}_amt", num.base)
            else:
                add("COUNT(*)" if aggregate else "1", "row_count", "count")

        lines = ["SELECT", ",\n".join(f"    {e}" for e in exprs), f"FROM {primary.name} AS s1"]
        for i, s in enumerate(extra, start=2):
            jk = "JOIN" if rng.random() < 0.5 else "LEFT JOIN"
            lines.append(
                f"{jk} {s.name} AS s{i}\n  ON s{i}.key_id = s1.key_id\n AND s{i}.as_of_date = s1.as_of_date"
            )
        if use_fx:
            lines.append(
                "LEFT JOIN raw.fx_rates AS fx\n  ON fx.ccy = s1.ccy\n AND fx.rate_date = s1.as_of_date"
            )
        if aggregate and not star:
            lines.append("GROUP BY " + ", ".join(f"s1.{c.name}" for c in keys))
        return "\n".join(lines), cols, primary.name

    # ------------------------------------------------------------------ units per dialect
    def raw_table(self, tier: int) -> tuple[list[str], int]:
        rng = self.rng
        name = self.new_name("raw")
        cols = [
            _Col("key_id", "key_id", "id"),
            _Col("as_of_date", "as_of_date", "date"),
            _Col("ccy", "ccy", "ccy"),
        ]
        if rng.random() < 0.4:
            cols.append(_Col("source_code", "source_code", "str"))
        for raw_name, base in rng.sample(_RAW_MEASURES, rng.randint(2, 5)):
            cols.append(_Col(raw_name, base, "num"))
        self.add(_Obj(name, "table", tier, cols))
        return [self.ddl(name, cols, "tsql") + ";"], 1

    def add(self, obj: _Obj) -> None:
        while len(self.by_tier) <= obj.tier:
            self.by_tier.append([])
        self.by_tier[obj.tier].append(obj)
        self.kinds[obj.kind] += 1

    def stg_proc(self, tier: int) -> tuple[list[str], int]:
        rng = self.rng
        name = self.new_name("stg")
        sql, cols, primary = self.select(tier, "tsql", aggregate=False)
        proc = f"stg.usp_load_{name.split('.', 1)[1]}"
        self.kinds["procedure"] += 1
        obj = _Obj(name, "table", tier, cols, loader=proc)
        self.add(obj)
        keys = [c.name for c in cols if c.kind in ("id", "date", "ccy")]
        non_keys = [c.name for c in cols if c.name not in keys]
        select_into = sql.replace("\nFROM ", "\nINTO #work\nFROM ", 1)
        where = "WHERE s1.as_of_date = @as_of_date"
        semi = "" if rng.random() < 0.4 else ";"
        on = " AND ".join(f"tgt.{k} = src.{k}" for k in keys[:2])
        upd = ",\n                ".join(f"tgt.{c} = src.{c}" for c in non_keys) or "tgt.ccy = src.ccy"
        all_cols = ", ".join(c.name for c in cols)
        src_vals = ", ".join(f"src.{c.name}" for c in cols)
        upstream = self.loader_of(primary)
        pre = ""
        if upstream and rng.random() < 0.6:
            pre = (
                f"    IF NOT EXISTS (SELECT 1 FROM {primary} WHERE as_of_date = @as_of_date)\n"
                f"    BEGIN\n        EXEC {upstream} @as_of_date = @as_of_date\n    END\n"
                f"    ELSE\n    BEGIN\n        PRINT 'upstream {primary} already loaded'\n    END\n\n"
            )
        body = _indent(select_into + "\n" + where, 8)
        text = (
            f"CREATE OR ALTER PROCEDURE {proc}\n    @as_of_date DATE\nAS\nBEGIN\n    SET NOCOUNT ON{semi}\n\n"
            f"{pre}"
            f"    IF OBJECT_ID('tempdb..#work') IS NOT NULL DROP TABLE #work\n\n"
            f"    BEGIN TRY\n{body}{semi}\n\n"
            f"        MERGE INTO {name} AS tgt\n        USING #work AS src\n            ON {on}\n"
            f"        WHEN MATCHED THEN\n            UPDATE SET\n                {upd}\n"
            f"        WHEN NOT MATCHED THEN\n            INSERT ({all_cols})\n            VALUES ({src_vals});\n"
            f"    END TRY\n    BEGIN CATCH\n        THROW{semi}\n    END CATCH\nEND"
        )
        return [self.ddl(name, cols, "tsql") + ";", text], 2

    def loader_of(self, name: str) -> str | None:
        return self._loaders.get(name)

    def tsql_view(self, tier: int) -> tuple[list[str], int]:
        name = self.new_name("stg", "v_")
        sql, cols, _ = self.select(tier, "tsql", aggregate=self.rng.random() < 0.3)
        self.add(_Obj(name, "view", tier, cols))
        return [f"CREATE OR ALTER VIEW {name}\nAS\n{sql}"], 1

    def pg_function(self, tier: int) -> tuple[list[str], int]:
        name = self.new_name("int")
        sql, cols, _ = self.select(tier, "postgres", aggregate=self.rng.random() < 0.4)
        fn = f"int.fn_load_{name.split('.', 1)[1]}"
        self.kinds["function"] += 1
        self.add(_Obj(name, "table", tier, cols, loader=fn))
        col_list = ", ".join(c.name for c in cols)
        where = "WHERE s1.as_of_date = p_as_of"
        if "\nGROUP BY " in sql:
            sql = sql.replace("\nGROUP BY ", f"\n{where}\nGROUP BY ", 1)
        else:
            sql += "\n" + where
        text = (
            f"CREATE OR REPLACE FUNCTION {fn}(p_as_of date)\nRETURNS void AS $$\nBEGIN\n"
            f"    DELETE FROM {name} WHERE as_of_date = p_as_of;\n\n"
            f"    INSERT INTO {name} ({col_list})\n{_indent(sql, 4)};\nEND;\n$$ LANGUAGE plpgsql;"
        )
        return [self.ddl(name, cols, "postgres") + ";", text], 2

    def pg_view(self, tier: int) -> tuple[list[str], int]:
        rng = self.rng
        if rng.random() < 0.3:
            name = self.new_name("int", "mv_")
            sql, cols, _ = self.select(tier, "postgres", aggregate=True)
            self.add(_Obj(name, "materialized_view", tier, cols))
            return [f"CREATE MATERIALIZED VIEW {name} AS\n{sql};"], 1
        name = self.new_name("int", "v_")
        sql, cols, _ = self.select(tier, "postgres", aggregate=False, star=rng.random() < 0.5)
        self.add(_Obj(name, "view", tier, cols))
        return [f"CREATE OR REPLACE VIEW {name} AS\n{sql};"], 1

    def sf_ctas(self, tier: int) -> tuple[list[str], int]:
        rng = self.rng
        name = self.new_name("mart")
        agg = rng.random() < 0.4
        sql, cols, _ = self.select(tier, "snowflake", aggregate=agg)
        if not agg:
            sql += "\nQUALIFY ROW_NUMBER() OVER (PARTITION BY s1.key_id, s1.as_of_date ORDER BY s1.as_of_date DESC) = 1"
        self.add(_Obj(name, "table", tier, cols))
        return [f"CREATE OR REPLACE TABLE {name} AS\n{sql};"], 1

    def sf_view(self, tier: int) -> tuple[list[str], int]:
        name = self.new_name("mart", "v_")
        sql, cols, _ = self.select(tier, "snowflake", aggregate=False, star=self.rng.random() < 0.5)
        self.add(_Obj(name, "view", tier, cols))
        return [f"CREATE OR REPLACE VIEW {name} AS\n{sql};"], 1

    def spark_insert(self, tier: int) -> tuple[list[str], int]:
        rng = self.rng
        name = self.new_name("rpt")
        sql, cols, _ = self.select(tier, "spark", aggregate=rng.random() < 0.5)
        self.add(_Obj(name, "table", tier, cols))
        verb = "INSERT OVERWRITE TABLE" if rng.random() < 0.75 else "INSERT INTO"
        return [self.ddl(name, cols, "spark", "\nUSING DELTA") + ";", f"{verb} {name}\n{sql};"], 1

    def spark_view(self, tier: int) -> tuple[list[str], int]:
        name = self.new_name("rpt", "v_")
        sql, cols, _ = self.select(tier, "spark", aggregate=self.rng.random() < 0.5)
        self.add(_Obj(name, "view", tier, cols))
        return [f"CREATE OR REPLACE VIEW {name} AS\n{sql};"], 1


_LAYERS_BY_TIER: list[tuple[str, str]] = [(s, d) for s, d, n, _ in _LAYERS for _ in range(n)]

# unit builders per schema: (builder name, objects produced, weight)
_UNITS: dict[str, tuple[tuple[str, int, float], ...]] = {
    "raw": (("raw_table", 1, 1.0),),
    "stg": (("stg_proc", 2, 0.7), ("tsql_view", 1, 0.3)),
    "int": (("pg_function", 2, 0.6), ("pg_view", 1, 0.4)),
    "mart": (("sf_ctas", 1, 0.6), ("sf_view", 1, 0.4)),
    "rpt": (("spark_insert", 1, 0.7), ("spark_view", 1, 0.3)),
}


def _indent(text: str, n: int) -> str:
    pad = " " * n
    return "\n".join(pad + line if line else line for line in text.split("\n"))


def generate_corpus(objects: int, out_dir: Path, seed: int = 42) -> CorpusStats:
    """Write a synthetic corpus of `objects` CREATEd objects (tables, views, materialized views,
    procedures, functions) under `out_dir`, with a finlineage.toml. Deterministic per seed."""
    if objects < 1:
        raise ValueError("objects must be >= 1")
    # Many small long-lived objects: cyclic GC passes only cost time here.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _generate(objects, Path(out_dir), seed)
    finally:
        if gc_was_enabled:
            gc.enable()


def _generate(objects: int, out_dir: Path, seed: int) -> CorpusStats:
    gen = _Gen(seed)
    rng = gen.rng

    fx_cols = [
        _Col("rate_date", "as_of_date", "date"),
        _Col("ccy", "ccy", "ccy"),
        _Col("usd_rate", "usd_rate", "num"),
        _Col("rate_source", "rate_source", "str"),
    ]
    gen.kinds["table"] += 1
    # (dialect, schema, tier, statements, objects) per unit, in generation order
    units: list[tuple[str, str, int, list[str], int]] = [
        ("tsql", "raw", 0, [gen.ddl("raw.fx_rates", fx_cols, "tsql") + ";"], 1)
    ]
    plan = _tier_plan(objects)
    for tier, (schema, dialect, budget) in enumerate(plan):
        remaining = budget
        options = _UNITS[schema]
        while remaining > 0:
            fits = [o for o in options if o[1] <= remaining]
            pick = rng.choices(fits, weights=[o[2] for o in fits])[0]
            stmts, n = getattr(gen, pick[0])(tier)
            obj = gen.by_tier[tier][-1]
            if obj.loader:
                gen._loaders[obj.name] = obj.loader
            units.append((dialect, schema, tier, stmts, n))
            remaining -= n

    # group units into files of ~10-50 objects, per (dialect, schema, tier)
    stats = CorpusStats(out_dir=out_dir)
    files: list[tuple[str, str, list[str]]] = []  # (relative path, dialect, statements)
    key = None
    current: list[str] = []
    current_objs = 0
    target = 0
    counters: Counter[str] = Counter()

    def close() -> None:
        nonlocal current, current_objs
        if current and key is not None:
            d, s, t = key
            counters[f"{d}/{s}"] += 1
            idx = counters[f"{d}/{s}"]
            rel = f"{d}/{s}/part_{(idx - 1) // 100:03d}/{s}_t{t}_{idx:05d}.sql"
            files.append((rel, d, current))
        current, current_objs = [], 0

    for dialect, schema, tier, stmts, n in units:
        k = (dialect, schema, tier)
        if k != key or current_objs >= target:
            close()
            key = k
            target = rng.randint(10, 50)
        current.extend(stmts)
        current_objs += n
    close()

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "finlineage.toml").write_text(_TOML, encoding="utf-8")
    by_dialect: Counter[str] = Counter()
    n_statements = 0
    for rel, dialect, stmts in files:
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        header = f"-- generated by finlineage demo generate (seed {seed}); dialect: {dialect}\n\n"
        body = "\nGO\n\n".join(stmts) + "\nGO\n" if dialect == "tsql" else "\n\n".join(stmts) + "\n"
        path.write_text(header + body, encoding="utf-8")
        by_dialect[dialect] += 1
        n_statements += len(stmts)

    stats.files = len(files)
    stats.objects = sum(gen.kinds.values())
    stats.objects_by_kind = dict(sorted(gen.kinds.items()))
    stats.statements = n_statements
    stats.files_by_dialect = dict(sorted(by_dialect.items()))
    stats.max_depth = len(plan) - 1 if plan else 0
    return stats
