"""The HTTP service: FastAPI over the Engine."""

from likewise.service.app import create_app

__all__ = ["create_app"]
