"""The JSON API under /api/v1: public reads, staff writes with personal API tokens."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from . import answers, evidence, views  # noqa: E402,F401  (registers the routes)
