"""What changed in a project's lineage between two graph versions, and who is downstream of it.

Facts carry validity ranges (``version_from``/``version_to``), so the edges that left or entered
the graph between versions ``a < b`` are two range queries on the validity index:

* removed: valid in ``a``, closed at or before ``b``;
* added: opened after ``a`` and still valid in ``b``.

Re-parsing a file closes all its facts and writes them again; a closed and a re-opened edge with
the same endpoints, kind and expression cancel out. What remains with the same endpoints on both
sides is *changed* (``before``/``after``). ``impacted`` lists the objects downstream of every
removed or changed column edge (walked in both versions, nearest hop kept).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from finlineage.query.common import edge_model, edge_select
from finlineage.query.errors import InvalidQueryError
from finlineage.query.governance import check_version
from finlineage.query.projects import resolve_project
from finlineage.store import graph as store_graph
from finlineage.store import versions
from finlineage.store.blobs import blob_path
from finlineage.store.models import VISIBLE_STATUSES, CatalogObject, Column, File, ObjectPresence

Granularity = Literal["table", "column"]
DIFF_IMPACT_DEPTH = 50
"""Hops walked downstream of a removed/changed column edge."""


class DiffEdge(BaseModel):
    granularity: Granularity
    id: int
    source: str
    """Qualified source (`schema.table.column` for column edges)."""
    target: str
    kind: str
    expression: str | None = None
    formula: str | None = None
    subtype: str | None = None
    process: str | None = None
    file: str | None = None
    file_id: int | None = None
    line_start: int | None = None
    line_end: int | None = None
    source_text: str | None = None
    """The original lines ``line_start..line_end`` of the stored file (None: text not kept)."""
    origin: str
    status: str
    version_from: int | None = None
    version_to: int | None = None
    downstream: int = 0
    """Columns downstream of the target (consumers), for column edges that were removed/changed."""


class DiffChange(BaseModel):
    before: DiffEdge
    after: DiffEdge


class DiffObject(BaseModel):
    id: int
    canonical_id: str
    kind: str


class ImpactedObject(BaseModel):
    id: int
    canonical_id: str
    kind: str
    hop: int
    """1 = the target object of a removed/changed column edge; 2 = its consumers; ..."""
    via: list[str]
    """The removed/changed target columns whose downstream reaches this object."""


class DiffOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    project_id: int
    project: str
    from_: int = Field(alias="from")
    to: int
    added: list[DiffEdge]
    removed: list[DiffEdge]
    changed: list[DiffChange]
    objects_added: list[DiffObject]
    objects_removed: list[DiffObject]
    impacted: list[ImpactedObject]

    def public(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)

    @property
    def removed_with_consumers(self) -> list[DiffEdge]:
        """Removed column edges (including the before side of changes) whose target has consumers."""
        gone = [e for e in self.removed if e.granularity == "column"]
        gone += [c.before for c in self.changed if c.before.granularity == "column"]
        return [e for e in gone if e.downstream > 0]


# --------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------


class _Text:
    """Original source lines of stored files (one read per file)."""

    def __init__(self, session: Session, data_dir: Path | None) -> None:
        self.session = session
        self.data_dir = data_dir
        self.cache: dict[int, list[str] | None] = {}

    def lines(self, file_id: int | None, a: int | None, b: int | None) -> str | None:
        if file_id is None or a is None or self.data_dir is None:
            return None
        if file_id not in self.cache:
            sha = self.session.scalar(select(File.sha256).where(File.id == file_id))
            path = blob_path(self.data_dir, sha) if sha else None
            if path is None or not path.is_file():
                self.cache[file_id] = None
            else:
                text = path.read_bytes().decode("utf-8", errors="replace")
                self.cache[file_id] = text.removeprefix("\ufeff").splitlines()
        got = self.cache[file_id]
        if got is None:
            return None
        return "\n".join(got[a - 1 : (b or a)])


def _edges(
    session: Session,
    granularity: Granularity,
    project_id: int,
    window: Any,
    statuses: Collection[str],
    text: _Text,
) -> list[DiffEdge]:
    model = edge_model(granularity)
    stmt = (
        edge_select(granularity)
        .add_columns(model.subtype, model.formula, model.version_from, model.version_to)
        .where(model.project_id == project_id, model.status.in_(list(statuses)), window(model))
    )
    out: list[DiffEdge] = []
    for r in session.execute(stmt):
        src = r.source_canonical if r.source_column is None else f"{r.source_canonical}.{r.source_column}"
        tgt = r.target_canonical if r.target_column is None else f"{r.target_canonical}.{r.target_column}"
        out.append(
            DiffEdge(
                granularity=granularity,
                id=int(r.id),
                source=src,
                target=tgt,
                kind=r.kind,
                expression=r.expression,
                formula=r.formula,
                subtype=r.subtype,
                process=r.process,
                file=r.file_path,
                file_id=r.file_id,
                line_start=r.line_start,
                line_end=r.line_end,
                source_text=text.lines(r.file_id, r.line_start, r.line_end),
                origin=r.origin,
                status=r.status,
                version_from=r.version_from,
                version_to=r.version_to,
            )
        )
    return out


def _norm(expr: str | None) -> str:
    return " ".join((expr or "").split()).lower()


def _pair(
    removed: list[DiffEdge], added: list[DiffEdge]
) -> tuple[list[DiffEdge], list[DiffEdge], list[DiffChange]]:
    """Cancel identical close/re-open pairs; same endpoints with a different kind/expression →
    changed; the rest stays removed/added."""
    ident: dict[tuple[str, ...], list[DiffEdge]] = defaultdict(list)
    for e in added:
        ident[(e.granularity, e.source, e.target, e.kind, _norm(e.expression), _norm(e.formula))].append(e)
    still_removed: list[DiffEdge] = []
    for e in removed:
        same = ident.get((e.granularity, e.source, e.target, e.kind, _norm(e.expression), _norm(e.formula)))
        if same:
            same.pop()
        else:
            still_removed.append(e)
    left_added = [e for group in ident.values() for e in group]
    by_ends: dict[tuple[str, str, str], list[DiffEdge]] = defaultdict(list)
    for e in sorted(left_added, key=lambda x: x.id):
        by_ends[(e.granularity, e.source, e.target)].append(e)
    changed: list[DiffChange] = []
    final_removed: list[DiffEdge] = []
    for e in sorted(still_removed, key=lambda x: x.id):
        cands = by_ends.get((e.granularity, e.source, e.target))
        if cands:
            changed.append(DiffChange(before=e, after=cands.pop(0)))
        else:
            final_removed.append(e)
    final_added = [e for group in by_ends.values() for e in group]

    def key(x: DiffEdge) -> tuple[str, str, str, int]:
        return (x.granularity, x.source, x.target, x.id)

    return (
        sorted(final_removed, key=key),
        sorted(final_added, key=key),
        sorted(changed, key=lambda c: key(c.before)),
    )


def _present(session: Session, project_id: int, v: int) -> set[int]:
    return {
        int(x)
        for x in session.scalars(
            select(ObjectPresence.object_id).where(
                ObjectPresence.project_id == project_id,
                ObjectPresence.version_from <= v,
                or_(ObjectPresence.version_to.is_(None), ObjectPresence.version_to > v),
            )
        )
    }


def _objects(session: Session, ids: Iterable[int]) -> list[DiffObject]:
    want = sorted(set(ids))
    out: list[DiffObject] = []
    for i in range(0, len(want), 500):
        out.extend(
            DiffObject(id=int(r.id), canonical_id=r.canonical_id, kind=r.kind)
            for r in session.execute(
                select(CatalogObject.id, CatalogObject.canonical_id, CatalogObject.kind).where(
                    CatalogObject.id.in_(want[i : i + 500])
                )
            )
        )
    return sorted(out, key=lambda o: o.canonical_id)


def _column_ids(session: Session, project_id: int, names: Iterable[str]) -> dict[str, int]:
    """Column ids of qualified ``object.column`` names found in the diff (exact names)."""
    out: dict[str, int] = {}
    for name in sorted(set(names)):
        owner, _, col = name.rpartition(".")
        cid = session.scalar(
            select(Column.id)
            .join(CatalogObject, CatalogObject.id == Column.object_id)
            .where(
                CatalogObject.project_id == project_id,
                CatalogObject.canonical_id == owner,
                Column.name == col,
            )
        )
        if cid is not None:
            out[name] = int(cid)
    return out


def _impact(
    session: Session,
    project_id: int,
    targets: dict[str, int],
    versions_: tuple[int, ...],
    statuses: Collection[str],
) -> tuple[list[ImpactedObject], dict[str, int]]:
    """Objects downstream of the given target columns in either version (nearest hop), and the
    number of downstream columns per target."""
    best: dict[int, int] = {}
    via: dict[int, set[str]] = defaultdict(set)
    consumers: dict[str, int] = {}
    for name, cid in targets.items():
        reached: dict[int, int] = {}
        for v in versions_:
            for node, hop in store_graph.reach(
                session,
                cid,
                direction="downstream",
                granularity="column",
                depth=DIFF_IMPACT_DEPTH,
                statuses=list(statuses),
                as_of=v,
            ).items():
                reached[node] = min(hop, reached.get(node, hop))
        consumers[name] = sum(1 for n, h in reached.items() if h > 0)
        owners = dict(
            (int(c), int(o))
            for c, o in session.execute(
                select(Column.id, Column.object_id).where(Column.id.in_(sorted(reached)))
            )
        )
        for node, hop in reached.items():
            oid = owners.get(node)
            if oid is None:
                continue
            if hop + 1 < best.get(oid, 1 << 30):
                best[oid] = hop + 1
            via[oid].add(name)
    objs = {o.id: o for o in _objects(session, best)}
    impacted = [
        ImpactedObject(
            id=oid, canonical_id=objs[oid].canonical_id, kind=objs[oid].kind, hop=h, via=sorted(via[oid])
        )
        for oid, h in best.items()
        if oid in objs
    ]
    impacted.sort(key=lambda x: (x.hop, x.canonical_id))
    return impacted, consumers


def diff(
    session: Session,
    project_ref: int | str,
    from_version: int | None = None,
    to_version: int | None = None,
    *,
    data_dir: Path | None = None,
    statuses: Collection[str] | None = None,
) -> DiffOut:
    """The lineage diff of a project between two of its versions (default: the last two)."""
    project = resolve_project(session, project_ref)
    pid = int(project.id)
    latest = versions.latest_version(session, pid)
    b = latest if to_version is None else to_version
    a = (b - 1) if from_version is None else from_version
    if a == 0 and from_version is None:
        a = 0
    if a > b:
        raise InvalidQueryError(f"from ({a}) must not be after to ({b})", details={"from": a, "to": b})
    check_version(session, pid, b, "to")
    if a != 0:
        check_version(session, pid, a, "from")
    wanted = list(VISIBLE_STATUSES if statuses is None else statuses)
    text = _Text(session, data_dir)

    def removed_w(m: Any) -> Any:
        return and_(m.version_from <= a, m.version_to > a, m.version_to <= b)

    def added_w(m: Any) -> Any:
        return and_(m.version_from > a, m.version_from <= b, or_(m.version_to.is_(None), m.version_to > b))

    grans: tuple[Granularity, ...] = ("table", "column")
    removed: list[DiffEdge] = []
    added: list[DiffEdge] = []
    for g in grans:
        removed += _edges(session, g, pid, removed_w, wanted, text)
        added += _edges(session, g, pid, added_w, wanted, text)
    removed, added, changed = _pair(removed, added)
    before, after = _present(session, pid, a) if a else set(), _present(session, pid, b)
    gone_cols = [e.target for e in removed if e.granularity == "column"]
    gone_cols += [c.before.target for c in changed if c.before.granularity == "column"]
    targets = _column_ids(session, pid, gone_cols)
    impacted, consumers = _impact(session, pid, targets, (a, b) if a else (b,), wanted)
    for e in [*removed, *(c.before for c in changed), *(c.after for c in changed)]:
        if e.granularity == "column":
            e.downstream = consumers.get(e.target, 0)
    return DiffOut(
        project_id=pid,
        project=project.name,
        **{"from": a},
        to=b,
        added=added,
        removed=removed,
        changed=changed,
        objects_added=_objects(session, after - before),
        objects_removed=_objects(session, before - after),
        impacted=impacted,
    )


# --------------------------------------------------------------------------------------
# rendering
# --------------------------------------------------------------------------------------


def _where(e: DiffEdge) -> str:
    if e.file is None:
        return f"{e.origin} edge" + (f" by {e.process}" if e.process else "")
    lines = f":{e.line_start}" if e.line_start else ""
    if e.line_end and e.line_end != e.line_start:
        lines += f"-{e.line_end}"
    return f"`{e.file}{lines}`"


def _code(s: str | None) -> str:
    s = " ".join((s or "").split())
    return f"`{s.replace('`', chr(39))}`" if s else "(no expression)"


def render_markdown(d: DiffOut, *, max_items: int = 200) -> str:
    """A pull-request-ready summary: what changed, which downstream objects are touched."""
    out: list[str] = [f"## Lineage changes in `{d.project}`: version {d.from_} → {d.to}", ""]
    n_imp = len(d.impacted)
    out.append(
        f"**{len(d.removed)} removed, {len(d.changed)} changed, {len(d.added)} added edges; "
        f"objects +{len(d.objects_added)} / −{len(d.objects_removed)}; "
        f"{n_imp} downstream object{'s' if n_imp != 1 else ''} touched.**"
    )
    risky = d.removed_with_consumers
    if risky:
        out += ["", f"> ⚠ {len(risky)} removed column edge(s) feed downstream consumers."]

    def section(title: str, items: list[str]) -> None:
        if not items:
            return
        out.extend(["", f"### {title}", ""])
        out.extend(items[:max_items])
        if len(items) > max_items:
            out.append(f"- … and {len(items) - max_items} more (truncated; use --format json for all)")

    def edge_line(e: DiffEdge) -> str:
        extra = f" — {e.downstream} downstream column(s)" if e.downstream else ""
        return f"- `{e.source}` → `{e.target}` ({e.kind}) {_code(e.expression)} in {_where(e)}{extra}"

    section("Removed", [edge_line(e) for e in d.removed])
    section(
        "Changed",
        [
            f"- `{c.before.target}` ← `{c.before.source}`: {_code(c.before.expression)} ({c.before.kind}, "
            f"{_where(c.before)}) → {_code(c.after.expression)} ({c.after.kind}, {_where(c.after)})"
            for c in d.changed
        ],
    )
    section("Added", [edge_line(e) for e in d.added])
    section("Objects added", [f"- `{o.canonical_id}` ({o.kind})" for o in d.objects_added])
    section("Objects removed", [f"- `{o.canonical_id}` ({o.kind})" for o in d.objects_removed])
    if d.impacted:
        rows = ["| hop | object | kind | via |", "|---:|---|---|---|"]
        rows += [f"| {i.hop} | `{i.canonical_id}` | {i.kind} | {', '.join(i.via)} |" for i in d.impacted]
        section("Downstream objects touched", rows)
    if not (d.removed or d.changed or d.added or d.objects_added or d.objects_removed):
        out += ["", "No lineage changes."]
    return "\n".join(out) + "\n"
