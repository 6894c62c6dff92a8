"""The configuration file and the `_FILE` variables: flags over the environment over the file
over the defaults; every refusal names the key, the variable or the file, and the line."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from likewise import ConfigError, Settings
from likewise.config import dump_toml
from likewise.config.base import sections
from likewise.config.toml import origin


@pytest.fixture(autouse=True)
def clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No `LIKEWISE_*` variable from the caller, and a working directory of our own (the
    default data directory, `./likewise-data`, is looked in for a likewise.toml)."""
    for name in list(os.environ):
        if name.upper().startswith("LIKEWISE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def config(monkeypatch: pytest.MonkeyPatch, path: Path, text: str) -> Path:
    path.write_text(text)
    monkeypatch.setenv("LIKEWISE_CONFIG", str(path))
    return path


def test_the_file_uses_the_settings_names_flat_or_by_component(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config(
        monkeypatch,
        tmp_path / "shop.toml",
        'alpha = 0.3\nwrite_keys = ["k1"]\nhybrid_weights = {collaborative = 1.0}\n'
        "[ranking]\ncache_size = 0\n",
    )
    settings = Settings()
    assert settings.profiles.alpha == 0.3
    assert settings.service.write_keys == ["k1"]
    assert settings.ranking.hybrid_weights == {"collaborative": 1.0}
    assert settings.ranking.cache_size == 0
    assert settings.profiles.beta == 0.5  # what the file does not set keeps its default


def test_flags_beat_the_environment_which_beats_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = config(monkeypatch, tmp_path / "c.toml", "alpha = 0.3\nbeta = 0.3\ngamma_free = 1\n")
    with pytest.raises(ConfigError, match="gamma_free"):
        Settings()
    config(monkeypatch, path, "alpha = 0.3\nbeta = 0.3\nmean_n = 3\n")
    monkeypatch.setenv("LIKEWISE_ALPHA", "0.6")
    monkeypatch.setenv("LIKEWISE_BETA", "0.6")
    settings = Settings(alpha=0.9)
    assert (settings.profiles.alpha, settings.profiles.beta) == (0.9, 0.6)
    assert (settings.profiles.mean_n, settings.profiles.history) == (3, 10)
    known = sections()
    assert origin("alpha", known, {"alpha"}) == "flag"
    assert origin("beta", known) == "env LIKEWISE_BETA"
    assert origin("mean_n", known) == f"file {path}"
    assert origin("history", known) == "default"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        pytest.param("alfa = 0.3\n", "unknown setting 'alfa'; did you mean 'alpha'", id="typo"),
        pytest.param("LIKEWISE_ALPHA = 0.3\n", "write 'alpha'", id="variable-name"),
        pytest.param("[ranking]\nalpha = 0.3\n", r"\[ranking\] has no setting 'alpha'", id="table"),
        pytest.param("ranking = 3\n", "ranking must be a table", id="table-not-a-table"),
        pytest.param("alpha = 0.3\n[profiles]\nalpha = 0.4\n", "alpha is given twice", id="twice"),
        pytest.param("alpha = 0.3\nbeta = \n", "line 2: ", id="syntax"),
        pytest.param(
            "alpha = 0\n", r"setting alpha \(file .*\): Input should be greater", id="value"
        ),
        pytest.param('port = "eighty"\n', r"setting port \(file ", id="type"),
        pytest.param(
            'write_keys = [" "]\n', r"setting write_keys \(file .*\): an empty", id="check"
        ),
    ],
)
def test_a_bad_file_is_refused_naming_the_file_and_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, named: str
) -> None:
    path = config(monkeypatch, tmp_path / "bad.toml", text)
    with pytest.raises(ConfigError, match=named) as caught:
        Settings()
    assert str(path) in str(caught.value)


def test_a_named_file_that_is_missing_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIKEWISE_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match=f"LIKEWISE_CONFIG: no configuration file at {tmp_path}"):
        Settings()


def test_likewise_toml_in_the_data_directory_but_not_its_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    default = tmp_path / "likewise-data"  # the default directory, under the working one
    default.mkdir()
    (default / "likewise.toml").write_text("cache_size = 7\n")
    assert Settings().ranking.cache_size == 7
    monkeypatch.setenv("LIKEWISE_CONFIG", "")  # set but empty: no file at all
    assert Settings().ranking.cache_size == 10_000
    monkeypatch.delenv("LIKEWISE_CONFIG")
    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "likewise.toml").write_text("cache_size = 9\n")
    monkeypatch.setenv("LIKEWISE_DATA", str(shop))
    assert Settings().ranking.cache_size == 9
    (shop / "likewise.toml").write_text('cache_size = 9\ndata = "/elsewhere"\n')
    with pytest.raises(ConfigError, match="`data` may not be set in the data directory's own"):
        Settings()
    named = tmp_path / "named.toml"  # a file named by LIKEWISE_CONFIG may choose the data
    config(monkeypatch, named, f'data = "{shop}"\n')
    monkeypatch.delenv("LIKEWISE_DATA")
    assert Settings().store.data == str(shop) and Settings().ranking.cache_size == 10_000


def test_a_setting_from_a_file_named_by_its_file_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = tmp_path / "keys"
    keys.write_text('["w1", "w2"]\n')  # as `echo` writes it: the newline is not the value
    site = tmp_path / "site"
    site.write_text("e1\r\n")
    monkeypatch.setenv("LIKEWISE_WRITE_KEYS_FILE", str(keys))
    monkeypatch.setenv("LIKEWISE_EVENT_KEYS", '["e1"]')
    monkeypatch.setenv("LIKEWISE_SITE_KEY_FILE", str(site))
    settings = Settings()
    assert settings.service.write_keys == ["w1", "w2"]
    assert settings.service.site_key == "e1"
    assert origin("write_keys", sections()) == f"file LIKEWISE_WRITE_KEYS_FILE={keys}"
    # the same level as the variable: over the configuration file, under a flag
    config(monkeypatch, tmp_path / "c.toml", 'write_keys = ["from-toml"]\n')
    assert Settings().service.write_keys == ["w1", "w2"]
    assert Settings(write_keys=["flag"]).service.write_keys == ["flag"]


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        pytest.param(
            {"LIKEWISE_WRITE_KEYS": '["a"]', "LIKEWISE_WRITE_KEYS_FILE": "KEYS"},
            "both LIKEWISE_WRITE_KEYS and LIKEWISE_WRITE_KEYS_FILE are set",
            id="both",
        ),
        pytest.param(
            {"LIKEWISE_WRITE_KEYS_FILE": "MISSING"},
            "setting write_keys: LIKEWISE_WRITE_KEYS_FILE=.*MISSING: no such file",
            id="missing",
        ),
        pytest.param(
            {"LIKEWISE_WRITE_KEYS_FILE": "DIR"},
            "setting write_keys: LIKEWISE_WRITE_KEYS_FILE=.*: is a directory",
            id="unreadable",
        ),
        pytest.param(
            {"LIKEWISE_ALPHA_FILE": "ALPHA"},
            r"setting alpha \(file LIKEWISE_ALPHA_FILE=.*\): Input should be a valid number",
            id="bad-value",
        ),
    ],
)
def test_a_file_variable_that_cannot_be_used_is_named(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    variables: dict[str, str],
    named: str,
) -> None:
    (tmp_path / "KEYS").write_text('["b"]')
    (tmp_path / "ALPHA").write_text("a lot\n")
    (tmp_path / "DIR").mkdir()
    for name, value in variables.items():
        value = value if value.startswith("[") else str(tmp_path / value)
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=named):
        Settings()


def test_the_same_value_given_both_ways_is_not_a_conflict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`serve --workers N` hands its workers the data location it resolved as LIKEWISE_DATA,
    beside the LIKEWISE_DATA_FILE they inherit."""
    url = tmp_path / "url"
    url.write_text(f"{tmp_path / 'store'}\n")
    monkeypatch.setenv("LIKEWISE_DATA_FILE", str(url))
    monkeypatch.setenv("LIKEWISE_DATA", str(tmp_path / "store"))
    assert Settings().store.data == str(tmp_path / "store")


values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner.filter(lambda v: v is not None), max_size=3)
        | st.dictionaries(st.text(max_size=5), inner.filter(lambda v: v is not None), max_size=3)
    ),
    max_leaves=6,
)


@examples(suppress_health_check=[HealthCheck.function_scoped_fixture])  # `clean`: no state
@given(st.dictionaries(st.text(min_size=1, max_size=8), values, max_size=4))
def test_dump_toml_is_read_back_as_written(settings: dict[str, Any]) -> None:
    written = {k: v for k, v in settings.items() if v is not None}  # TOML has no null
    assert tomllib.loads(dump_toml(settings)) == written


def test_dump_toml_writes_a_file_the_settings_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `eval --tune` chose, kept as a file `--config` takes."""
    chosen = {
        "alpha": 0.35,
        "hybrid_weights": {"collaborative": 1.0, "content": 0.25},
        "context_rules": [{"when": {"device": "mobile"}, "boost": {"category": "short"}}],
        "max_text_chars": None,
    }
    config(monkeypatch, tmp_path / "tuned.toml", dump_toml(chosen))
    settings = Settings()
    assert settings.profiles.alpha == 0.35
    assert settings.ranking.hybrid_weights == chosen["hybrid_weights"]
    assert settings.ranking.context_rules == chosen["context_rules"]
    assert settings.limits.max_text_chars is None
