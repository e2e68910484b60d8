"""verify_week: recompute a week's split from what the run recorded and check it against
the ledger, row by row, and against the week's published checksum.

For every place and every pass the run made over it (distributions.RunCity.inputs):
1. each charity's weight, room and spread are recomputed from its needs as recorded
   (urgency x remaining gap, remaining gap of needs with an urgency, urgency x reported
   gap), and must be what the run recorded;
2. the pool is split again (portfolio.allocation.allocate_pool) and each charity's amount
   credited to its needs again: both must be what the run recorded;
3. the subscriptions' payments of the pass are split again (split_rows): every cell must
   be a Distribution row of the week with that amount, and nothing else may be there;
4. what each subscription paid into the week's passes must be what its contributions
   marked as given that week add up to (the ledger's contributions).
Then the week's rows, as published, must hash to the checksum sealed when the run
closed. The first difference is reported in one line; verify_week exits non-zero.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from core.text import counted
from distributions.models import Distribution
from distributions.selectors import get_run, get_run_cities, subscription_token, week_checksum
from subscriptions.models import Contribution

from .allocation import Candidate, allocate_pool, split_rows


@dataclass
class Verification:
    week_start: dt.date
    places: list[str] = field(default_factory=list)  # one line per place checked
    rows: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _need_candidate(need: dict) -> Candidate:
    urgency = need["urgency"]
    remaining = need["remaining_gap_cents"]
    return Candidate(
        need["need_id"],
        urgency * remaining,
        remaining if urgency else 0,
        spread=urgency * need["reported_gap_cents"],
    )


def _check_pass(label, number, inputs, expected, paid, problems) -> None:
    where = f"{label}, pass {number}"
    candidates = []
    for charity in inputs["charities"]:
        needs = [_need_candidate(n) for n in charity["needs"]]
        again = Candidate(
            charity["charity_id"],
            sum(n.weight for n in needs),
            sum(n.gap_cents for n in needs),
            spread=sum(n.spread_weight for n in needs),
        )
        recorded = (charity["weight"], charity["gap_cents"], charity["spread"])
        if recorded != (again.weight, again.gap_cents, again.spread):
            problems.append(
                f"{where}: charity {charity['charity_id']} was weighed {recorded} but its "
                f"needs as recorded give {(again.weight, again.gap_cents, again.spread)}"
            )
        candidates.append(again)
        allocation = allocate_pool(charity["amount_cents"], needs)
        for need in charity["needs"]:
            if allocation[need["need_id"]] != need["credited_cents"]:
                problems.append(
                    f"{where}: need {need['need_id']} was credited {need['credited_cents']} "
                    f"cents, the rule gives {allocation[need['need_id']]}"
                )
    subscriptions = inputs["subscriptions"]
    amounts = [cents for _, cents in subscriptions]
    if sum(amounts) != inputs["pool_cents"]:
        problems.append(f"{where}: the payments add up to {sum(amounts)}, the pool to "
                        f"{inputs['pool_cents']}")  # fmt: skip
    if not candidates:
        return  # held: nothing was given from this pass
    for subscription_id, cents in subscriptions:
        paid[subscription_id] += cents
    totals = allocate_pool(inputs["pool_cents"], candidates)
    for charity in inputs["charities"]:
        if totals[charity["charity_id"]] != charity["amount_cents"]:
            problems.append(
                f"{where}: charity {charity['charity_id']} was given "
                f"{charity['amount_cents']} cents, the split gives {totals[charity['charity_id']]}"
            )
    order = sorted(totals)
    matrix = split_rows(amounts, [totals[c] for c in order])
    for (subscription_id, _), cells in zip(subscriptions, matrix, strict=True):
        for charity_id, cents in zip(order, cells, strict=True):
            if cents:
                expected[(subscription_id, charity_id)] += cents


def verify_week(week_start: dt.date) -> Verification:
    """Check one week (a checked Monday); see the module docstring."""
    result = Verification(week_start=week_start)
    run = get_run(week_start)
    if run is None:
        result.problems.append(f"no distribution run for the week of {week_start}")
        return result
    expected: dict[tuple[int, int], int] = defaultdict(int)
    paid: dict[int, int] = defaultdict(int)
    for line in get_run_cities(run):
        label = line.place
        before = len(result.problems)
        for number, inputs in enumerate(line.inputs, 1):
            _check_pass(line.place, number, inputs, expected, paid, result.problems)
        status = "ok" if len(result.problems) == before else "DIFFERENT"
        result.places.append(f"{label}: {counted(len(line.inputs), 'pass')}, {status}")

    token = lambda sid: subscription_token(run.salt, sid)  # noqa: E731 - a short alias
    actual = {
        (sid, cid): cents
        for sid, cid, cents in Distribution.objects.filter(week_start=week_start).values_list(
            "subscription_id", "charity_id", "amount_cents"
        )
    }
    result.rows = len(actual)
    for key in sorted(expected.keys() | actual.keys()):
        want, have = expected.get(key, 0), actual.get(key, 0)
        if want != have:
            result.problems.append(
                f"row of subscription {token(key[0])} to charity {key[1]}: the ledger says "
                f"{have} cents, the recomputed split {want}"
            )
    given = defaultdict(int)
    # The run pools net money (what the processor left), so that is what must add up.
    for sid, cents in Contribution.objects.filter(distributed_week=week_start).values_list(
        "subscription_id", "net_cents"
    ):
        given[sid] += cents
    for sid in sorted(given.keys() | paid.keys()):
        if given.get(sid, 0) != paid.get(sid, 0):
            result.problems.append(
                f"subscription {token(sid)}: its contributions' net given that week add up to "
                f"{given.get(sid, 0)} cents, the run split {paid.get(sid, 0)}"
            )
    checksum = week_checksum(run)
    if checksum != run.rows_sha256:
        published = run.rows_sha256 or "(none)"
        result.problems.append(
            f"the week's rows hash to {checksum}, not to the published {published}"
        )
    return result
