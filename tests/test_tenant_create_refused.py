"""A tenant whose settings the engine would refuse is refused before anything is made: a
422 naming `settings.<knob>`, no folder (or database) left behind, nothing registered."""

from __future__ import annotations

from pathlib import Path

import pytest

from likewise import Engine, Settings
from likewise.engine.tenants import Tenants
from likewise.errors import InvalidInput
from likewise.store.tenants import tenants_folder


def test_an_unknown_strategy_is_refused_naming_it_before_the_store_is_made(
    tmp_path: Path,
) -> None:
    data = str(tmp_path / "data")
    settings = Settings(data=data, model="hashing-64")
    with Engine.open(data, settings=settings) as engine:
        tenants = Tenants(engine, settings)
        with pytest.raises(InvalidInput) as refused:
            tenants.create("b", {"strategy": "nope"})
        assert refused.value.field == "settings.strategy"
        assert not (tenants_folder(data) / "b").exists()
        assert tenants.names() == []
        tenants.close()
