"""Weighted reciprocal rank fusion of ranked candidate lists, scored 0..1 (1 = first in every list)."""

RRF_K = 60  # the constant of Cormack et al.: a hit's weight decays slowly with its rank


def fuse(rankings: dict[str, list[int]], weights: dict[str, float], k: int = RRF_K) -> list[tuple[int, float]]:
    """(id, score) best first; score = sum of w/(k + rank) over the lists, divided by its maximum.

    The maximum is being first in every list, so a hit only one list found scores at most that list's
    share of the weights (0.5 with equal weights): the score says how much evidence agrees, not how close.
    """
    best = sum(weights[name] for name in rankings) / (k + 1)
    if best <= 0:
        return []
    totals: dict[int, float] = {}
    for name, ids in rankings.items():
        for rank, item in enumerate(ids, start=1):
            totals[item] = totals.get(item, 0.0) + weights[name] / (k + rank)
    ordered = sorted(totals.items(), key=lambda pair: (-pair[1], pair[0]))
    return [(item, total / best) for item, total in ordered]
