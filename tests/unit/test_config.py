"""Unit tests for ledger.core.config: `[tool.ledger]` in pyproject.toml plus `LEDGER_*` overrides."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from ledger.core.config import DEFAULT_DENY, Config, load_config
from ledger.core.errors import ConfigError

if TYPE_CHECKING:
    from pathlib import Path


def pyproject(tmp_path: Path, text: str) -> Path:
    """Write a pyproject.toml into `tmp_path` and return the folder (the repo top level)."""
    (tmp_path / "pyproject.toml").write_text(text)
    return tmp_path


def ledger_section(tmp_path: Path, body: str) -> Path:
    return pyproject(tmp_path, f'[project]\nname = "demo"\n\n[tool.ledger]\n{body}\n')


def config_error(toplevel: Path | None, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(toplevel, environ={} if environ is None else environ)
    return str(info.value)


# defaults


def test_load_config_without_a_repo_gives_defaults() -> None:
    assert load_config(None, environ={}) == Config()


def test_load_config_without_a_pyproject_gives_defaults(tmp_path: Path) -> None:
    assert load_config(tmp_path, environ={}) == Config()


def test_load_config_without_a_ledger_section_gives_defaults(tmp_path: Path) -> None:
    toplevel = pyproject(tmp_path, '[project]\nname = "demo"\n\n[tool.ruff]\nline-length = 100\n')

    assert load_config(toplevel, environ={}) == Config()


def test_load_config_defaults_are_what_the_docs_promise() -> None:
    config = load_config(None, environ={})

    assert config.url is None
    assert config.params_files == ("params.yaml",)
    assert config.snapshot_deny == DEFAULT_DENY
    assert config.snapshot_max_file_bytes == 2 * 1024 * 1024
    assert config.snapshot_max_total_bytes == 100 * 1024 * 1024
    assert config.log_max_bytes == 8 * 1024 * 1024
    assert config.argv_params is True
    assert config.log_metrics is True
    assert config.log_metric_patterns == ()
    assert config.flush_interval == 2.0
    assert (config.flush_wait, config.end_wait, config.delivery_wait) == (10.0, 5.0, 15.0)
    assert config.env_allow == ()
    assert config.extra == {}


# pyproject overrides


@pytest.mark.parametrize(
    ("body", "field", "expected"),
    [
        ('url = "sqlite:////tmp/team.db"', "url", "sqlite:////tmp/team.db"),
        ('params_files = ["a.yaml", "conf/b.json"]', "params_files", ("a.yaml", "conf/b.json")),
        ('params-files = ["a.yaml"]', "params_files", ("a.yaml",)),
        ("metrics_files = []", "metrics_files", ()),
        ('outputs = ["runs/**/*.pt"]', "outputs", ("runs/**/*.pt",)),
        ('snapshot_deny = ["*.secret"]', "snapshot_deny", ("*.secret",)),
        ("snapshot_max_file_bytes = 1024", "snapshot_max_file_bytes", 1024),
        ("snapshot_max_total_bytes = 0", "snapshot_max_total_bytes", 0),
        ('env_allow = ["CUDA_*", "OMP_NUM_THREADS"]', "env_allow", ("CUDA_*", "OMP_NUM_THREADS")),
        ("log_max_bytes = 4096", "log_max_bytes", 4096),
        ("argv_params = false", "argv_params", False),
        ("log_metrics = false", "log_metrics", False),
        (
            "log_metric_patterns = ['^Test acc (?P<test_acc>\\S+)']",
            "log_metric_patterns",
            (r"^Test acc (?P<test_acc>\S+)",),
        ),
        ("flush_interval = 0.5", "flush_interval", 0.5),
        ("flush_interval = 5", "flush_interval", 5.0),
        ("delivery_wait = 60", "delivery_wait", 60.0),
    ],
    ids=[
        "url",
        "params-files",
        "dashed-key",
        "empty-list",
        "outputs",
        "snapshot-deny",
        "max-file-bytes",
        "zero-is-allowed",
        "env-allow",
        "log-max-bytes",
        "bool",
        "log-metrics-off",
        "log-metric-patterns",
        "float",
        "int-for-float",
        "wait",
    ],
)
def test_load_config_reads_each_setting_from_pyproject(
    tmp_path: Path, body: str, field: str, expected: Any
) -> None:
    config = load_config(ledger_section(tmp_path, body), environ={})

    assert getattr(config, field) == expected
    assert type(getattr(config, field)) is type(expected)


def test_load_config_leaves_unset_settings_at_their_defaults(tmp_path: Path) -> None:
    config = load_config(ledger_section(tmp_path, "log_max_bytes = 4096"), environ={})

    assert config == Config(log_max_bytes=4096)


def test_load_config_keeps_unknown_keys_in_extra(tmp_path: Path) -> None:
    body = 'future_setting = "x"\nsync-remote = "origin"\n[tool.ledger.plots]\nwidth = 80'

    config = load_config(ledger_section(tmp_path, body), environ={})

    assert config.extra == {"future_setting": "x", "sync_remote": "origin", "plots": {"width": 80}}
    assert config == Config(extra=config.extra)


# environment overrides


@pytest.mark.parametrize(
    ("name", "value", "field", "expected"),
    [
        ("LEDGER_URL", "postgresql://db/ledger", "url", "postgresql://db/ledger"),
        ("LEDGER_SNAPSHOT_MAX_FILE_BYTES", "4096", "snapshot_max_file_bytes", 4096),
        ("LEDGER_SNAPSHOT_MAX_TOTAL_BYTES", "0", "snapshot_max_total_bytes", 0),
        ("LEDGER_LOG_MAX_BYTES", " 100 ", "log_max_bytes", 100),
        ("LEDGER_PARAMS_FILES", "a.yaml, b.json,", "params_files", ("a.yaml", "b.json")),
        ("LEDGER_ENV_ALLOW", "", "env_allow", ()),
        ("LEDGER_ARGV_PARAMS", "0", "argv_params", False),
        ("LEDGER_ARGV_PARAMS", "no", "argv_params", False),
        ("LEDGER_ARGV_PARAMS", "TRUE", "argv_params", True),
        ("LEDGER_ARGV_PARAMS", "yes", "argv_params", True),
        ("LEDGER_FLUSH_INTERVAL", "0.25", "flush_interval", 0.25),
        ("LEDGER_FLUSH_WAIT", "1", "flush_wait", 1.0),
        ("LEDGER_END_WAIT", "0.5", "end_wait", 0.5),
        ("LEDGER_DELIVERY_WAIT", "2.5", "delivery_wait", 2.5),
    ],
    ids=[
        "url",
        "max-file-bytes",
        "max-total-bytes",
        "int-with-spaces",
        "comma-list",
        "empty-list",
        "bool-0",
        "bool-no",
        "bool-TRUE",
        "bool-yes",
        "float",
        "flush-wait",
        "end-wait",
        "delivery-wait",
    ],
)
def test_load_config_reads_env_overrides(name: str, value: str, field: str, expected: Any) -> None:
    config = load_config(None, environ={name: value})

    assert getattr(config, field) == expected


def test_load_config_env_beats_pyproject(tmp_path: Path) -> None:
    toplevel = ledger_section(tmp_path, "snapshot_max_file_bytes = 1024\nlog_max_bytes = 4096")

    config = load_config(toplevel, environ={"LEDGER_SNAPSHOT_MAX_FILE_BYTES": "2048"})

    assert (config.snapshot_max_file_bytes, config.log_max_bytes) == (2048, 4096)


def test_load_config_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_SNAPSHOT_MAX_FILE_BYTES", "77")

    assert load_config(None).snapshot_max_file_bytes == 77


def test_load_config_ignores_unknown_ledger_env_vars() -> None:
    assert load_config(None, environ={"LEDGER_NOT_A_SETTING": "1", "LEDGER_EXTRA": "x"}) == Config()


# bad values


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ("url = 5", "url"),
        ('params_files = "a.yaml"\nmetrics_files = [1, 2]', "metrics_files"),
        ('outputs = ["a", 3]', "outputs"),
        ('snapshot_max_file_bytes = "big"', "snapshot_max_file_bytes"),
        ("snapshot_max_file_bytes = -1", "snapshot_max_file_bytes"),
        ("snapshot_max_file_bytes = true", "snapshot_max_file_bytes"),
        ("snapshot_max_file_bytes = 2.5", "snapshot_max_file_bytes"),
        ("log_max_bytes = [1]", "log_max_bytes"),
        ('argv_params = "maybe"', "argv_params"),
        ("argv_params = 1", "argv_params"),
        ("log_metric_patterns = ['loss: (']", "log_metric_patterns"),
        ("log_metric_patterns = ['loss: (\\S+)']", "log_metric_patterns"),
        ("flush_interval = -0.5", "flush_interval"),
        ("flush_interval = nan", "flush_interval"),
        ("flush_interval = inf", "flush_interval"),
        ("flush_interval = 0", "flush_interval"),
        ("end_wait = inf", "end_wait"),
        ("delivery_wait = -1", "delivery_wait"),
    ],
    ids=[
        "url-not-string",
        "list-of-non-strings",
        "list-with-a-number",
        "int-from-text",
        "negative-int",
        "bool-for-int",
        "fraction-for-int",
        "list-for-int",
        "bool-from-word",
        "int-for-bool",
        "pattern-not-a-regex",
        "pattern-without-named-group",
        "negative-float",
        "nan-float",
        "inf-float",
        "zero-interval",
        "inf-wait",
        "negative-wait",
    ],
)
def test_load_config_rejects_bad_pyproject_values_naming_the_key(tmp_path: Path, body: str, key: str) -> None:
    # flush_interval feeds threading.Event.wait in the metrics flusher: NaN and 0 make it
    # spin without sleeping, inf raises OverflowError in the thread and stops flushing.
    message = config_error(ledger_section(tmp_path, body))

    assert f"pyproject.toml: ledger setting '{key}'" in message


@pytest.mark.parametrize(
    ("name", "value", "key"),
    [
        ("LEDGER_SNAPSHOT_MAX_FILE_BYTES", "big", "snapshot_max_file_bytes"),
        ("LEDGER_SNAPSHOT_MAX_FILE_BYTES", "-5", "snapshot_max_file_bytes"),
        ("LEDGER_SNAPSHOT_MAX_FILE_BYTES", "2.5", "snapshot_max_file_bytes"),
        ("LEDGER_SNAPSHOT_MAX_FILE_BYTES", "", "snapshot_max_file_bytes"),
        ("LEDGER_ARGV_PARAMS", "maybe", "argv_params"),
        ("LEDGER_FLUSH_INTERVAL", "soon", "flush_interval"),
        ("LEDGER_FLUSH_INTERVAL", "nan", "flush_interval"),
        ("LEDGER_FLUSH_WAIT", "0", "flush_wait"),
    ],
    ids=[
        "word-for-int",
        "negative",
        "fraction-for-int",
        "empty",
        "bad-bool",
        "word-for-float",
        "nan",
        "zero-wait",
    ],
)
def test_load_config_rejects_bad_env_values_naming_the_key(name: str, value: str, key: str) -> None:
    message = config_error(None, {name: value})

    assert f"environment: ledger setting '{key}'" in message


def test_load_config_error_shows_the_bad_value(tmp_path: Path) -> None:
    message = config_error(ledger_section(tmp_path, 'log_max_bytes = "lots"'))

    assert "'lots'" in message


@pytest.mark.parametrize(
    "text",
    [
        "[tool.ledger\nurl = 1\n",
        '[tool.ledger]\nurl = "a"\nurl = "b"\n',
        "[tool.ledger]\nparams_files = [\n",
    ],
    ids=["unclosed-header", "duplicate-key", "unclosed-array"],
)
def test_load_config_broken_toml_raises_config_error_naming_the_file(tmp_path: Path, text: str) -> None:
    message = config_error(pyproject(tmp_path, text))

    assert f"{tmp_path / 'pyproject.toml'}: cannot read it: " in message
    assert "\n" not in message


def test_load_config_unreadable_pyproject_raises_config_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").mkdir()

    assert "pyproject.toml: cannot read it" in config_error(tmp_path)


@pytest.mark.parametrize(
    "text",
    ["[tool]\nledger = 3\n", '[tool]\nledger = ["url"]\n', 'tool = "ledger"\n'],
    ids=["ledger-is-a-number", "ledger-is-a-list", "tool-is-a-string"],
)
def test_load_config_ledger_section_that_is_not_a_table_raises_config_error(
    tmp_path: Path, text: str
) -> None:
    assert "[tool.ledger] must be a table" in config_error(pyproject(tmp_path, text))
