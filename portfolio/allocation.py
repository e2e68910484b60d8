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

from array import array
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
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
        parent, goal = _augmenting_path(start, width, edge_row, surplus)
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


class StreamedSplit:
    """split_rows, streamed: iterating yields the rows in blocks of `chunk`, each row as
    soon as split_rows' greedy pass has decided it (the floor of each cell, plus the
    cents it rounds up), before the pass has seen any row after it. Whoever writes the
    rows can start at once, while the rest are worked out. Memory is O(charities) plus one
    block, plus one bit per cell (whether it is the floor's ceiling).

    The greedy pass alone rarely misses a column's total (by a cent or so); split_rows
    then repairs it by moving single cents inside a few rows, and which rows only the
    whole pass tells. So once the last block is out, `amended` maps the index of each row
    the repair changed to its cells in split_rows ({} when there is nothing to repair,
    the usual case): the yielded rows, those replaced, are split_rows' matrix cell for
    cell (same rows, same totals; the repair is replayed exactly, _LazyRepair). Until the
    blocks are exhausted `amended` is None.
    """

    def __init__(self, amounts: Sequence[int], totals: Sequence[int], chunk: int):
        self.chunk = _check_int(chunk, "chunk", minimum=1)
        self.amounts = [_check_int(a, "amount") for a in amounts]
        self.totals = [_check_int(t, "total") for t in totals]
        self.pool = sum(self.amounts)
        if self.pool != sum(self.totals):
            raise AllocationError(f"rows add up to {self.pool} but columns to {sum(self.totals)}")
        self.amended: dict[int, list[int]] | None = None
        # Per row, the bits of the cells rounded up (split_rows_chunked's second pass).
        self.ups = array("Q") if len(self.totals) <= 64 else []

    def __iter__(self) -> Iterator[list[list[int]]]:
        amounts, totals, pool, chunk = self.amounts, self.totals, self.pool, self.chunk
        width = len(totals)
        n = len(amounts)
        if pool == 0:
            for start in range(0, n, chunk):
                yield [[0] * width for _ in amounts[start : start + chunk]]
            self.amended = {}
            return
        ups = self.ups
        ever_up = 0  # the columns some row rounds up (a repair can only take a cent from them)
        behind = [0] * width  # as in split_rows
        given_by_column = [0] * width
        columns = range(width)
        block = []
        for amount in amounts:
            row = []
            row_rem = []
            given = 0
            for j in columns:
                share, rem = divmod(amount * totals[j], pool)
                row.append(share)
                row_rem.append(rem)
                given += share
                given_by_column[j] += share
                behind[j] += rem
            bits = 0
            free = amount - given
            if free:
                order = sorted((j for j in columns if row_rem[j]), key=lambda j: (-behind[j], j))
                for j in order[:free]:
                    row[j] += 1
                    bits |= 1 << j
                    behind[j] -= pool
                    given_by_column[j] += 1
            ups.append(bits)
            ever_up |= bits
            block.append(row)
            if len(block) == chunk:
                yield block
                block = []
        if block:
            yield block
        surplus = [given_by_column[j] - totals[j] for j in columns]
        self.amended = (
            _LazyRepair(amounts, totals, pool, ups, ever_up).run(surplus) if any(surplus) else {}
        )


def split_rows_chunked(
    amounts: Sequence[int], totals: Sequence[int], chunk: int
) -> Iterator[list[list[int]]]:
    """split_rows, cell for cell, yielded `chunk` rows at a time, without ever holding the
    matrix: memory is O(charities) plus one chunk, plus one bit per cell (whether it is
    the floor's ceiling) and the few rows the repair touches.

    Rows in split_rows are decided one by one (the greedy pass carries only each column's
    lag from row to row), so the same pass run chunk by chunk gives the same rows
    (StreamedSplit). The repair then moves cents inside a few rows; it is replayed exactly
    as split_rows does it (_LazyRepair). Unlike StreamedSplit, every row comes out final:
    the greedy pass runs to the end first, then the rows are yielded again, each floor +
    its bit, or the repaired row. Both margins are exact as in split_rows.
    """
    split = StreamedSplit(amounts, totals, chunk)
    for _ in split:  # the greedy pass: the bits of each row, and what the repair changes
        pass
    amounts, totals, pool, ups, repaired = (
        split.amounts, split.totals, split.pool, split.ups, split.amended
    )  # fmt: skip
    if pool == 0:
        yield from (
            [[0] * len(totals) for _ in amounts[start : start + chunk]]
            for start in range(0, len(amounts), chunk)
        )
        return
    n = len(amounts)
    for start in range(0, n, chunk):
        block = []
        for i in range(start, min(start + chunk, n)):
            row = repaired.get(i)
            if row is None:
                amount = amounts[i]
                bits = ups[i]
                row = [amount * t // pool + (bits >> j & 1) for j, t in enumerate(totals)]
            block.append(row)
        yield block


class _LazyRepair:
    """split_rows' _repair, replayed cent for cent without the whole matrix.

    _repair indexes every row up front: edges[u][v] lists, in row order, the rows whose
    cell u is at its ceiling and cell v at its floor with a fractional part, then takes
    from the end of a list the last row still fit (dropping unfit ones), and appends a row
    again to every list it fits after moving cents in it. Here each list is two parts:
    the rows appended during the repair (kept, they are few) and the initial index, read
    backwards from a cursor by testing each row's bits (no list built). A row no move has
    touched still fits exactly where the initial index put it, so the row found, and the
    rows dropped, are those of _repair.
    """

    def __init__(self, amounts, totals, pool, ups, ever_up):
        self.ever_up = ever_up
        self.amounts = amounts
        self.totals = totals
        self.pool = pool
        self.ups = ups
        self.width = len(totals)
        self.touched: dict[int, tuple[list[int], list[int], list[int]]] = {}

    def state(self, i):
        got = self.touched.get(i)
        if got is None:
            amount, bits, pool = self.amounts[i], self.ups[i], self.pool
            floors, rems, cells = [], [], []
            for j, t in enumerate(self.totals):
                share, rem = divmod(amount * t, pool)
                floors.append(share)
                rems.append(rem)
                cells.append(share + (bits >> j & 1))
            got = (cells, floors, rems)
        return got

    def fits(self, i, u, v) -> bool:
        cells, floors, rems = self.state(i)
        return cells[u] > floors[u] and cells[v] == floors[v] and rems[v] > 0

    def fitted_at_first(self, i, u, v) -> bool:
        bits = self.ups[i]
        return bool(
            bits >> u & 1 and not bits >> v & 1 and (self.amounts[i] * self.totals[v]) % self.pool
        )

    def run(self, surplus: list[int]) -> dict[int, list[int]]:
        width = self.width
        appended = [[[] for _ in range(width)] for _ in range(width)]
        # Where the initial index of (u, v) is still to be read from, backwards. It is
        # empty (nothing to read) when no row rounded u up or v has no fraction anywhere
        # (a column of 0): a shortcut only, the backward read would find nothing either.
        last = len(self.amounts) - 1
        cursor = [
            [
                last if self.ever_up >> u & 1 and 0 < self.totals[v] < self.pool else -1
                for v in range(width)
            ]
            for u in range(width)
        ]
        touched = self.touched

        def index_row(i):
            cells, floors, rems = touched[i]
            downs = [u for u in range(width) if cells[u] > floors[u]]
            ups = [v for v in range(width) if cells[v] == floors[v] and rems[v] > 0]
            for u in downs:
                for v in ups:
                    appended[u][v].append(i)

        def edge_row(u, v):
            rows = appended[u][v]
            while rows:
                i = rows[-1]
                if self.fits(i, u, v):
                    return i
                rows.pop()
            i = cursor[u][v]
            while i >= 0:
                if self.fitted_at_first(i, u, v) and (i not in touched or self.fits(i, u, v)):
                    break
                i -= 1
            cursor[u][v] = i
            return i if i >= 0 else None

        while True:
            start = next((j for j in range(width) if surplus[j] > 0), None)
            if start is None:
                return {i: state[0] for i, state in touched.items()}
            parent, goal = _augmenting_path(start, width, edge_row, surplus)
            v = goal
            moved = []
            while parent[v] is not None:
                u, i = parent[v]
                if i not in touched:
                    touched[i] = self.state(i)
                cells = touched[i][0]
                cells[u] -= 1
                cells[v] += 1
                moved.append(i)
                v = u
            surplus[start] -= 1
            surplus[goal] += 1
            for i in moved:
                index_row(i)


def _augmenting_path(start: int, width: int, edge_row, surplus: list[int]):
    """Breadth-first search for the repair of controlled rounding: from column `start`
    (cents to give back) to the nearest column short of cents, along rows that can move a
    cent from one column to the other (edge_row(u, v): such a row's index, or None).
    Returns the parent map {column: (previous column, row)} and the column reached."""
    parent = {start: None}
    queue = deque([start])
    while queue:
        u = queue.popleft()
        for v in range(width):
            if v in parent:
                continue
            i = edge_row(u, v)
            if i is None:
                continue
            parent[v] = (u, i)
            if surplus[v] < 0:
                return parent, v
            queue.append(v)
    # Impossible by the integral-flow theorem: the inputs were inconsistent.
    raise AllocationError("no controlled rounding found (inputs inconsistent)")  # pragma: no cover
