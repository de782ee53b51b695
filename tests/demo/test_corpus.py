"""The bundled demo corpus is coherent: enough files, four dialects, every statement parses."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from finlineage.demo.corpus import (
    check_file,
    created_objects,
    dialect_for,
    iter_corpus_files,
    load_dialect_map,
    split_statements,
)

DEMO = Path(__file__).resolve().parents[2] / "demo"


@pytest.fixture(scope="module")
def mapping() -> dict[str, str]:
    return load_dialect_map(DEMO / "finlineage.toml")


@pytest.fixture(scope="module")
def files() -> list[tuple[str, Path]]:
    return list(iter_corpus_files(DEMO))


def test_file_count(files: list[tuple[str, Path]]) -> None:
    assert len(files) >= 35


def test_toml_maps_four_dialects(mapping: dict[str, str], files: list[tuple[str, Path]]) -> None:
    assert len(set(mapping.values())) >= 4
    used = Counter(dialect_for(rel, mapping) for rel, _ in files)
    assert None not in used, "every demo file is mapped to a dialect"
    assert len(used) >= 4


def test_every_statement_parses(mapping: dict[str, str], files: list[tuple[str, Path]]) -> None:
    problems: list[str] = []
    for rel, path in files:
        dialect = dialect_for(rel, mapping)
        assert dialect is not None
        problems += [f"{rel}: {p}" for p in check_file(path.read_text(encoding="utf-8"), dialect)]
    assert problems == []


def test_procedural_bodies_present(mapping: dict[str, str], files: list[tuple[str, Path]]) -> None:
    kinds = Counter()
    for rel, path in files:
        dialect = dialect_for(rel, mapping)
        assert dialect is not None
        for st in split_statements(path.read_text(encoding="utf-8"), dialect):
            if st.procedural:
                kinds[dialect] += 1
    assert kinds["tsql"] >= 10
    assert kinds["postgres"] >= 8


def test_objects(files: list[tuple[str, Path]]) -> None:
    objects: dict[str, str] = {}
    for rel, path in files:
        for obj in created_objects(path.read_text(encoding="utf-8")):
            assert obj.name not in objects, f"{obj.name} created twice ({rel}, {objects[obj.name]})"
            objects[obj.name] = rel
    assert len(objects) >= 140
    schemas = {name.split(".")[0] for name in objects}
    assert {"raw", "stg", "ref", "pos", "pnl", "risk", "crd", "rpt"} <= schemas
    assert "rpt.regulatory_exposure" in objects
    assert sum(1 for n in objects if n.startswith("rpt.")) >= 10


def test_exposure_chain_is_written() -> None:
    rpt = (DEMO / "spark/rpt/regulatory_exposure.sql").read_text(encoding="utf-8")
    assert "e.ead_usd AS exposure_usd" in rpt
    fx = (DEMO / "postgres/functions/fn_value_positions.sql").read_text(encoding="utf-8")
    assert "v.market_value_local * fx.usd_rate AS market_value_usd" in fx
