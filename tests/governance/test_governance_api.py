"""Maker-checker review, history, versions, diffs and point-in-time answers over a real server."""

from __future__ import annotations

from typing import Any

from .conftest import PROC_V2, Server, corpus


def _col_upstream(s: Server, ref: str, **params: Any) -> set[tuple[str, str]]:
    with s.client("victor") as c:
        r = c.get(f"/api/v1/lineage/column/{ref}/upstream", params={"project_id": 1, "depth": 5, **params})
    assert r.status_code == 200, r.text
    return {(e["source_canonical_id"], e["target_canonical_id"]) for e in r.json()["edges"]}


def _statuses(s: Server, ref: str, **params: Any) -> set[str]:
    with s.client("victor") as c:
        r = c.get(f"/api/v1/lineage/column/{ref}/upstream", params={"project_id": 1, "depth": 5, **params})
    assert r.status_code == 200, r.text
    return {e["status"] for e in r.json()["edges"]}


def _propose(s: Server, who: str, source: str, target: str, **extra: Any) -> Any:
    with s.client(who) as c:
        return c.post(
            "/api/v1/lineage/edges",
            json={"project_id": "gov", "source": source, "target": target, "kind": "direct", **extra},
        )


def _review(s: Server, who: str, ref: str, decision: str, **extra: Any) -> Any:
    with s.client(who) as c:
        return c.post(f"/api/v1/lineage/edges/{ref}/review", json={"decision": decision, **extra})


def test_parsed_edges_are_observed_and_each_changing_run_is_a_version(server: Server) -> None:
    server.upload(corpus())
    assert _statuses(server, "agg.balances.amt_eur") == {"observed"}
    assert ("fxr.quotes.mid", "agg.balances.amt_eur") in _col_upstream(server, "agg.balances.amt_eur")
    server.upload(corpus())  # identical: no change, no version
    server.upload(corpus(PROC_V2))
    with server.client("victor") as c:
        r = c.get("/api/v1/projects/gov/versions")
    assert r.status_code == 200, r.text
    body = r.json()
    assert [v["version"] for v in body["versions"]] == [1, 2] and body["current"] == 2
    v1, v2 = body["versions"]
    assert v1["files"] == 3 and v1["objects"] >= 5 and v1["edges"] > v2["edges"] > 0
    assert v1["run_id"] != v2["run_id"] and v1["source"] == "upload"


def test_proposed_edge_is_followed_only_once_approved_by_another_editor(server: Server) -> None:
    server.upload(corpus())
    target = "rep.v_filing.value_eur"
    assert ("ledger.entries.booked", target) not in _col_upstream(server, target)
    # unknown objects and columns are named
    r = _propose(server, "alice", "ledger.entries.no_such", target)
    assert r.status_code == 422 and r.json()["details"][0]["missing"] == "column"
    assert "no_such" in r.json()["message"]
    r = _propose(server, "alice", "ghost.table.col", target)
    assert r.status_code == 422 and r.json()["details"][0]["missing"] == "object"
    # viewers cannot propose
    assert _propose(server, "victor", "ledger.entries.booked", target).status_code == 403

    r = _propose(server, "alice", "ledger.entries.booked", target, note="booking date drives the filing")
    assert r.status_code == 201, r.text
    edge = r.json()
    assert (edge["origin"], edge["status"], edge["created_by"]) == ("manual", "proposed", "alice")
    ref = edge["ref"]
    assert ("ledger.entries.booked", target) not in _col_upstream(server, target)
    assert ("ledger.entries.booked", target) in _col_upstream(
        server, target, status="observed,proposed,approved"
    )
    with server.client("victor") as c:
        queue = c.get("/api/v1/lineage/reviews", params={"project_id": "gov"}).json()
    assert [e["ref"] for e in queue["proposed"]] == [ref]

    r = _review(server, "alice", ref, "approve")
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    r = _review(server, "bob", ref, "approve", comment="checked against the filing spec")
    assert r.status_code == 200, r.text
    assert r.json()["edge"]["status"] == "approved"
    assert ("ledger.entries.booked", target) in _col_upstream(server, target)
    assert _review(server, "bob", ref, "reject").status_code == 409
    assert _propose(server, "bob", "ledger.entries.booked", target).status_code == 409  # same edge

    with server.client("victor") as c:
        hist = c.get(f"/api/v1/lineage/edges/{ref}/history").json()
    events = [(e["action"], e["actor"]) for e in hist["events"]]
    assert events == [("created", "alice"), ("reviewed", "bob")]
    assert hist["events"][1]["comment"] == "checked against the filing spec"
    assert hist["events"][1]["data"]["decision"] == "approve"


def test_admin_override_is_recorded_and_editors_cannot_override(server: Server) -> None:
    server.upload(corpus())
    r = _propose(server, "carol", "fxr.quotes", "rep.filing")  # table-level edge
    assert r.status_code == 201 and r.json()["granularity"] == "table"
    ref = r.json()["ref"]
    assert _review(server, "carol", ref, "approve").status_code == 403  # even an admin needs override
    r = _review(server, "carol", ref, "approve", override=True, comment="emergency fix")
    assert r.status_code == 200, r.text
    reviewed = r.json()["events"][-1]
    assert reviewed["actor"] == "carol" and reviewed["data"]["override"] is True

    mine = _propose(server, "alice", "ledger.entries", "rep.filing").json()["ref"]
    r = _review(server, "alice", mine, "reject", override=True)
    assert r.status_code == 403 and "admin" in r.json()["message"]
    r = _review(server, "bob", mine, "reject", comment="no such flow")
    assert r.status_code == 200 and r.json()["edge"]["status"] == "rejected"


def test_csv_import_is_all_or_nothing_with_errors_per_row(server: Server) -> None:
    server.upload(corpus())
    bad = (
        "source,target,kind,note\n"
        "ledger.entries.booked,rep.v_filing.value_eur,direct,ok\n"
        "ledger.entries.missing,rep.v_filing.value_eur,direct,\n"
        "fxr.quotes,rep.filing.value_eur,indirect,mixed granularity\n"
    )
    with server.client("alice") as c:
        r = c.post("/api/v1/lineage/edges/import", data={"project_id": "gov", "csv": bad})
        assert r.status_code == 422, r.text
        rows = {d["row"]: d for d in r.json()["details"]}
        assert set(rows) == {3, 4}
        assert rows[3]["errors"][0]["missing"] == "column"
        assert "both must be" in rows[4]["errors"][0]["message"]
        assert c.get("/api/v1/lineage/reviews", params={"project_id": "gov"}).json()["proposed"] == []
        good = "source,target,kind,note\nledger.entries.booked,rep.v_filing.value_eur,indirect,x\nfxr.quotes,rep.filing,,\n"
        r = c.post(
            "/api/v1/lineage/edges/import",
            data={"project_id": "gov"},
            files={"file": ("edges.csv", good.encode(), "text/csv")},
        )
    assert r.status_code == 201, r.text
    assert r.json()["created"] == 2
    assert {(e["granularity"], e["kind"]) for e in r.json()["edges"]} == {
        ("column", "indirect"),
        ("table", "direct"),
    }


def test_snapshot_reingest_keeps_reviewed_edges_and_orphans_are_listed(server: Server) -> None:
    server.upload(corpus(extra=True))
    kept = _propose(server, "alice", "ledger.entries.booked", "rep.v_filing.value_eur").json()["ref"]
    assert _review(server, "bob", kept, "approve").status_code == 200
    lonely = _propose(server, "alice", "side.notes.body", "rep.v_filing.value_eur").json()["ref"]
    assert _review(server, "bob", lonely, "approve").status_code == 200
    # a snapshot of a changed tree without side.sql: every file re-ingested or removed
    server.upload(corpus(PROC_V2), mode="snapshot")
    up = _col_upstream(server, "rep.v_filing.value_eur")
    assert ("ledger.entries.booked", "rep.v_filing.value_eur") in up
    assert ("side.notes.body", "rep.v_filing.value_eur") in up  # kept, never silently deleted
    with server.client("victor") as c:
        queue = c.get("/api/v1/lineage/reviews", params={"project_id": "gov"}).json()
        hist = c.get(f"/api/v1/lineage/edges/{lonely}/history").json()
    assert [e["ref"] for e in queue["orphaned"]] == [lonely]
    assert hist["edge"]["orphaned"] is True
    assert hist["events"][-1]["action"] == "orphaned" and "side.notes" in hist["events"][-1]["comment"]


def test_diff_of_a_changed_procedure_and_as_of_answers(server: Server) -> None:
    server.upload(corpus())
    server.upload(corpus(PROC_V2))
    with server.client("victor") as c:
        r = c.get("/api/v1/lineage/diff", params={"project_id": "gov", "from": 1, "to": 2})
        assert r.status_code == 200, r.text
        d = r.json()
        md = c.get(
            "/api/v1/lineage/diff", params={"project_id": "gov", "from": 1, "to": 2, "format": "markdown"}
        )
        missing = c.get("/api/v1/lineage/diff", params={"project_id": "gov", "from": 1, "to": 9})
    assert (d["from"], d["to"]) == (1, 2)
    removed = {(e["source"], e["target"]) for e in d["removed"] if e["granularity"] == "column"}
    assert ("fxr.quotes.mid", "agg.balances.amt_eur") in removed
    gone = next(
        e for e in d["removed"] if e["source"] == "fxr.quotes.mid" and e["target"] == "agg.balances.amt_eur"
    )
    assert gone["file"] == "etl/load_balances.sql" and "q.mid" in (gone["source_text"] or "")
    assert gone["line_start"] is not None and gone["downstream"] >= 1
    changed = {(c["before"]["source"], c["before"]["target"]): c for c in d["changed"]}
    amt = changed[("ledger.entries.amt", "agg.balances.amt_eur")]
    assert "mid" in amt["before"]["expression"] and "mid" not in (amt["after"]["expression"] or "")
    impacted = {i["canonical_id"]: i["hop"] for i in d["impacted"]}
    assert impacted["agg.balances"] == 1 and impacted["rep.v_filing"] == 2
    # unchanged files are not reported
    assert not [e for e in d["added"] + d["removed"] if e["target"].startswith("rep.v_filing")]
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert "`fxr.quotes.mid` → `agg.balances.amt_eur`" in md.text and "rep.v_filing" in md.text
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"

    # point in time: version 1 still has the FX edge, the current graph does not
    now = _col_upstream(server, "agg.balances.amt_eur")
    then = _col_upstream(server, "agg.balances.amt_eur", as_of=1)
    assert ("fxr.quotes.mid", "agg.balances.amt_eur") in then
    assert ("fxr.quotes.mid", "agg.balances.amt_eur") not in now
    with server.client("victor") as c:
        imp_then = c.get("/api/v1/lineage/impact/fxr.quotes", params={"project_id": 1, "as_of": 1}).json()
        imp_now = c.get("/api/v1/lineage/impact/fxr.quotes", params={"project_id": 1}).json()
        bad = c.get("/api/v1/lineage/column/agg.balances.amt_eur/upstream", params={"as_of": 7})
    assert imp_then["total"] >= 2 and imp_now["total"] == 0
    assert bad.status_code == 404


def test_a_governed_edge_the_parser_now_sees_is_superseded(server: Server) -> None:
    server.upload(corpus())
    ref = _propose(server, "alice", "agg.balances.cur", "rep.v_filing.value_eur").json()["ref"]
    assert _review(server, "bob", ref, "approve").status_code == 200
    seen = b"CREATE VIEW rep.v_filing AS\nSELECT entry_id, COALESCE(amt_eur, cur) AS value_eur FROM agg.balances;\n"
    files = [f for f in corpus() if f[0] != "rep/filing.sql"] + [("rep/filing.sql", seen)]
    server.upload(files)
    with server.client("victor") as c:
        hist = c.get(f"/api/v1/lineage/edges/{ref}/history").json()
        r = c.get(
            "/api/v1/lineage/column/rep.v_filing.value_eur/upstream", params={"project_id": 1, "depth": 1}
        )
    assert hist["events"][-1]["action"] == "superseded" and hist["events"][-1]["actor"].startswith("run:")
    assert hist["edge"]["version_to"] == 2
    edges = [e for e in r.json()["edges"] if e["source_canonical_id"] == "agg.balances.cur"]
    assert [e["status"] for e in edges] == ["observed"]  # the fact took over; no duplicate


def test_export_answers_from_an_old_version(server: Server) -> None:
    server.upload(corpus())
    server.upload(corpus(PROC_V2))
    with server.client("victor") as c:
        params = {"format": "csv", "granularity": "column", "project_id": 1}
        now = c.get("/api/v1/export", params=params).text
        then = c.get("/api/v1/export", params={**params, "as_of": 1}).text
        no_project = c.get("/api/v1/export", params={"format": "csv", "as_of": 1})
    assert "fxr.quotes.mid" in then and "fxr.quotes.mid" not in now
    assert now.count("agg.balances.amt_eur") >= 1  # the current edge, once; the closed one is not exported
    assert no_project.status_code == 422


def test_explain_as_of_answers_from_the_old_version(server: Server) -> None:
    server.upload(corpus())
    server.upload(corpus(PROC_V2))
    with server.client("victor") as c:
        url = "/api/v1/lineage/column/agg.balances.amt_eur/explain"
        then = c.get(url, params={"project_id": 1, "as_of": 1})
        now = c.get(url, params={"project_id": 1})
        missing = c.get(url, params={"project_id": 1, "as_of": 3})
    assert then.status_code == 200 and now.status_code == 200, (then.text, now.text)
    assert "fxr.quotes.mid" in then.json()["sources"]
    assert "fxr.quotes.mid" not in now.json()["sources"]
    assert missing.status_code == 404
