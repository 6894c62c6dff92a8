"""`__all__` lists exactly the public names a package defines, sorted (as httpx checks).

Sorted by code point, not casefolded as in httpx: that is the order ruff's RUF022 keeps
(constants and classes, then `__version__`, then functions) and tests/test_engine.py checks.
"""

from __future__ import annotations

from types import ModuleType

import pytest

import likewise
import likewise.testing

PUBLIC_DUNDERS = {"__version__"}


def public_names(package: ModuleType) -> list[str]:
    """Every name bound in the package that is neither private nor a submodule, sorted."""
    return sorted(
        name
        for name, value in vars(package).items()
        if (not name.startswith("_") or name in PUBLIC_DUNDERS)
        and not isinstance(value, ModuleType)
    )


@pytest.mark.parametrize("package", [likewise, likewise.testing], ids=lambda p: p.__name__)
def test_all_is_sorted_and_lists_every_public_name(package: ModuleType) -> None:
    assert package.__all__ == public_names(package)


def test_the_errors_and_component_configs_are_exported() -> None:
    from likewise import config, errors

    configs = ("StoreConfig", "ProfileConfig", "RankingConfig", "TrackingConfig", "ServiceConfig")
    homes = {"Conflict": errors, "StoreUnavailable": errors, **dict.fromkeys(configs, config)}
    for name, home in homes.items():
        assert name in likewise.__all__ and getattr(likewise, name) is getattr(home, name)


def test_the_client_and_its_auth_error_are_exported() -> None:
    from likewise import client, errors

    assert likewise.Client is client.Client and likewise.Unauthorized is errors.Unauthorized
    assert issubclass(likewise.Unauthorized, likewise.LikewiseError)
    assert likewise.Unauthorized.code == "unauthorized"
