"""The deployment files: docker-compose.yml, the Dockerfile and .dockerignore agree with each other and the code."""

import importlib
import json
import re
import shlex
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from celery import Celery
from celery.app.utils import find_app

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("web", "worker", "beat")


# --- Helpers -----------------------------------------------------------------------------


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _services() -> dict[str, Any]:
    return _compose()["services"]


def _argv(service: dict[str, Any]) -> list[str]:
    """A service's entrypoint plus command as one argv; a `sh -c "..."` string is split into words too."""
    argv: list[str] = []
    for key in ("entrypoint", "command"):
        value = service.get(key)
        if value is None:
            continue
        argv += shlex.split(value) if isinstance(value, str) else [str(part) for part in value]
    words: list[str] = []
    for part in argv:
        words += shlex.split(part) if " " in part else [part]
    return words


def _runs_migrate(service: dict[str, Any]) -> bool:
    return "migrate" in _argv(service)


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with comments dropped and `\\` continuations joined."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
    return instructions


def _exec_form(args: str) -> list[str]:
    return json.loads(args) if args.startswith("[") else shlex.split(args)


def _copy_sources() -> list[str]:
    """What the Dockerfile COPYs (or ADDs) from the build context; copies from another stage are left out."""
    sources: list[str] = []
    for keyword, args in _dockerfile_instructions():
        if keyword not in ("COPY", "ADD"):
            continue
        words = _exec_form(args)
        if any(word.startswith("--from") for word in words):
            continue
        paths = [word for word in words if not word.startswith("--")]
        sources += paths[:-1]
    return sources


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """Docker's .dockerignore pattern syntax: `**` spans folders, `*` and `?` stay within one."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            i += 2
            if pattern[i : i + 1] == "/":
                out += "(?:.*/)?"
                i += 1
            else:
                out += ".*"
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        elif pattern[i] == "[":
            end = pattern.index("]", i + 1)
            body = pattern[i + 1 : end]
            out += "[" + ("^" + body[1:] if body.startswith(("!", "^")) else body) + "]"
            i = end + 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out)


def _parse_ignore(text: str) -> list[tuple[bool, str, re.Pattern[str]]]:
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exclusion = line.startswith("!")
        pattern = line[1:].strip() if exclusion else line
        pattern = pattern.strip("/")
        while pattern.startswith("./"):
            pattern = pattern[2:]
        if pattern:
            rules.append((exclusion, pattern, _pattern_regex(pattern)))
    return rules


def _ignored_by(rules: list[tuple[bool, str, re.Pattern[str]]], path: str) -> bool:
    """Docker's rule: a path is left out if it, or a folder above it, matches; the last matching line wins."""
    parts = path.strip("/").split("/")
    candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    ignored = False
    for exclusion, _pattern, regex in rules:
        if any(regex.fullmatch(candidate) for candidate in candidates):
            ignored = not exclusion
    return ignored


@cache
def _dockerignore_rules() -> list[tuple[bool, str, re.Pattern[str]]]:
    path = ROOT / ".dockerignore"
    assert path.exists(), ".dockerignore is missing: `COPY . .` would ship .git, .venv and var/"
    return _parse_ignore(path.read_text())


def _ignored(path: str) -> bool:
    return _ignored_by(_dockerignore_rules(), path)


def _app_folders() -> list[str]:
    """The top-level Python packages the image runs: config and every Django app."""
    return sorted(
        p.name
        for p in ROOT.iterdir()
        if p.is_dir() and (p / "__init__.py").exists() and p.name not in ("tests",) and not p.name.startswith(".")
    )


# --- docker-compose.yml ------------------------------------------------------------------


def test_compose_file_describes_the_full_stack():
    compose = _compose()
    services = compose["services"]
    assert set(services) >= {"postgres", "redis", "migrate", "web", "worker", "beat"}
    for name in ("postgres", "redis", "web"):
        assert "test" in services[name]["healthcheck"], f"{name} needs a healthcheck"
    assert "gunicorn" in _argv(services["web"])
    assert "worker" in _argv(services["worker"])
    assert "beat" in _argv(services["beat"])
    for name in ("migrate", *APP_SERVICES):
        env = services[name]["environment"]
        assert env["DJANGO_ENV"] == "production"
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["CELERY_BROKER_URL"].startswith("redis://")
        assert env["CACHE_URL"].startswith("redis://")
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
    # Uploads survive restarts and are shared by the web and worker containers.
    assert any(str(v).startswith("uploads:") for v in services["web"]["volumes"])
    assert any(str(v).startswith("uploads:") for v in services["worker"]["volumes"])
    assert "uploads" in compose["volumes"]
    assert (ROOT / "Dockerfile").exists()


def test_web_worker_and_beat_never_run_migrate():
    services = _services()
    for name in APP_SERVICES:
        argv = _argv(services[name])
        assert argv, f"{name} needs an explicit command"
        assert not any("migrate" in word for word in argv), f"{name} must not migrate on start: {argv}"


def test_exactly_one_one_shot_service_migrates_and_the_app_waits_for_it():
    services = _services()
    migrators = [name for name, service in services.items() if _runs_migrate(service)]
    assert migrators == ["migrate"], migrators
    migrate = services["migrate"]
    assert _argv(migrate) == ["python", "manage.py", "migrate", "--database", "owner", "--noinput"]
    assert str(migrate["restart"]) == "no", "a one-shot service must not be restarted after it exits"
    assert migrate.get("image") == services["web"]["image"] and migrate.get("build") == services["web"]["build"]
    assert "migrate" not in migrate["depends_on"]
    for name in APP_SERVICES:
        depends = services[name]["depends_on"]
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions, not a bare list"
        assert depends.get("migrate", {}).get("condition") == "service_completed_successfully", name


def _database_user(url: str) -> str:
    return url.split("://", 1)[1].split(":", 1)[0]


def test_the_owner_migrates_and_the_application_role_serves():
    services = _services()
    roles, migrate = services["roles"], services["migrate"]
    # The roles exist before migrate runs; migrate runs as the owner, through the `owner` alias.
    assert _argv(roles) == ["python", "manage.py", "db_roles_create"]
    assert str(roles["restart"]) == "no"
    assert migrate["depends_on"]["roles"]["condition"] == "service_completed_successfully"
    owner = _database_user(migrate["environment"]["MIGRATION_DATABASE_URL"])
    assert roles["environment"]["MIGRATION_DATABASE_URL"] == migrate["environment"]["MIGRATION_DATABASE_URL"]
    superuser = services["postgres"]["environment"]["POSTGRES_USER"]
    assert _database_user(roles["environment"]["DATABASE_SUPERUSER_URL"]) == superuser
    for name in ("roles", "migrate", *APP_SERVICES):
        app = _database_user(services[name]["environment"]["DATABASE_URL"])
        assert app not in (owner, superuser), f"{name} would serve as {app}"
    # Only the one-shot services know the owner's login, and only `roles` the superuser's.
    for name, service in services.items():
        env = service.get("environment", {})
        assert ("MIGRATION_DATABASE_URL" in env) == (name in ("roles", "migrate")), name
        assert ("DATABASE_SUPERUSER_URL" in env) == (name == "roles"), name


def test_compose_commands_name_the_config_project():
    services = _services()
    web = _argv(services["web"])
    assert "config.wsgi:application" in web
    for name, subcommand in (("worker", "worker"), ("beat", "beat")):
        argv = _argv(services[name])
        assert argv[0] == "celery", argv
        app = argv[argv.index("-A") + 1] if "-A" in argv else None
        assert app == "config", f"{name} runs celery -A {app}"
        assert subcommand in argv
    text = (ROOT / "docker-compose.yml").read_text()
    assert "marketplace.wsgi" not in text and "marketplace.settings" not in text
    assert not re.search(r"-A[\"', ]+marketplace\b", text)


# --- Dockerfile ----------------------------------------------------------------------------


def test_dockerfile_serves_config_wsgi_as_an_unprivileged_user():
    instructions = _dockerfile_instructions()
    cmds = [args for keyword, args in instructions if keyword == "CMD"]
    assert cmds, "the Dockerfile needs a CMD"
    cmd = _exec_form(cmds[-1])
    assert cmd[:2] == ["gunicorn", "config.wsgi:application"], cmd
    users = [args.strip() for keyword, args in instructions if keyword == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0"), "gunicorn must not run as root"
    envs = " ".join(args for keyword, args in instructions if keyword == "ENV")
    settings = re.search(r"DJANGO_SETTINGS_MODULE[= ](\S+)", envs)
    assert settings is None or settings.group(1) == "config.settings", settings
    text = (ROOT / "Dockerfile").read_text()
    assert "marketplace.wsgi" not in text and "marketplace.settings" not in text


def test_the_module_paths_the_deployment_names_exist(settings):
    # With DEBUG off, loading the WSGI app checks the database role (tests/payments/test_database_roles.py).
    settings.DEBUG = True
    wsgi = importlib.import_module("config.wsgi")
    assert callable(wsgi.application)
    assert isinstance(find_app("config"), Celery)
    assert importlib.import_module("config.settings").ROOT_URLCONF


def test_dockerfile_installs_node_modules_itself():
    instructions = _dockerfile_instructions()
    runs = " ".join(args for keyword, args in instructions if keyword == "RUN")
    assert "npm ci" in runs
    copies_from_stage = [_exec_form(args) for keyword, args in instructions if keyword == "COPY" and "--from=" in args]
    assert any(any("node_modules" in word for word in words) for words in copies_from_stage)


# --- .dockerignore -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        ".git",
        ".git/HEAD",
        ".venv/bin/python",
        "var",
        "var/secret_key",
        "var/milestone.sqlite3",
        "var/uploads/deliverable.pdf",
        "var/celery/out/message",
        "node_modules/htmx.org/dist/htmx.min.js",
        "staticfiles/css/app.css",
        "marketplace/__pycache__/views.cpython-311.pyc",
        "config/settings.pyc",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        "test-results/trace.zip",
        ".env",
        ".env.production",
    ],
)
def test_dockerignore_keeps_local_state_out_of_the_image(path):
    assert _ignored(path), f"{path} would end up in the image"


def test_dockerignore_keeps_everything_the_dockerfile_copies():
    sources = _copy_sources()
    assert "package.json" in sources and "pyproject.toml" in sources, sources
    for source in sources:
        if source == ".":
            continue
        assert (ROOT / source).exists(), f"the Dockerfile copies {source}, which does not exist"
        assert not _ignored(source), f"the Dockerfile copies {source}, but .dockerignore leaves it out"
    if "." in sources:
        # `COPY . .` must still bring the code, templates and static files.
        needed = ["manage.py", "bin", "static", "templates", *_app_folders()]
        assert "config" in needed
        for name in needed:
            assert (ROOT / name).exists(), name
            assert not _ignored(name), f".dockerignore leaves {name} out of the image"
        for folder in ("bin", "static", "templates", *_app_folders()):
            for path in (ROOT / folder).rglob("*"):
                relative = path.relative_to(ROOT).as_posix()
                if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                    assert not _ignored(relative), f".dockerignore leaves {relative} out of the image"


def test_the_dockerignore_matcher_follows_docker_rules():
    rules = _parse_ignore("var\n**/__pycache__\n*.log\n!keep.log\n/dist/\n")
    assert _ignored_by(rules, "var/secret_key")
    assert not _ignored_by(rules, "app/var")  # a plain pattern is anchored at the context root
    assert _ignored_by(rules, "a/b/__pycache__/x.pyc")
    assert _ignored_by(rules, "debug.log") and not _ignored_by(rules, "keep.log")
    assert not _ignored_by(rules, "logs/debug.log")
    assert _ignored_by(rules, "dist/app.js")
    assert not _ignored_by(rules, "manage.py")
