"""The weekly run writes every active subscription and every contribution of the week
once; each index on those tables is one more entry to write per row (issue 17).

- The Stripe ids stay unique, now by named constraints: unique=True also made Django add
  a second, varchar_pattern_ops ("_like") index on PostgreSQL, for LIKE queries nobody
  runs. The constraints are added before the fields lose unique=True, in the same
  transaction: the ids are never without a unique index.
- Subscription.user loses its own index: subscription_user_status_idx (user, status)
  serves lookups by user alone.
- Subscriptions get fillfactor 50 on PostgreSQL: the run rewrites each row once a week
  (last_distribution_date), and room on the row's own page lets PostgreSQL write the new
  version there without touching any index (a HOT update). New pages are filled to
  half; existing ones as they are rewritten.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

SUBSCRIPTIONS_FILLFACTOR = 50


def set_fillfactor(apps, schema_editor, value=SUBSCRIPTIONS_FILLFACTOR):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite has no fillfactor
    table = schema_editor.quote_name(apps.get_model("subscriptions", "Subscription")._meta.db_table)
    if value is None:
        schema_editor.execute(f"ALTER TABLE {table} RESET (fillfactor)")
    else:
        schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {int(value)})")


def reset_fillfactor(apps, schema_editor):
    set_fillfactor(apps, schema_editor, value=None)


class Migration(migrations.Migration):

    dependencies = [
        ('subscriptions', '0006_subscription_paused_until'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='contribution',
            constraint=models.UniqueConstraint(fields=('stripe_invoice_id',), name='contribution_invoice_once'),
        ),
        migrations.AddConstraint(
            model_name='subscription',
            constraint=models.UniqueConstraint(fields=('stripe_subscription_id',), name='subscription_stripe_id_once'),
        ),
        migrations.AlterField(
            model_name='contribution',
            name='stripe_invoice_id',
            field=models.CharField(max_length=255),
        ),
        migrations.AlterField(
            model_name='subscription',
            name='stripe_subscription_id',
            field=models.CharField(max_length=255),
        ),
        migrations.AlterField(
            model_name='subscription',
            name='user',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='subscriptions', to=settings.AUTH_USER_MODEL),
        ),
        migrations.RunPython(set_fillfactor, reset_fillfactor, elidable=False),
    ]
