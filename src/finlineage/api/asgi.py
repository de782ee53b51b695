"""ASGI entry for uvicorn (`finlineage.api.asgi:create_from_env`, factory=True): settings from the env."""

from __future__ import annotations

from fastapi import FastAPI

from finlineage.api.app import create_app
from finlineage.settings import Settings


def create_from_env() -> FastAPI:
    settings = Settings()
    return create_app(settings, serving_host=settings.host)
