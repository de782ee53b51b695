"""The parse worker stores the engine's table-level flow: temporary tables and table variables
collapsed by the rollup's rule (one collapse), with the moving statement as provenance."""

from __future__ import annotations

from finlineage.ingest.worker import facts_from_result
from finlineage.lineage import extract

SQL = """CREATE PROCEDURE risk.build_limits AS
BEGIN
  DECLARE @caps TABLE (desk INT, cap DECIMAL(18,2));
  INSERT INTO @caps (desk, cap) SELECT desk, cap FROM ref.desk_caps;
  SELECT d.desk, d.cap INTO #lim FROM @caps d;
  INSERT INTO risk.limits (desk, cap) SELECT desk, cap FROM #lim;
END
GO
CREATE PROCEDURE risk.build_usage AS
BEGIN
  SELECT desk, used AS cap INTO #lim FROM risk.usage_feed;
  INSERT INTO risk.usage (desk, used) SELECT desk, cap FROM #lim;
END
GO
"""


def test_table_edges_collapse_temporaries_per_routine() -> None:
    facts = facts_from_result(extract(SQL, "tsql"))
    edges = {(e[0], e[1], e[2]) for e in facts["table_edges"] if e[2] == "direct"}
    assert edges == {("ref.desk_caps", "risk.limits", "direct"), ("risk.usage_feed", "risk.usage", "direct")}
    lines = {(e[0], e[1]): (e[6], e[7]) for e in facts["table_edges"]}
    assert lines[("ref.desk_caps", "risk.limits")] == (6, 6)  # the INSERT that moves the rows
    assert not any(n.startswith(("#", "@")) for e in facts["table_edges"] for n in e[:2])
