"""How many generated examples each property runs.

CI runs the default counts (cheap: the test client, no network). `HYPOTHESIS_PROFILE=
thorough` multiplies them by ten for a longer hunt on a developer's machine. The counts
are explicit so the README and the final report can say how many inputs were tried.
"""

import os

from hypothesis import HealthCheck, settings

THOROUGH = os.environ.get("HYPOTHESIS_PROFILE", "") == "thorough"


def examples(n: int):
    """Hypothesis settings for a property over the database: n examples (10n when
    thorough), no deadline (a shared CI machine has slow moments, and timing is not
    what these tests are about), derandomized so CI sees the same inputs every run."""
    return settings(
        max_examples=n * 10 if THOROUGH else n,
        deadline=None,
        derandomize=not THOROUGH,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,  # the db and the fake Stripe are shared
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
        database=None,
    )
