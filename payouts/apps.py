from django.apps import AppConfig


class PayoutsConfig(AppConfig):
    name = "payouts"
    verbose_name = "Payouts to charities"

    def ready(self):
        # Imported here, not at the top: an AppConfig module is imported before the
        # app registry is ready, and these modules import models.
        from subscriptions.webhooks import register_handler

        # (the same reason) the handlers live with the payouts they change.
        from .connect import handle_account_updated
        from .services import handle_transfer_reversed

        register_handler("account.updated", handle_account_updated)
        register_handler("transfer.reversed", handle_transfer_reversed)
