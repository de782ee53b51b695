"""The synthetic corpus generator: deterministic, exact object counts, parseable, deep chains."""

from __future__ import annotations

import hashlib
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp
from typer.testing import CliRunner

from finlineage.demo.corpus import (
    check_file,
    created_objects,
    dialect_for,
    inner_dml,
    iter_corpus_files,
    load_dialect_map,
    split_statements,
)
from finlineage.demo.generate import generate_corpus


def _tree_hash(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()


def test_deterministic(tmp_path: Path) -> None:
    a = generate_corpus(400, tmp_path / "a", seed=42)
    b = generate_corpus(400, tmp_path / "b", seed=42)
    generate_corpus(400, tmp_path / "c", seed=43)
    assert _tree_hash(tmp_path / "a") == _tree_hash(tmp_path / "b")
    assert _tree_hash(tmp_path / "a") != _tree_hash(tmp_path / "c")
    assert a.files == b.files and a.objects_by_kind == b.objects_by_kind


@pytest.mark.parametrize("n", [1, 2, 10, 57, 300, 1234])
def test_requested_object_count(tmp_path: Path, n: int) -> None:
    stats = generate_corpus(n, tmp_path, seed=1)
    assert stats.objects == n
    names: list[str] = []
    kinds: Counter[str] = Counter()
    for _, path in iter_corpus_files(tmp_path):
        for obj in created_objects(path.read_text(encoding="utf-8")):
            names.append(obj.name)
            kinds[obj.kind] += 1
    assert len(names) == n
    assert len(set(names)) == n
    assert dict(kinds) == stats.objects_by_kind


def test_files_respect_toml_and_parse(tmp_path: Path) -> None:
    stats = generate_corpus(600, tmp_path, seed=5)
    mapping = load_dialect_map(tmp_path / "finlineage.toml")
    seen: Counter[str] = Counter()
    problems: list[str] = []
    per_file: list[int] = []
    for rel, path in iter_corpus_files(tmp_path):
        dialect = dialect_for(rel, mapping)
        assert dialect is not None, rel
        text = path.read_text(encoding="utf-8")
        assert f"dialect: {dialect}" in text.splitlines()[0]
        seen[dialect] += 1
        problems += [f"{rel}: {p}" for p in check_file(text, dialect)]
        per_file.append(len(created_objects(text)))
    assert problems == []
    assert set(seen) == {"tsql", "postgres", "snowflake", "spark"}
    assert sum(seen.values()) == stats.files
    assert max(per_file) <= 60
    assert sorted(per_file)[len(per_file) // 2] >= 10  # median file holds 10+ objects


def test_shapes_present(tmp_path: Path) -> None:
    generate_corpus(800, tmp_path, seed=3)
    text = "\n".join(p.read_text(encoding="utf-8") for _, p in iter_corpus_files(tmp_path))
    for needle in (
        "INTO #work",
        "MERGE INTO",
        "BEGIN TRY",
        "EXEC stg.usp_load_",
        "LANGUAGE plpgsql",
        "CREATE OR REPLACE TABLE mart.",
        "QUALIFY ROW_NUMBER()",
        "INSERT OVERWRITE TABLE rpt.",
        "s1.*",
        "* fx.usd_rate",
        "CASE WHEN",
        "OVER (PARTITION BY",
        "GROUP BY",
        "CREATE MATERIALIZED VIEW",
        "\nGO\n",
    ):
        assert needle in text, needle


def _table(t: exp.Table) -> str:
    name = ".".join(p for p in (t.db, t.name) if p).lower()
    return "#" + name if t.this.args.get("temporary") else name


def _flows(root: Path) -> dict[str, set[str]]:
    """target -> sources, from every plain statement and procedural DML of the corpus; temp
    tables (#work) are resolved within their procedure."""
    mapping = load_dialect_map(root / "finlineage.toml")
    deps: dict[str, set[str]] = {}
    for rel, path in iter_corpus_files(root):
        dialect = dialect_for(rel, mapping)
        assert dialect is not None
        for st in split_statements(path.read_text(encoding="utf-8"), dialect):
            temps: dict[str, set[str]] = {}
            for sql in inner_dml(st) if st.procedural else [st.text]:
                for e in sqlglot.parse(sql, read=dialect):
                    target: str | None = None
                    if isinstance(e, exp.Create) and e.expression is not None:
                        target = _table(e.this if isinstance(e.this, exp.Table) else e.this.this)
                    elif isinstance(e, (exp.Insert, exp.Merge)):
                        t = e.this.this if isinstance(e.this, exp.Schema) else e.this
                        target = _table(t)
                    elif isinstance(e, exp.Select) and e.args.get("into") is not None:
                        target = _table(e.args["into"].this)
                    if target is None:
                        continue
                    srcs: set[str] = set()
                    for s in {_table(t) for t in e.find_all(exp.Table)} - {target}:
                        srcs |= temps.get(s, set()) if s.startswith("#") else {s}
                    if target.startswith("#"):
                        temps.setdefault(target, set()).update(srcs)
                    else:
                        deps.setdefault(target, set()).update(srcs)
    return deps


def test_chains_are_deep(tmp_path: Path) -> None:
    stats = generate_corpus(500, tmp_path, seed=11)
    deps = _flows(tmp_path)

    @cache
    def depth(name: str) -> int:
        return 1 + max((depth(s) for s in deps.get(name, ()) if s in deps), default=0)

    longest = max(depth(t) for t in deps)
    assert longest >= 6
    assert stats.max_depth >= 6
    rpt_sources = [deps[t] for t in deps if t.startswith("rpt.")]
    assert rpt_sources and all(1 <= len(s - {"raw.fx_rates"}) <= 3 for s in rpt_sources)
    assert any("raw.fx_rates" in s for s in deps.values())


@pytest.mark.timeout(120)  # generation speed is measured by the ingestion benchmark
def test_ten_thousand_objects(tmp_path: Path) -> None:
    stats = generate_corpus(10_000, tmp_path, seed=42)
    assert stats.objects == 10_000
    assert 200 <= stats.files <= 1000


def test_cli(tmp_path: Path) -> None:
    import typer

    from finlineage.cli import demo_cmd

    app = typer.Typer()
    demo_cmd.register(app)

    @app.callback()
    def _root() -> None:
        pass

    result = CliRunner().invoke(
        app, ["demo", "generate", "--objects", "120", "--out", str(tmp_path), "--seed", "9"]
    )
    assert result.exit_code == 0, result.output
    assert "objects" in result.output and "120" in result.output
    assert (tmp_path / "finlineage.toml").is_file()
