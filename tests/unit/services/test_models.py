"""Promote and roll back through the model service."""

from __future__ import annotations

import pytest

from app.domain.models import ModelLoadError, ModelNotFoundError
from app.services.model_holder import ModelHolder
from app.services.models import ModelService
from tests.unit.fakes import FakeModelSource


@pytest.fixture
def service() -> ModelService:
    source = FakeModelSource({"champion": "1", "challenger": "2"})
    holder = ModelHolder(source)
    holder.refresh()
    return ModelService(registry=source, holder=holder)


def test_promote_serves_the_new_champion_before_returning_and_rollback_is_a_promote(service):
    promotion = service.promote("document-classifier", "2")
    assert (promotion.version, promotion.previous_version) == ("2", "1")
    assert service.holder.loaded.version == "2"
    assert service.holder.current.predict(["facture"])[0].label == "invoice"
    back = service.promote("document-classifier", "1")
    assert (back.previous_version, back.serving.version) == ("2", "1")


def test_unknown_model_or_version_changes_nothing(service):
    with pytest.raises(ModelNotFoundError, match="serves 'document-classifier'"):
        service.promote("other", "2")
    with pytest.raises(ModelNotFoundError):
        service.promote("document-classifier", "99")
    assert service.registry.alias_version("champion") == "1"
    assert service.holder.loaded.version == "1"


def test_a_version_that_cannot_load_puts_the_alias_back(service):
    service.registry.broken.add("3")
    with pytest.raises(ModelLoadError, match="stays version 1"):
        service.promote("document-classifier", "3")
    assert service.registry.alias_version("champion") == "1"
    assert service.holder.loaded.version == "1"


def test_versions_list_newest_first_with_aliases(service):
    versions = service.versions()
    assert [v.version for v in versions] == ["3", "2", "1"]
    assert versions[1].aliases == ("challenger",)
