"""Settings are composed of one typed config per component; each knob is declared once."""

from __future__ import annotations

import pytest

from likewise import ConfigError, ProfileConfig, RankingConfig, Settings
from likewise.config import Component
from likewise.items.limits import Limits


def test_flat_knobs_reach_the_component_that_declares_them() -> None:
    settings = Settings(alpha=0.3, cache_size=0, port=9000, click_types=["tap"])
    assert settings.profiles.alpha == 0.3
    assert settings.ranking.cache_size == 0
    assert settings.service.port == 9000
    assert settings.tracking.click_types == ["tap"]
    assert settings.store.data == "./likewise-data"  # the rest keep their defaults
    given = Settings(ranking=RankingConfig(strategy="hybrid"))
    assert given.ranking.strategy == "hybrid" and given.profiles == ProfileConfig()


def test_each_knob_is_declared_by_exactly_one_component() -> None:
    seen: dict[str, str] = {}
    for name, kind in Settings.COMPONENTS.items():
        for knob in kind.model_fields:
            assert knob not in seen, f"{knob} is declared by {seen[knob]} and {name}"
            seen[knob] = name
    assert {"alpha", "cache_size", "data", "host", "click_types"} <= seen.keys()


def test_components_read_their_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIKEWISE_ALPHA", "0.7")
    monkeypatch.setenv("LIKEWISE_HYBRID_WEIGHTS", '{"content": 1}')
    monkeypatch.setenv("LIKEWISE_WRITE_KEYS", '["k"]')
    settings = Settings(beta=0.1)  # a flat knob beside one from the environment
    assert (settings.profiles.alpha, settings.profiles.beta) == (0.7, 0.1)
    assert settings.ranking.hybrid_weights == {"content": 1.0}
    assert settings.service.write_keys == ["k"]


@pytest.mark.parametrize(
    ("make", "named"),
    [
        pytest.param(lambda: Settings(nonsense=1), "nonsense", id="unknown-flat-knob"),
        pytest.param(lambda: RankingConfig(alpha=0.5), "alpha", id="knob-of-another-component"),
        pytest.param(lambda: Settings(alpha=0), "alpha", id="out-of-range"),
        pytest.param(lambda: Settings(port="eighty"), "port", id="wrong-type"),
        pytest.param(
            lambda: Settings(ranking=RankingConfig(), cache_size=0), "ranking", id="whole-and-flat"
        ),
    ],
)
def test_a_bad_setting_is_a_config_error_that_names_it(make: object, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        make()  # type: ignore[operator]


def test_a_bad_environment_value_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIKEWISE_CACHE_SIZE", "-1")
    with pytest.raises(ConfigError, match="cache_size"):
        Settings()


def test_every_component_refuses_unknown_keys() -> None:
    for kind in Settings.COMPONENTS.values():
        assert issubclass(kind, Component)
        assert kind.model_config.get("extra") == "forbid"
        assert kind.model_config.get("env_prefix") == "LIKEWISE_"


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"write_keys": [""]}, "write_keys"),  # it was dropped: an open server
        ({"read_keys": ["  "]}, "read_keys"),
        ({"event_keys": ["ok", "\t"]}, "event_keys"),
        ({"write_keys": ["w"], "site_key": "w"}, "site_key"),  # published in every page
        ({"read_keys": ["r"], "event_keys": ["e"], "site_key": "r"}, "site_key"),
        ({"event_keys": ["e"], "site_key": "other"}, "site_key"),
    ],
)
def test_keys_that_would_open_or_publish_the_api_are_refused(
    given: dict[str, object], named: str
) -> None:
    with pytest.raises(ConfigError, match=f"setting {named}"):
        Settings(**given)  # type: ignore[arg-type]
    assert Settings(event_keys=["e"], write_keys=["w"], site_key="e").service.site_key == "e"


def test_serve_refuses_an_empty_key_before_it_binds(monkeypatch: pytest.MonkeyPatch) -> None:
    from likewise.cli.main import main

    monkeypatch.setenv("LIKEWISE_WRITE_KEYS", '[""]')
    assert main(["serve", "--host", "0.0.0.0", "--port", "1"]) == 2


def test_the_limits_are_settings_whose_defaults_are_the_parsers_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().limits.rules() == Limits()  # one rule, with or without settings
    assert Settings().limits.max_text_chars is None  # the model's own cut: 8,192 characters
    monkeypatch.setenv("LIKEWISE_MAX_ID_LENGTH", "64")
    monkeypatch.setenv("LIKEWISE_MAX_METADATA_BYTES", "1000")
    monkeypatch.setenv("LIKEWISE_MAX_DEPTH", "4")
    monkeypatch.setenv("LIKEWISE_MAX_BATCH", "50")
    monkeypatch.setenv("LIKEWISE_MAX_BODY_BYTES", "2000")
    monkeypatch.setenv("LIKEWISE_MAX_TEXT_CHARS", "300")
    limits = Settings().limits
    assert limits.rules() == Limits(max_id_length=64, max_metadata_bytes=1000, max_depth=4)
    assert (limits.max_batch, limits.max_body_bytes, limits.max_text_chars) == (50, 2000, 300)
    assert Settings(max_body_bytes=5).limits.max_body_bytes == 5  # flat, as before


@pytest.mark.parametrize(
    ("knob", "value"),
    [
        pytest.param("max_id_length", 257, id="id-past-what-postgresql-indexes"),
        pytest.param("max_depth", 257, id="depth-past-the-deepest"),
        pytest.param("max_batch", 0, id="no-batch"),
        pytest.param("max_text_chars", 0, id="no-text"),
    ],
)
def test_a_limit_out_of_its_range_is_refused_by_name(knob: str, value: int) -> None:
    with pytest.raises(ConfigError, match=knob):
        Settings(**{knob: value})
