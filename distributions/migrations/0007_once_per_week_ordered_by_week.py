"""distribution_once_per_week, the same rule (one row per subscription, charity and week),
its index ordered (subscription, week_start, charity): a run asks whether a subscription
already has rows in the week it distributes (portfolio.services._claimable), which was a
scan of the subscription's whole history under (subscription, charity, week_start) and is
now a range of at most one row per charity. Measured with 103 earlier weeks of rows for a
city of 2,000 donors: its claim 99-137 ms before, 35-45 ms after (BENCHMARKS.md, issue 17,
third session). On PostgreSQL this rebuilds the ledger's largest index, under a lock that
stops writes to it for the build: run it between weekly runs.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('charities', '0005_charity_logo'),
        ('distributions', '0006_run_week_permission'),
        ('subscriptions', '0007_weekly_writes_keep_fewer_indexes'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='distribution',
            name='distribution_once_per_week',
        ),
        migrations.AddConstraint(
            model_name='distribution',
            constraint=models.UniqueConstraint(fields=('subscription', 'week_start', 'charity'), name='distribution_once_per_week'),
        ),
    ]
