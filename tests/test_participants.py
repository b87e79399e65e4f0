"""Automatic grouping of face tracks into participants (``auto:N``): the same groups as
joining the closest pair of all each time, at a cost that grows gently with the tracks."""

from __future__ import annotations

import numpy as np
import pytest

from fervision import participants
from fervision.participants import TrackStats, _Groups, group_tracks


def random_tracks(seed: int, n: int, frames: int = 600) -> dict[int, TrackStats]:
    """``n`` short tracks on a coarse grid of places (ties happen), some without a look."""
    rng = np.random.default_rng(seed)
    tracks = {}
    for t in range(n):
        first = int(rng.integers(0, frames))
        stats = TrackStats(first, first)
        x, w = 40.0 * rng.integers(0, 4), 20.0 * rng.integers(0, 3)  # w 0: width of 1
        for f in range(first, first + int(rng.integers(1, 40))):
            look = rng.integers(0, 3, 8).astype(float) if t % 5 and f == first else None
            stats.add(f, (x, 10.0, w, w), look)
        tracks[int(rng.integers(0, 10**6))] = stats
    return tracks


def closest_pair_each_time(tracks: dict[int, TrackStats], names) -> dict[int, str]:
    """The plain algorithm: every pair's distance before each join (ties: lower indices)."""
    ids = sorted(tracks)
    groups = _Groups([tracks[t] for t in ids])
    n = len(ids)
    while groups.alive.sum() > len(names):
        d = np.array([groups.distances(k) for k in range(n)]).reshape(n, n)
        d[np.tril_indices(n)] = np.inf
        d[~groups.alive] = np.inf  # a joined group's row (its column is inf already)
        i, j = np.unravel_index(np.argmin(d), d.shape)
        if d[i, j] == np.inf:
            break
        groups.join(int(i), int(j))
    kept = sorted(np.flatnonzero(groups.alive).tolist(), key=lambda k: -groups.frames[k])
    kept = sorted(kept[: len(names)], key=lambda k: groups.sums[k, 0] / max(groups.frames[k], 1))
    return {ids[t]: name for k, name in zip(kept, names) for t in groups.members[k].tolist()}


@pytest.mark.parametrize("seed", range(12))
def test_grouping_joins_the_closest_pair_each_time(seed):
    tracks = random_tracks(seed, n=5 + 4 * seed)
    names = [f"person{i + 1}" for i in range(1 + seed % 3)]
    assert group_tracks(tracks, names) == closest_pair_each_time(tracks, names)


def test_grouping_hundreds_of_tracks_computes_a_few_rows_a_join(monkeypatch):
    """600 tracks: each join recomputes a few groups' distances, not every pair's."""
    rows = 0
    distances = _Groups.distances

    def counted(self, k):
        nonlocal rows
        rows += 1
        return distances(self, k)

    monkeypatch.setattr(participants._Groups, "distances", counted)
    names = group_tracks(random_tracks(0, n=600, frames=20_000), ["a", "b"])
    assert set(names.values()) == {"a", "b"}
    assert rows < 20 * 600  # all pairs at each join: about 600**3 / 6 distances
