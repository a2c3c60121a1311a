"""The app's update decision on app open, and the versions devices start on."""
from collections import Counter
from random import Random

import pytest

from loadtests.scenario import load
from loadtests.phone.versions import (choose_baseline_version, choose_platform, should_update)

BAD_RELEASE = load("bad-release")


def test_nothing_to_install_when_latest_is_not_newer():
    rng = Random(0)
    assert not should_update("4.1.3", "4.1.3", "4.0.0", 1.0, rng)
    assert not should_update("4.2.1", "4.2.0", "4.0.0", 1.0, rng)


def test_versions_compare_as_versions_not_strings():
    assert should_update("4.9.0", "4.10.0", None, 1.0, Random(0))
    assert not should_update("4.10.0", "4.9.0", None, 1.0, Random(0))


def test_newer_release_is_adopted_with_the_adoption_probability():
    rng = Random(11)
    adopted = sum(should_update("4.1.3", "4.2.0", "4.0.0", 0.35, rng) for _ in range(10_000))
    assert 3200 < adopted < 3800


@pytest.mark.parametrize("adoption, expected", [(0.0, False), (1.0, True)])
def test_adoption_bounds(adoption, expected):
    assert should_update("4.1.3", "4.2.0", "4.0.0", adoption, Random(5)) is expected


def test_below_min_supported_the_update_is_forced():
    rng = Random(2)
    assert all(should_update("4.0.2", "4.2.1", "4.1.0", 0.0, rng) for _ in range(100))


def test_no_draw_when_the_answer_is_not_random():
    rng = Random(9)
    should_update("4.2.1", "4.2.1", "4.0.0", 0.5, rng)
    should_update("4.0.2", "4.2.1", "4.1.0", 0.5, rng)
    assert rng.random() == Random(9).random()


def test_baseline_is_mostly_4_1_3_with_some_4_1_2_and_a_few_4_0_2():
    """The bad-release scenario's population, read from its file."""
    rng = Random(42)
    counts = Counter(choose_baseline_version(rng, BAD_RELEASE.population) for _ in range(10_000))
    assert set(counts) == {"4.1.3", "4.1.2", "4.0.2"}
    assert counts["4.1.3"] > counts["4.1.2"] > counts["4.0.2"] > 300


def test_platforms_split_about_55_45():
    rng = Random(42)
    counts = Counter(choose_platform(rng, BAD_RELEASE.platforms) for _ in range(10_000))
    assert 5200 < counts["ios"] < 5800 and counts["ios"] + counts["android"] == 10_000
