from django.apps import AppConfig


class DistributionsConfig(AppConfig):
    name = "distributions"
    verbose_name = "Distributions (money ledger)"
