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


def test_development_keeps_a_generated_key_in_the_instance_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("TRACKER_SECRET_KEY", raising=False)
    monkeypatch.setenv("TRACKER_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.instance_path == str(tmp_path / "instance")
    first = app.config["SECRET_KEY"]
    second = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).config["SECRET_KEY"]
    assert first == second and len(first) == 64
    assert (tmp_path / "instance" / "secret_key").read_text() == first


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


# the base URL of links follows the development server's port (issue 9, point 11) -------------


def _bare_app(**config):
    """An app with no BASE_URL of its own, as ``make run`` creates it."""
    return create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x", **config})


def _links(app) -> dict[str, str]:
    """The absolute links the app hands out: the API's OpenAPI server and a demand link."""
    from tracker.services.links import external_url

    with app.app_context():
        demand = external_url("public.demand", demand_id=5)
    servers = app.test_client().get("/api/v1/openapi.json").get_json()["servers"]
    return {"demand": demand, "openapi": servers[0]["url"]}


def test_serve_points_every_link_at_its_port(monkeypatch):
    monkeypatch.delenv("TRACKER_BASE_URL", raising=False)
    monkeypatch.delenv("PORT", raising=False)
    served = {}
    monkeypatch.setattr(
        "werkzeug.serving.run_simple", lambda host, port, app, **kw: served.update(app=app)
    )
    app = _bare_app()
    with app.app_context():  # as the ``tracker`` command runs it
        result = app.test_cli_runner().invoke(args=["serve", "--port", "8000", "--no-scheduler"])
    assert result.exit_code == 0, result.output
    assert _links(served["app"]) == {
        "demand": "http://127.0.0.1:8000/forderungen/5",
        "openapi": "http://127.0.0.1:8000/api/v1",
    }


def test_port_from_the_environment_as_make_run_passes_it(monkeypatch):
    monkeypatch.delenv("TRACKER_BASE_URL", raising=False)
    monkeypatch.setenv("PORT", "8000")
    assert _links(_bare_app())["demand"] == "http://127.0.0.1:8000/forderungen/5"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"TRACKER_BASE_URL": "https://forderungen.example.org"},
            "https://forderungen.example.org",
        ),
        ({"TRACKER_ENV": "production", "TRACKER_SECRET_KEY": "s"}, "http://127.0.0.1:5000"),
    ],
)
def test_an_explicit_base_url_and_production_ignore_the_port(monkeypatch, env, expected):
    monkeypatch.delenv("TRACKER_BASE_URL", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PORT", "8000")
    served = {}
    monkeypatch.setattr(
        "werkzeug.serving.run_simple", lambda host, port, app, **kw: served.update(app=app)
    )
    app = _bare_app()
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["serve", "--port", "8001", "--no-scheduler"])
    assert result.exit_code == 0, result.output
    assert _links(served["app"])["demand"] == f"{expected}/forderungen/5"


# ``tracker serve`` keeps Werkzeug's debugger off unless asked for (black-box finding 4) ---------


def _served(monkeypatch, *args):
    """Run ``tracker serve`` and return the WSGI app it would serve, as run_simple wraps it."""
    served = {}
    monkeypatch.setattr(
        "werkzeug.serving.run_simple",
        lambda host, port, app, **kw: served.update(app=app, kw=kw),
    )
    app = _bare_app()

    @app.get("/_boom")
    def _boom():
        raise RuntimeError("boom")

    with app.app_context():
        result = app.test_cli_runner().invoke(args=["serve", "--no-scheduler", *args])
    assert result.exit_code == 0, result.output
    assert served["kw"]["use_reloader"] is True
    wsgi = served["app"]
    if served["kw"].get("use_debugger"):  # what run_simple itself would wrap it in
        from werkzeug.debug import DebuggedApplication

        wsgi = DebuggedApplication(wsgi, evalex=True)
    from werkzeug.test import Client

    return Client(wsgi)


def test_serve_has_no_console_and_shows_the_branded_error_page(monkeypatch):
    client = _served(monkeypatch)
    assert client.get("/console").status_code == 404
    response = client.get("/_boom")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Interner Fehler" in page and "Forderungstracker" in page
    assert "Traceback (most recent" not in page and "RuntimeError" not in page


def test_serve_with_debugger_opts_in_to_the_console(monkeypatch):
    client = _served(monkeypatch, "--debugger")
    assert client.get("/console").status_code == 200
