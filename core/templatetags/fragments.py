"""{% cache_forms %}: Django's {% cache %} for a fragment that holds forms.

A fragment with a {% csrf_token %} cannot be kept as rendered: the token is masked afresh
for every response (so that a compressed page cannot leak it), and a cached one would be
another response's. This tag renders the fragment once with a placeholder for the token,
keeps that, and on every use puts in this request's token where the placeholder is, exactly
as {% csrf_token %} would have rendered it. The arguments are {% cache %}'s:

    {% load fragments %}
    {% cache_forms 86400 dashboard_subscriptions user.pk state_key %}...{% endcache_forms %}

As with {% cache %}, the vary-on values must change whenever anything the fragment shows
can differ.
"""

from django import template
from django.template.defaulttags import CsrfTokenNode
from django.templatetags.cache import CacheNode
from django.utils.safestring import mark_safe

register = template.Library()

# Letters only: escaping leaves it as it is, and no amount, date or name looks like it.
CSRF_PLACEHOLDER = "csrfTokenPlaceholderOfCacheForms"
_PLACEHOLDER_INPUT = CsrfTokenNode().render(template.Context({"csrf_token": CSRF_PLACEHOLDER}))


def put_csrf_token(html: str, context) -> str:
    """html rendered with csrf_token=CSRF_PLACEHOLDER, with this request's token in."""
    return mark_safe(html.replace(_PLACEHOLDER_INPUT, CsrfTokenNode().render(context)))  # noqa: S308 (rendered escaped; the token is format_html's)


class FormsCacheNode(CacheNode):
    def render(self, context):
        with context.push(csrf_token=CSRF_PLACEHOLDER):
            html = super().render(context)
        return put_csrf_token(html, context)


@register.tag("cache_forms")
def do_cache_forms(parser, token):
    nodelist = parser.parse(("endcache_forms",))
    parser.delete_first_token()
    tokens = token.split_contents()
    if len(tokens) < 3:
        raise template.TemplateSyntaxError(f"{tokens[0]!r} needs a timeout and a name.")
    return FormsCacheNode(
        nodelist,
        parser.compile_filter(tokens[1]),
        tokens[2],
        [parser.compile_filter(t) for t in tokens[3:]],
        None,
    )
