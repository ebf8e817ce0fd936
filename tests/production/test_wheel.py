"""The README's production recipe from a built wheel: install, bootstrap, serve with gunicorn."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
import zipfile
from pathlib import Path

import pytest
from pgserver import free_port

ROOT = Path(__file__).resolve().parents[2]
TITLE = "Bezahlkarte gemeinsam mit der Zivilgesellschaft evaluieren"  # from the Fachtag data


def _files(folder: Path) -> list[str]:
    """List the files below ``folder`` as relative POSIX paths, without bytecode caches."""
    return sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )


@pytest.fixture(scope="module")
def site(installed, tmp_path_factory):
    """Migrate and bootstrap a new SQLite database with the installed wheel, then serve it with
    gunicorn from that venv; everything runs in a folder outside the checkout.
    """
    home = tmp_path_factory.mktemp("site")
    env = {
        "TRACKER_ENV": "production",
        "TRACKER_DATABASE_URL": f"sqlite:///{home / 'tracker.sqlite3'}",
        "TRACKER_SECRET_KEY": "a-production-secret-for-the-wheel-test",
        "TRACKER_ADMIN_EMAIL": "admin@example.org",
        "TRACKER_ADMIN_PASSWORD": "ein-langes-admin-passwort",
    }
    upgraded = installed.run("tracker", "db", "upgrade", cwd=home, env=env)
    current = installed.run("tracker", "db", "current", cwd=home, env=env)
    bootstrapped = installed.run("tracker", "bootstrap", cwd=home, env=env)
    port = free_port()
    log = (home / "gunicorn.log").open("wb")
    server = subprocess.Popen(
        [installed.bin / "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}"]
        + ["tracker:create_app()"],
        cwd=home,
        env={**installed.env, **env},
        stdout=log,
        stderr=log,
    )
    yield {
        "home": home,
        "env": env,
        "url": f"http://127.0.0.1:{port}",
        "upgraded": upgraded,
        "current": current,
        "bootstrapped": bootstrapped,
        "log": home / "gunicorn.log",
    }
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    log.close()


@pytest.fixture(scope="module")
def get(site, wait_for):
    """GET a path from the gunicorn server, once it is up; return (status, content type, text)."""
    wait_for(site["url"] + "/healthz")

    def get(path: str, **headers) -> tuple[int, str, str]:
        request = urllib.request.Request(site["url"] + path, headers=headers)
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()

    return get


def test_wheel_ships_templates_static_migrations_translations_and_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = (
        [f"tracker/templates/{name}" for name in _files(ROOT / "templates")]
        + [f"tracker/migrations/{name}" for name in _files(ROOT / "migrations")]
        + [f"tracker/static/{name}" for name in _files(ROOT / "tracker/static")]
        + [f"tracker/data/{name}" for name in _files(ROOT / "tracker/data")]
        + ["tracker/translations/en/LC_MESSAGES/messages.mo"]
    )
    assert "tracker/templates/base.html" in expected
    assert "tracker/migrations/env.py" in expected
    assert [name for name in expected if name not in names] == []


def test_installed_package_runs_from_the_venv_not_the_checkout(installed, tmp_path):
    code = "import tracker; print(tracker.__file__); print(tracker.shipped('templates'))"
    printed = installed.run("python", "-c", code, cwd=tmp_path).stdout.split()
    venv = installed.bin.parent
    assert all(Path(p).is_relative_to(venv) for p in printed), printed
    assert not any(Path(p).is_relative_to(ROOT) for p in printed), printed


def test_db_upgrade_finds_the_shipped_migrations(site):
    assert "(head)" in site["current"].stdout
    assert "Path doesn't exist" not in site["upgraded"].stderr + site["bootstrapped"].stderr
    assert "Fachtag data loaded" in site["bootstrapped"].stdout


def test_gunicorn_serves_the_overview_and_a_demand(get):
    status, kind, overview = get("/")
    assert status == 200 and kind.startswith("text/html")
    assert TITLE in overview
    status, _, body = get("/api/v1/demands?per_page=100")
    (demand,) = [d for d in json.loads(body)["items"] if d["title"] == TITLE]
    status, _, page = get(f"/forderungen/{demand['id']}")
    assert status == 200
    assert TITLE in page and "erhoben" in page


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/stellen/", "Zuständige Stellen"),
        ("/stellen/", "Ministerium für Inneres und Sport"),
        ("/statistik", "Statistik"),
        ("/anmelden", 'name="csrf_token"'),
        ("/anmelden", "Anmelden"),
    ],
)
def test_gunicorn_serves_the_pages(get, path, expected):
    status, kind, text = get(path)
    assert status == 200 and kind.startswith("text/html")
    assert expected in text


def test_the_english_catalogue_is_shipped(get):
    _, _, text = get("/anmelden", **{"Accept-Language": "en"})
    assert "Log in" in text


def test_gunicorn_serves_the_openapi_document(get):
    status, kind, body = get("/api/v1/openapi.json")
    assert status == 200 and kind.startswith("application/json")
    document = json.loads(body)
    assert document["openapi"].startswith("3.")
    assert "/demands" in document["paths"]


def test_gunicorn_serves_the_stylesheet(get):
    _, _, overview = get("/")
    (href,) = re.findall(r'<link rel="stylesheet" href="([^"]+)"', overview)
    status, kind, css = get(href)
    assert status == 200 and kind.startswith("text/css")
    assert css == (ROOT / "tracker/static/style.css").read_text("utf-8")


def test_seed_and_export_run_from_the_wheel(installed, site):
    seeded = installed.run("tracker", "seed", cwd=site["home"], env=site["env"])
    assert "(0 new demands)" in seeded.stdout
    out = site["home"] / "daten.json"
    installed.run("tracker", "export", str(out), cwd=site["home"], env=site["env"])
    titles = [row["title"] for row in json.loads(out.read_text("utf-8"))["tables"]["demands"]]
    assert TITLE in titles
