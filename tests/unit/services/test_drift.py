"""Population stability index over the three views of an input."""

from __future__ import annotations

import pytest

from app.services.drift import DriftWindow, ReferenceProfile, build_profile, oov_rate, psi
from app.training.dataset import generated_texts


def test_psi_is_zero_for_the_same_distribution_and_grows_with_the_shift():
    assert psi([0.5, 0.5], [0.5, 0.5]) == 0
    small = psi([0.5, 0.5], [0.6, 0.4])
    large = psi([0.5, 0.5], [0.9, 0.1])
    assert 0 < small < 0.1 < 0.25 < large
    assert large == pytest.approx(0.4 * 0.587787 + 0.4 * 1.609438, abs=1e-3)


def test_an_empty_bin_gives_a_finite_figure():
    assert psi([0.5, 0.5, 0.0], [0.0, 0.5, 0.5]) < 10


def test_oov_rate_counts_words_outside_the_vocabulary():
    assert oov_rate("Facture totale facture", frozenset({"facture"})) == pytest.approx(1 / 3)
    assert oov_rate("12 345 --", frozenset()) == 1.0


@pytest.fixture(scope="module")
def profile() -> ReferenceProfile:
    rows = generated_texts(per_class=20, seed=1)
    return build_profile([r.text for r in rows], [r.label for r in rows])


def test_profile_survives_a_round_trip_through_json(profile):
    assert ReferenceProfile.from_dict(profile.to_dict()) == profile
    assert sum(profile.label_shares.values()) == pytest.approx(1)
    assert sum(profile.length_shares) == pytest.approx(1)


def test_inputs_like_the_training_data_do_not_drift_and_other_inputs_do(profile):
    similar = generated_texts(per_class=20, seed=2)
    same = DriftWindow(500, min_inputs=30)
    same.add(profile, [r.label for r in similar], [r.text for r in similar])
    stable = same.report(profile).psi
    assert stable is not None and max(stable.values()) < 0.25, stable

    shifted = DriftWindow(500, min_inputs=30)
    tweets = [f"lol omg #{i} so tired today, brb coffee" for i in range(60)]
    shifted.add(profile, ["letter"] * 60, tweets)
    moved = shifted.report(profile).psi
    assert moved is not None
    assert all(moved[f] > 0.25 for f in ("predicted_label", "text_length", "oov_rate")), moved


def test_no_figure_below_the_minimum_of_inputs_or_without_a_profile(profile):
    window = DriftWindow(100, min_inputs=30)
    window.add(profile, ["invoice"] * 29, ["FACTURE"] * 29)
    assert window.report(profile).psi is None and window.report(profile).inputs == 29
    window.add(profile, ["invoice"], ["FACTURE"])
    assert window.report(profile).psi is not None
    assert window.report(None).psi is None
    window.clear()
    assert window.report(profile).inputs == 0
