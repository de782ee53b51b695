"""Corpus setup shared by the in-process benchmarks: ingest a directory into a fresh store.

Imported by the bench scripts (bench/ is on sys.path when they run); they put src/ on sys.path
before calling, so finlineage is imported inside the function.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any


def ingest(corpus: Path, url: str, data_dir: Path, project: str = "bench") -> tuple[Any, Any, int, float]:
    """Migrate the store at `url`, ingest `corpus` with the real ingestion service as project and
    repository `project`; returns (engine, session factory, project id, seconds ingesting)."""
    from finlineage.ingest.service import IngestionService
    from finlineage.settings import Settings
    from finlineage.store import db as store_db
    from finlineage.store.models import Project

    settings = Settings(
        data_dir=data_dir,
        log_dir=data_dir / "logs",
        database_url=url,
        load_demo=False,
        ingest_roots=[str(corpus.resolve())],
    )
    store_db.migrate(url)
    engine = store_db.create_engine_for(url)
    sessions = store_db.session_factory(engine)
    svc = IngestionService(settings, sessions)
    t0 = time.perf_counter()
    try:
        run = svc.create_directory_run(
            project=project,
            paths=[str(corpus.resolve())],
            repository_name=project,
            restrict=False,
            create_project=True,
        )
        svc.run_sync(run)
    finally:
        svc.close()
    seconds = time.perf_counter() - t0
    with sessions() as s:
        pid = s.query(Project.id).filter(Project.name == project).scalar()
    return engine, sessions, int(pid), seconds
