"""Response (and request) shapes of the read API: pydantic models, shown in /docs.

The query functions return these; routers only pass them through.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")

Granularity = Literal["table", "column"]
Direction = Literal["upstream", "downstream"]

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
DEFAULT_DEPTH: int | None = None
"""Walks default to the full closure (`depth=all`); an int limits the hops."""
MAX_DEPTH = 10_000


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


# --------------------------------------------------------------------------------------
# projects and repositories
# --------------------------------------------------------------------------------------


class ProjectCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    description: str | None = None


class ProjectUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = None


class ProjectOut(BaseModel):
    id: int
    name: str
    description: str | None
    created_at: datetime
    repositories: int = 0
    objects: int = 0


class RepositoryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["upload", "directory", "git", "sql"] = "upload"
    url: str | None = None
    ref: str | None = Field(default=None, max_length=200)


class RepositoryOut(BaseModel):
    id: int
    project_id: int
    name: str
    kind: str
    url: str | None
    ref: str | None
    created_at: datetime
    files: int = 0
    namespace: str | None = None
    """OpenLineage namespace authority setting (null: the repository name); see PUT .../namespace."""


# --------------------------------------------------------------------------------------
# catalog
# --------------------------------------------------------------------------------------


class FileRef(BaseModel):
    id: int
    path: str
    repository_id: int


class NodeOut(BaseModel):
    id: int
    project_id: int
    canonical_id: str
    kind: str
    name: str
    schema_name: str | None = None
    database: str | None = None
    dialect: str | None = None
    file: FileRef | None = None
    line_start: int | None = None
    line_end: int | None = None
    column_count: int = 0
    description: str | None = None
    """Documentation that came with the code (e.g. a dbt model's or source's description)."""


class ColumnOut(BaseModel):
    id: int
    name: str
    ordinal: int | None
    data_type: str | None
    description: str | None = None
    """Documentation that came with the code (e.g. a dbt column description)."""


class NeighbourOut(BaseModel):
    """A directly connected object, with the edges that connect it."""

    id: int
    canonical_id: str
    kind: str
    via: Literal["edge", "process"] = "edge"
    """`edge`: a lineage edge to/from the node itself; `process`: an edge the node (a routine) runs."""
    expression: str | None = None
    file: str | None = None
    file_id: int | None = None
    line_start: int | None = None
    line_end: int | None = None
    source_text: str | None = None
    """The original text of the connecting statement's lines."""
    content_url: str | None = None


class NodeDetail(NodeOut):
    definition: str | None = None
    """The original text of the object's statement (its lines in the stored file); the SQL the
    parser regenerated only when the file text is not available (see `definition_source`)."""
    definition_source: Literal["file", "regenerated"] | None = None
    content_url: str | None = None
    """`/api/v1/files/{id}/content?from=&to=`: the definition's lines in their file."""
    columns: list[ColumnOut] = Field(default_factory=list)
    reads: list[NeighbourOut] = Field(default_factory=list)
    writes: list[NeighbourOut] = Field(default_factory=list)
    diagnostics: list[dict[str, Any]] = Field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None


# --------------------------------------------------------------------------------------
# graph
# --------------------------------------------------------------------------------------


class GraphNode(BaseModel):
    id: int
    """Object id (table granularity) or column id (column granularity)."""
    canonical_id: str
    """`[db.]schema.name`, or `[db.]schema.name.column` for a column."""
    kind: str
    """The object's kind; `column` for a column node."""
    hop: int
    """Distance from the root (0 for the root itself)."""
    project_id: int
    name: str
    object_id: int | None = None
    object_canonical_id: str | None = None
    object_kind: str | None = None
    file: str | None = None
    line_start: int | None = None
    line_end: int | None = None


class GraphEdge(BaseModel):
    id: int
    source: int
    target: int
    source_canonical_id: str
    target_canonical_id: str
    kind: str
    subtype: str | None = None
    """OpenLineage transformation subtype: IDENTITY, TRANSFORMATION, AGGREGATION (direct);
    JOIN, FILTER, GROUP_BY, SORT, WINDOW, CONDITIONAL (indirect)."""
    expression: str | None = None
    """The expression as the parser normalised it."""
    formula: str | None = None
    """The target as one SQL expression of persistent columns (temporary tables, CTEs and earlier
    writes of the routine substituted away)."""
    steps: list[int] = Field(default_factory=list)
    """Indexes of the file's statements that contributed, in data-flow order."""
    source_text: str | None = None
    """The original text of `line_start..line_end` of the stored file, byte for byte."""
    file: str | None = None
    file_id: int | None = None
    line_start: int | None = None
    """True 1-based lines of the original file."""
    line_end: int | None = None
    content_url: str | None = None
    """`/api/v1/files/{file_id}/content?from=&to=`."""
    process: str | None = None
    confidence: float = 1.0
    origin: str = "parser"
    status: str = "proposed"


class GraphOut(BaseModel):
    root: GraphNode | None
    roots: list[GraphNode] = Field(default_factory=list)
    """Column granularity on an object: every column of it is a root."""
    direction: Direction | None = None
    granularity: Granularity = "table"
    depth: int | None = DEFAULT_DEPTH
    """The hop limit asked for; null: the full closure."""
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    truncated: bool = False
    """Reachable nodes were left out (a depth limit or the node cap); the nearest are returned."""
    omitted: int = 0
    """How many reachable nodes were left out."""


class PathOut(BaseModel):
    source: GraphNode
    target: GraphNode
    found: bool
    hops: int | None
    granularity: Granularity = "table"
    nodes: list[GraphNode]
    edges: list[GraphEdge]


class ImpactGroup(BaseModel):
    kind: str
    hop: int
    count: int
    nodes: list[GraphNode]


class ImpactOut(BaseModel):
    root: GraphNode
    depth: int | None
    total: int
    truncated: bool = False
    """Affected objects were left out (a depth limit or the node cap)."""
    omitted: int = 0
    by_kind: dict[str, int]
    by_hop: dict[int, int]
    groups: list[ImpactGroup]


class EdgeOut(BaseModel):
    id: int
    project_id: int
    granularity: Granularity
    source: int
    target: int
    source_canonical_id: str
    target_canonical_id: str
    kind: str
    subtype: str | None = None
    expression: str | None = None
    formula: str | None = None
    steps: list[int] = Field(default_factory=list)
    source_text: str | None = None
    file: str | None = None
    file_id: int | None = None
    line_start: int | None = None
    line_end: int | None = None
    content_url: str | None = None
    process: str | None = None
    confidence: float
    origin: str
    status: str


class SearchHit(BaseModel):
    node: NodeOut
    score: float
    """Higher is better; comparable within one match kind only."""
    match: Literal["fts", "fuzzy", "substring"] = "fts"
    matched: list[str] = Field(default_factory=list)
    """Which fields matched: name, column, definition."""
    columns: list[str] = Field(default_factory=list)
    """Matching column names, when the query hit columns."""


# --------------------------------------------------------------------------------------
# files and config
# --------------------------------------------------------------------------------------


class FileOut(BaseModel):
    id: int
    project_id: int
    repository_id: int
    path: str
    sha256: str
    size: int
    dialect: str | None
    version: int
    status: str
    error: str | None
    error_line: int | None = None
    """Line of the first parse error in the original file (status `error`)."""
    error_column: int | None = None
    superseded_by: int | None
    run_id: int | None
    created_at: datetime


class FileContent(BaseModel):
    """A line range of one stored file version (1-based, inclusive)."""

    file_id: int
    path: str
    sha256: str
    dialect: str | None
    line_start: int
    line_end: int
    total_lines: int
    lines: list[str]


class FileStats(BaseModel):
    files: int
    total_bytes: int
    by_status: dict[str, int]
    by_dialect: dict[str, int]
    active_bytes: int
    objects: int
    table_edges: int
    column_edges: int


class DialectsOut(BaseModel):
    default: str = "auto"
    dialects: list[str]
    aliases: dict[str, str]


# --------------------------------------------------------------------------------------
# explain (composed formulas with their evidence)
# --------------------------------------------------------------------------------------


class ExplainStep(BaseModel):
    """One statement that contributed to a column, with its original text and true lines."""

    target: str | None = None
    """What the statement writes (the explained column for the final step; a temporary table
    or an upstream column for earlier ones)."""
    expression: str | None = None
    kind: str
    """`direct`/`indirect` for the statement that writes the column; the statement kind
    (insert, select_into, merge, update, ...) for the statements before it."""
    file: str | None = None
    file_id: int | None = None
    line_start: int | None = None
    line_end: int | None = None
    source_text: str | None = None
    content_url: str | None = None
    statement_index: int | None = None


class ExplainAlternative(BaseModel):
    """Another writer of the same column (a MERGE branch, another procedure): never dropped."""

    formula: str
    sources: list[str]
    steps: list[ExplainStep] = Field(default_factory=list)


class ExplainOut(BaseModel):
    column: str
    """The explained column, `schema.table.column`."""
    formula: str
    """One SQL expression for the column in terms of `sources`."""
    sources: list[str]
    """Qualified base columns the formula reads (persistent ones, or leaves with through=all)."""
    steps: list[ExplainStep]
    """Every contributing statement, in data-flow order."""
    alternatives: list[ExplainAlternative] = Field(default_factory=list)
    through: Literal["persistent", "all"] = "persistent"
    truncated: bool = False
    """The composition stopped at the node cap (or a cycle) before reaching every leaf."""
    omitted: int = 0
    """Upstream columns the walk left out at the node cap (`through=all`; as the lineage walks)."""
