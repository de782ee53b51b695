"""Small graph builders for store tests."""

from __future__ import annotations

from sqlalchemy.orm import Session

from finlineage.store import repositories as repo


def make_project(session: Session, name: str = "p") -> int:
    return repo.create_project(session, name).id


def chain_columns(
    session: Session, project_id: int, edges: list[tuple[str, str]], **edge_attrs: object
) -> dict[str, int]:
    """Column edges given as ``("s.a.x", "s.b.y")`` pairs (source ref, target ref); returns
    ``{ref: column_id}``. Also inserts the matching table edges."""
    refs = {r for pair in edges for r in pair}
    ids = repo.ensure_column_refs(session, project_id, sorted(refs))
    repo.insert_column_edges(
        session,
        project_id,
        [{"source_column_id": ids[s], "target_column_id": ids[t], **edge_attrs} for s, t in edges],
    )
    objs = {
        ref.rpartition(".")[0]: repo.get_object_by_canonical(session, project_id, ref.rpartition(".")[0])
        for ref in refs
    }
    table_pairs = {(s.rpartition(".")[0], t.rpartition(".")[0]) for s, t in edges}
    repo.insert_table_edges(
        session,
        project_id,
        [
            {"source_object_id": objs[s].id, "target_object_id": objs[t].id, **edge_attrs}  # type: ignore[union-attr]
            for s, t in sorted(table_pairs)
        ],
    )
    session.flush()
    return ids
