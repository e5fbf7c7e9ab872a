"""docker-compose.yml stays a production deployment: real Kafka, the OIDC issuer and
secrets required, and each service's (and the dashboard's) environment passes its own
production checks. The image (Dockerfile, .dockerignore) stays small, non-root, with a
HEALTHCHECK that probes the port each process listens on, and holds every package
pyproject.toml declares."""

from __future__ import annotations

import ast
import os
import re
import shlex
import tomllib
from pathlib import Path

import pytest
import yaml

from services.billing.settings import BillingSettings
from services.dashboard.settings import DashboardSettings
from services.ordering.settings import OrderingSettings
from services.provisioning.settings import DEV_PURCHASE_TOKEN_SECRET, ProvisioningSettings
from shared.http.healthcheck import service_port
from shared.settings import DEV_JWT_SECRET, ServiceSettings

REPO = Path(__file__).resolve().parents[2]
SETTINGS: dict[str, type[ServiceSettings]] = {
    "ordering": OrderingSettings,
    "provisioning": ProvisioningSettings,
    "billing": BillingSettings,
}
# Every process the image runs: the services, and the dashboard (no OIDC issuer of its own).
PROCESSES: dict[str, type[ServiceSettings]] = {**SETTINGS, "dashboard": DashboardSettings}
REQUIRED = re.compile(r"^\$\{(\w+):\?.*\}$")  # ${NAME:?message}: compose refuses if unset
DEFAULTED = re.compile(r"^\$\{\w+:-(.*)\}$")  # ${NAME:-default}: the default when unset
# What an operator would export for the required variables; a real 40-byte secret else.
OPERATOR = {
    "CSP_JWKS_URL": "https://login.example/tenant/discovery/v2.0/keys",
    "CSP_JWT_ISSUER": "https://login.example/tenant/v2.0",
    "CSP_JWT_AUDIENCE": "api://csp-marketplace",
}


def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_runs_kafka_and_each_service_in_production_mode() -> None:
    services = compose()["services"]
    assert {"kafka", *SETTINGS} <= set(services)
    for name in SETTINGS:
        service = services[name]
        assert service["command"] == ["python", "-m", f"services.{name}"]
        env = service["environment"]
        assert env["CSP_ENV"] == "production"
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        # compose refuses to start without the OIDC issuer instead of falling back;
        # production never reads the HS256 secret of development
        for name in ("CSP_JWKS_URL", "CSP_JWT_ISSUER", "CSP_JWT_AUDIENCE"):
            assert env[name].startswith("${" + name + ":?")
        assert "CSP_JWT_SECRET" not in env
    provisioning = services["provisioning"]["environment"]
    assert provisioning["CSP_PURCHASE_TOKEN_SECRET"].startswith("${CSP_PURCHASE_TOKEN_SECRET:?")


def use_compose_environment(name: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment compose gives `name`'s container, and only that."""
    env = {
        key: compose_value(key, str(value))
        for key, value in compose()["services"][name]["environment"].items()
    }
    for key in list(os.environ):
        if key.startswith(("CSP_", "KAFKA_", "MONGODB_")):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_each_service_environment_passes_its_own_production_checks(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = use_compose_environment(name, monkeypatch)

    settings = SETTINGS[name].load()  # a refusal would exit here

    assert settings.is_production and settings.uses_jwks
    assert settings.port == int(env[f"CSP_{name.upper()}_PORT"])


def test_the_dashboard_environment_passes_its_production_checks_only_with_its_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = use_compose_environment("dashboard", monkeypatch)
    assert REQUIRED.match(compose()["services"]["dashboard"]["environment"]["CSP_DASHBOARD_TOKEN"])

    settings = DashboardSettings.load()  # a refusal would exit here

    assert settings.is_production and settings.token == env["CSP_DASHBOARD_TOKEN"]
    assert settings.port == int(env["CSP_DASHBOARD_PORT"])
    monkeypatch.delenv("CSP_DASHBOARD_TOKEN")
    with pytest.raises(SystemExit, match="CSP_DASHBOARD_TOKEN"):
        DashboardSettings.load()


@pytest.mark.parametrize("name", sorted(PROCESSES))
def test_the_image_healthcheck_probes_the_port_each_container_listens_on(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the image's HEALTHCHECK would probe in this container (its command and
    environment) is the port its settings serve on."""
    env = use_compose_environment(name, monkeypatch)
    service = compose()["services"][name]
    assert service_port(env, service["command"]) == PROCESSES[name].load().port
    assert service_port(env) == PROCESSES[name].load().port  # from the environment alone


def compose_value(key: str, value: str) -> str:
    """What compose passes with nothing set but the operator's required values."""
    if REQUIRED.match(value):
        return OPERATOR.get(key, "r" * 40)
    if defaulted := DEFAULTED.match(value):
        return defaulted.group(1)
    return value


def test_no_dev_secret_is_baked_into_the_deployment_files() -> None:
    for name in ("docker-compose.yml", "Dockerfile"):
        text = (REPO / name).read_text()
        assert DEV_JWT_SECRET not in text
        assert DEV_PURCHASE_TOKEN_SECRET not in text


# The image ---------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", (REPO / "Dockerfile").read_text())
    instructions = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, arguments = line.partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def copied_sources() -> list[tuple[str, str]]:
    """(source, destination) of every COPY from the build context, in order."""
    copies = []
    for keyword, arguments in dockerfile_instructions():
        if keyword == "COPY" and not arguments.startswith("--from"):
            *sources, destination = shlex.split(arguments)
            copies += [(source, destination) for source in sources]
    return copies


def dockerignore_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    """(is an exception, pattern) of .dockerignore, as Docker reads it: in order, `*` within
    a path segment, `**` across them, a pattern that matches a directory matches its files."""
    patterns = []
    for line in (REPO / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        glob = line.removeprefix("!").strip().lstrip("/").removeprefix("./").rstrip("/")
        regex = ""
        for part in re.split(r"(\*\*/|\*\*|\*|\?)", glob):
            regex += {"**/": "(.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(
                part, re.escape(part)
            )
        patterns.append((exception, re.compile(regex + "$")))
    return patterns


def ignored(path: str) -> bool:
    """Whether .dockerignore keeps `path` (relative to the context) out of the build."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for exception, pattern in dockerignore_patterns():
        if any(pattern.match(prefix) for prefix in prefixes):
            excluded = not exception
    return excluded


def files_under(source: str) -> list[str]:
    root = REPO / source
    if root.is_file():
        return [source]
    return [
        str(path.relative_to(REPO))
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    ]


def test_the_image_is_slim_non_root_and_has_a_healthcheck() -> None:
    instructions = dockerfile_instructions()
    keywords = [keyword for keyword, _ in instructions]
    bases = [arguments.split()[0] for keyword, arguments in instructions if keyword == "FROM"]
    assert bases[-1] == "python:3.11-slim"  # the stage that runs
    users = [arguments for keyword, arguments in instructions if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert keywords.index("USER") < keywords.index("CMD")  # the service runs as that user
    healthchecks = [arguments for keyword, arguments in instructions if keyword == "HEALTHCHECK"]
    assert len(healthchecks) == 1
    assert healthchecks[0].endswith('CMD ["python", "-m", "shared.http.healthcheck"]')
    runs = " && ".join(arguments for keyword, arguments in instructions if keyword == "RUN")
    installs = re.findall(r"pip install[^&;]*", runs)
    assert installs and all("--no-cache-dir" in install for install in installs), installs
    for build_tool in ("apt-get install", "build-essential", "gcc"):
        assert build_tool not in runs  # every dependency installs from a wheel


def test_dockerignore_keeps_the_venv_git_tests_benchmarks_and_docs_out() -> None:
    for path in (
        ".venv/bin/python",
        ".git/HEAD",
        "tests/unit/test_deployment_files.py",
        "benchmarks/load.py",
        "docs/cli.md",
        "tools/chaos.py",
        "services/ordering/__pycache__/app.cpython-311.pyc",
        "csp_marketplace.egg-info/PKG-INFO",
        ".env",
    ):
        assert ignored(path), f"{path} would be sent to the build"


def test_everything_the_dockerfile_copies_is_in_the_build_context() -> None:
    for source, _ in copied_sources():
        files = files_under(source)
        assert files, f"COPY {source}: nothing there"
        kept_out = [path for path in files if ignored(path)]
        assert not kept_out, f"COPY {source}: .dockerignore keeps out {kept_out[:5]}"
    for data in ("shared/catalog", "services/dashboard/static"):  # package data
        assert files_under(data) and not any(ignored(path) for path in files_under(data))


def test_every_package_pyproject_declares_is_copied_before_the_install() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    declared = {pattern.rstrip("*").rstrip(".") for pattern in include}
    scripts = project["project"]["scripts"]
    assert {target.split(".")[0] for target in scripts.values()} <= declared  # `csp`

    install = next(
        i
        for i, (keyword, arguments) in enumerate(dockerfile_instructions())
        if keyword == "RUN" and "pip install" in arguments
    )
    before_install = [
        (source, destination)
        for keyword, arguments in dockerfile_instructions()[:install]
        if keyword == "COPY"
        for *sources, destination in [shlex.split(arguments)]
        for source in sources
    ]
    copied = {source.rstrip("/") for source, _ in before_install}
    for package in sorted(declared):
        assert (REPO / package / "__init__.py").is_file()
        assert package in copied, f"the Dockerfile does not COPY {package} before pip install"
        destination = dict(before_install)[package].rstrip("/")
        assert destination in (f"./{package}", f"/app/{package}", package)
    for name in ("pyproject.toml", "README.md", "constraints.txt"):  # what the install reads
        assert any(name in source for source in copied)


def imported_top_levels(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_what_the_image_runs_imports_nothing_it_leaves_out() -> None:
    copied_files = [
        path
        for source, _ in copied_sources()
        for path in files_under(source)
        if path.endswith(".py")
    ]
    copied_modules = {path.removesuffix(".py").replace("/", ".") for path in copied_files}
    assert "csp_cli.main" in copied_modules and "shared.http.healthcheck" in copied_modules
    for path in copied_files:
        for module in imported_top_levels(REPO / path):
            top = module.split(".")[0]
            assert top not in ("tests", "benchmarks", "docs"), f"{path} imports {module}"
            if top == "tools":  # only the operator tools the image holds
                assert module in copied_modules, f"{path} imports {module}, not in the image"
