"""allauth's account adapter, for one thing: the client address its rate limits count.

Behind TRUSTED_PROXY_COUNT proxies allauth takes the address that many entries from the
right of X-Forwarded-For, and raises ImproperlyConfigured (a 500) when the header has
fewer entries: a request that did not come through every trusted proxy (someone reaching
gunicorn directly, or a header the client wrote). Such a request is answered like any
other, counted under the address it really came from (REMOTE_ADDR), never a 500.
"""

from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import ImproperlyConfigured, PermissionDenied


class AccountAdapter(DefaultAccountAdapter):
    def get_client_ip(self, request) -> str:
        try:
            return super().get_client_ip(request)
        except ImproperlyConfigured:
            address = request.META.get("REMOTE_ADDR")
            if not address:
                raise PermissionDenied("Unable to determine client IP address") from None
            return address
