import pytest

from app.services.model_holder import ModelHolder, ModelUnavailableError
from tests.unit.fakes import FakeModelSource


def test_current_before_any_load_says_how_to_get_a_model():
    with pytest.raises(ModelUnavailableError, match="mlops train"):
        ModelHolder(FakeModelSource()).current  # noqa: B018


def test_refresh_loads_once_and_swaps_only_when_the_alias_moves():
    source = FakeModelSource({"champion": "1"})
    holder = ModelHolder(source)
    seen = []
    holder.listeners.append(seen.append)
    holder.refresh()
    holder.refresh()
    assert source.loads == 1 and holder.loaded.version == "1"
    old = holder.current
    source.aliases["champion"] = "2"
    holder.refresh()
    assert holder.current is not old and holder.current.ref.version == "2"
    assert [r.version for r in seen] == ["1", "2"]
    # A caller that took the old model keeps a working object.
    assert old.predict(["invoice"])[0].label == "invoice"
