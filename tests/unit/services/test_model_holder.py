import time

import pytest

from app.services.model_holder import ModelHolder, ModelUnavailableError, ModelWatcher
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


def test_rolling_back_to_a_recently_served_version_needs_no_load():
    source = FakeModelSource({"champion": "1"})
    holder = ModelHolder(source, keep=2)
    holder.refresh()
    for version in ("2", "1", "2", "1"):
        source.aliases["champion"] = version
        holder.refresh()
    assert source.loads == 2 and holder.loaded.version == "1"
    source.aliases["champion"] = "3"
    holder.refresh()
    source.aliases["champion"] = "2"
    holder.refresh()  # 2 fell out of the two kept
    assert source.loads == 4


def test_the_watcher_notices_a_new_champion_and_survives_a_failed_poll():
    source = FakeModelSource({"champion": "1"})
    holder = ModelHolder(source)
    holder.refresh()
    watcher = ModelWatcher(holder, interval=0.01)
    watcher.start()
    try:
        source.broken.add("2")
        source.aliases["champion"] = "2"
        time.sleep(0.1)
        assert holder.loaded.version == "1", "a version that cannot load is not swapped in"
        source.aliases["champion"] = "3"
        deadline = time.monotonic() + 5
        while holder.loaded.version != "3" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert holder.loaded.version == "3"
    finally:
        watcher.stop()


def test_a_zero_interval_watcher_never_starts():
    watcher = ModelWatcher(ModelHolder(FakeModelSource()), interval=0)
    watcher.start()
    assert watcher._thread is None
