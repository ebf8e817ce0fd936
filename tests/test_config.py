"""Settings from the environment, and what production refuses."""

from __future__ import annotations

import pytest

from tracker import create_app


def test_environment_overrides_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("TRACKER_DATABASE_URL", "postgresql://u:p@db.example.org/tracker")
    monkeypatch.setenv("TRACKER_SECRET_KEY", "s3cret")
    monkeypatch.setenv("TRACKER_ESCALATION_DAYS", "7")
    monkeypatch.setenv("TRACKER_REMINDER_CRON", "30 9 * * tue")
    app = create_app()
    assert (
        app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db.example.org/tracker"
    )
    assert app.config["SECRET_KEY"] == "s3cret"
    assert app.config["ESCALATION_DAYS"] == 7
    assert app.config["REMINDER_CRON"] == "30 9 * * tue"


def test_production_refuses_to_start_without_secret_key(monkeypatch):
    monkeypatch.delenv("TRACKER_SECRET_KEY", raising=False)
    monkeypatch.setenv("TRACKER_ENV", "production")
    with pytest.raises(RuntimeError, match="TRACKER_SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_development_keeps_a_generated_key(monkeypatch):
    monkeypatch.delenv("TRACKER_SECRET_KEY", raising=False)
    first = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).config["SECRET_KEY"]
    second = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).config["SECRET_KEY"]
    assert first == second and len(first) == 64


@pytest.mark.parametrize(("proxies", "remote"), [(0, "127.0.0.1"), (1, "203.0.113.9")])
def test_trusted_proxies(proxies, remote):
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": "sqlite://", "PROXIES": proxies, "SECRET_KEY": "x"}
    )

    @app.get("/_remote")
    def _remote():
        from flask import request

        return request.remote_addr

    response = app.test_client().get("/_remote", headers={"X-Forwarded-For": "203.0.113.9"})
    assert response.get_data(as_text=True) == remote
