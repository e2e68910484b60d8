"""The money maths, pure: integers in, integers out, no Django, no floats.

Two steps (DESIGN.md, "Allocation"):

1. ``allocate_pool``: a city's pool of P cents over its charities, by weight (urgency x
   remaining gap), with the largest-remainder method. No charity gets more than its
   remaining gap while another still has room: a charity whose exact share would pass its
   gap gets its gap and the excess is re-spread over the rest by weight ("water filling").
   Once every remaining gap is met, what is left is spread over all of them by their
   spread weight (urgency x the gap they reported), so a city whose gaps are all met still
   gives, never holds. Ties go to the lower key, never to list order. The same function
   credits a charity's share to its needs (keys are then need ids): each up to its
   remaining gap, in proportion to urgency x remaining gap, the rest by urgency x reported
   gap.

2. ``split_rows``: each subscription's payment over the same charities so that, at once,
   every row adds up to what the subscription paid, every charity's column adds up to its
   city total, and every cell is the floor or the ceiling of paid x total / pool
   (controlled rounding). Rows are rounded one by one, the free cents going to the
   charities whose column is furthest behind its exact running total (so the columns
   barely drift); whatever drift is left is repaired by moving single cents inside rows
   along a shortest path found by breadth-first search over the charities. Both margins
   are whole numbers, so by the integral-flow theorem a path from a column above its
   total to one below it always exists.

Exact shares are kept as integer numerators over a common denominator (the pool), so
comparisons are exact and cheap.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Candidate:
    """A charity (or, inside a charity, a need) taking part in a split.

    weight: urgency x remaining gap, summed over its current needs (what it gets while
    some gap is open); gap_cents: its remaining gap, the most it gets while another has
    room; spread: urgency x reported gap, what the money left once every gap is met is
    spread by (None: the same as weight). A candidate with spread 0 takes no part.
    """

    charity_id: int
    weight: int
    gap_cents: int
    spread: int | None = None

    @property
    def spread_weight(self) -> int:
        return self.weight if self.spread is None else self.spread


class AllocationError(ValueError):
    """Inputs that no allocation can honour (negative money, mismatched totals...)."""


def _check_int(value, name: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise AllocationError(f"{name} must be a whole number, got {value!r}")
    if value < minimum:
        raise AllocationError(f"{name} must be at least {minimum}, got {value}")
    return value


def largest_remainder(total: int, weights: Sequence[tuple[int, int]]) -> dict[int, int]:
    """Split `total` cents over (key, weight) pairs in proportion to weight.

    Everyone first gets the floor of their exact share; the cents left over go one each to
    the largest fractional remainders, ties to the lower key. Keys with weight 0 get 0.
    With no positive weight nothing can be split: every key gets 0 (the caller holds).
    """
    _check_int(total, "total")
    result = {key: 0 for key, _ in weights}
    positive = sorted((key, _check_int(w, "weight")) for key, w in weights if w > 0)
    weight_sum = sum(w for _, w in positive)
    if total == 0 or weight_sum == 0:
        return result
    remainders = []
    given = 0
    for key, weight in positive:
        share, remainder = divmod(total * weight, weight_sum)
        result[key] = share
        given += share
        remainders.append((-remainder, key))
    remainders.sort()
    for _, key in remainders[: total - given]:
        result[key] += 1
    return result


def allocate_pool(pool_cents: int, candidates: Iterable[Candidate]) -> dict[int, int]:
    """Key (charity id) -> cents. Adds up to `pool_cents` unless no candidate has a weight
    or a spread weight above 0, in which case every amount is 0 and the caller holds the
    money."""
    _check_int(pool_cents, "pool_cents")
    candidates = sorted(candidates, key=lambda c: c.charity_id)
    ids = [c.charity_id for c in candidates]
    if len(set(ids)) != len(ids):
        raise AllocationError("a charity appears twice among the candidates")
    for c in candidates:
        _check_int(c.weight, "weight")
        _check_int(c.gap_cents, "gap_cents")
        _check_int(c.spread_weight, "spread")
    result = {c.charity_id: 0 for c in candidates}
    if pool_cents == 0:
        return result
    # Open: still has room, and a weight to claim it by.
    eligible = [c for c in candidates if c.weight > 0]
    spreading = [c for c in candidates if c.spread_weight > 0 or c.weight > 0]
    if not spreading:
        return result

    total_gap = sum(c.gap_cents for c in eligible)
    if pool_cents >= total_gap:
        # Every gap is met; what is left is spread by spread weight over all of them
        # (by weight where no spread weight is given).
        for c in eligible:
            result[c.charity_id] = c.gap_cents
        by = [(c.charity_id, c.spread_weight or c.weight) for c in spreading]
        extra = largest_remainder(pool_cents - total_gap, by)
        for key, cents in extra.items():
            result[key] += cents
        return result

    # Water filling: cap whoever's exact share reaches its gap, re-spread the rest.
    remaining = pool_cents
    open_ = [c for c in eligible if c.gap_cents > 0]
    while True:
        weight_sum = sum(c.weight for c in open_)
        capped = [c for c in open_ if remaining * c.weight >= c.gap_cents * weight_sum]
        if not capped:
            break
        for c in capped:
            result[c.charity_id] = c.gap_cents
            remaining -= c.gap_cents
        open_ = [c for c in open_ if c not in capped]
    # Every exact share is now strictly below its gap, so even a rounded-up share fits.
    for key, cents in largest_remainder(
        remaining, [(c.charity_id, c.weight) for c in open_]
    ).items():
        result[key] = cents
    return result


def split_rows(amounts: Sequence[int], totals: Sequence[int]) -> list[list[int]]:
    """Controlled rounding of the matrix amounts[i] x totals[j] / pool.

    `amounts` are the rows (what each subscription paid), `totals` the columns (each
    charity's city allocation, in the caller's column order, which should be charity id
    order so that ties go to the lower id). Both must add up to the same pool.
    Returns a matrix with exact row sums, exact column sums and every cell the floor or
    ceiling of its exact share.
    """
    amounts = [_check_int(a, "amount") for a in amounts]
    totals = [_check_int(t, "total") for t in totals]
    pool = sum(amounts)
    if pool != sum(totals):
        raise AllocationError(f"rows add up to {pool} but columns to {sum(totals)}")
    width = len(totals)
    if pool == 0:
        return [[0] * width for _ in amounts]

    cells: list[list[int]] = []
    floors: list[list[int]] = []
    rems: list[list[int]] = []
    # behind[j] = pool x (exact running total of column j - cents given so far): how far
    # the column lags, as a numerator over `pool`.
    behind = [0] * width
    columns = range(width)
    for amount in amounts:
        row_floor = []
        row_rem = []
        given = 0
        for j in columns:
            share, rem = divmod(amount * totals[j], pool)
            row_floor.append(share)
            row_rem.append(rem)
            given += share
            behind[j] += rem
        row = row_floor.copy()
        free = amount - given
        if free:
            # Only cells with a fractional part may be rounded up (rule c).
            order = sorted((j for j in columns if row_rem[j]), key=lambda j: (-behind[j], j))
            for j in order[:free]:
                row[j] += 1
                behind[j] -= pool
        cells.append(row)
        floors.append(row_floor)
        rems.append(row_rem)

    surplus = [sum(row[j] for row in cells) - totals[j] for j in columns]
    if any(surplus):
        _repair(cells, floors, rems, surplus)
    return cells


def _repair(cells, floors, rems, surplus) -> None:
    """Move single cents inside rows until every column meets its total.

    Column u can pass a cent to column v through row i when cell (i, u) is at its ceiling
    (it may go down to its floor) and cell (i, v) is at its floor with a fractional part
    (it may go up to its ceiling). A path u -> ... -> v moves one cent out of u and into v,
    leaving every row sum and every column in between unchanged.
    """
    width = len(surplus)
    # edges[u][v]: rows that may once have linked u to v; checked again when used.
    edges = [[[] for _ in range(width)] for _ in range(width)]

    def down(i, u):
        return cells[i][u] > floors[i][u]

    def up(i, v):
        return cells[i][v] == floors[i][v] and rems[i][v] > 0

    def index_row(i):
        downs = [u for u in range(width) if down(i, u)]
        ups = [v for v in range(width) if up(i, v)]
        for u in downs:
            for v in ups:
                edges[u][v].append(i)

    for i in range(len(cells)):
        index_row(i)

    def edge_row(u, v):
        rows = edges[u][v]
        while rows:
            i = rows[-1]
            if down(i, u) and up(i, v):
                return i
            rows.pop()
        return None

    while True:
        start = next((j for j in range(width) if surplus[j] > 0), None)
        if start is None:
            return
        parent = {start: None}
        queue = deque([start])
        goal = None
        while queue and goal is None:
            u = queue.popleft()
            for v in range(width):
                if v in parent:
                    continue
                i = edge_row(u, v)
                if i is None:
                    continue
                parent[v] = (u, i)
                if surplus[v] < 0:
                    goal = v
                    break
                queue.append(v)
        if goal is None:  # pragma: no cover - impossible by the integral-flow theorem
            raise AllocationError("no controlled rounding found (inputs inconsistent)")
        v = goal
        touched = []
        while parent[v] is not None:
            u, i = parent[v]
            cells[i][u] -= 1
            cells[i][v] += 1
            touched.append(i)
            v = u
        surplus[start] -= 1
        surplus[goal] += 1
        for i in touched:
            index_row(i)
