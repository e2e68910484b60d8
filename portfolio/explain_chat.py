"""The model-backed explainer: any OpenAI-compatible chat-completions server (OpenAI,
a hosted gateway, or a local Ollama, llama.cpp or vLLM server), asked over plain HTTP.

    POST {EXPLAINER_BASE_URL}/chat/completions
    Authorization: Bearer {EXPLAINER_API_KEY}        (left out when the key is empty)
    {"model": EXPLAINER_MODEL, "temperature": 0, "max_tokens": 300, "messages": [...]}
    -> choices[0].message.content

It is asked once per week, place and charity (portfolio.explain.Explainer.prepare), with
the facts of portfolio.explain.fact_lines, for a sentence with the slots {share} and
{amount}; its answer is held to portfolio.explain.check_frame before any donor reads it.
An answer that is not JSON of that shape raises ExplainerGarbage; an HTTP error, a refused
connection or a timeout (EXPLAINER_TIMEOUT, per socket operation; the Explainer also stops
waiting after it) raise as they are.
"""

from __future__ import annotations

import json
import re
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .explain import MAX_SENTENCE_LENGTH, CharityFacts, ExplainerGarbage, fact_lines

PROMPT_VERSION = 1  # part of the cache key of answers: change it when the prompt changes
MAX_RESPONSE_BYTES = 100_000
# Reasoning models served locally (Ollama's deepseek-r1, qwq ...) think aloud first.
THINKING_RE = re.compile(r"^\s*<think>.*?</think>", re.DOTALL)

SYSTEM_PROMPT = f"""\
You explain to a donor, in one sentence, why part of their weekly gift went to a local \
charity. Their report prints the charity's name and the dollar amount it received next to \
your sentence, so name neither.

Rules:
- Write exactly one plain sentence of at most {MAX_SENTENCE_LENGTH - 100} characters, \
ending with a period. No quotes around it, no preamble.
- Write the placeholders {{share}} and {{amount}} exactly once each, with their braces. \
{{share}} becomes the part of the donor's gift that went to this charity ("42%", "all" \
or "less than 1%"); {{amount}} becomes the donor's whole gift this week ("$10.00"). Use \
no other braces.
- Use only the facts given. Copy every number exactly as a fact writes it ("$12,500", \
"90/100", "5%", "2nd"); write no other number, not even in words.
- Say why this charity: its need, how urgent it is, its funding gap and what this \
week's gifts cover of it, and how it compares with the place's other charities.

An answer of the right form, for other facts:
{{share}} of your {{amount}} goes to "Meals for seniors", urgency 70/100 (high); it has \
the 2nd largest need of the 4 charities in Laramie, WY, and this week's gifts cover $310 \
of its $2,000 gap (16%)."""


def user_prompt(facts: CharityFacts) -> str:
    return "Facts:\n" + "\n".join(f"- {what}: {value}" for what, value in fact_lines(facts))


class ChatCompletionsExplainer:
    """A backend for portfolio.explain.Explainer: CharityFacts -> the model's frame text."""

    def __init__(self, *, base_url=None, model=None, api_key=None, timeout=None):
        self.base_url = base_url if base_url is not None else settings.EXPLAINER_BASE_URL
        self.base_url = self.base_url.strip().rstrip("/")
        self.model = (model if model is not None else settings.EXPLAINER_MODEL).strip()
        self.api_key = api_key if api_key is not None else settings.EXPLAINER_API_KEY
        self.timeout = settings.EXPLAINER_TIMEOUT if timeout is None else timeout
        if urlsplit(self.base_url).scheme not in ("http", "https") or not self.model:
            raise ImproperlyConfigured(
                "The model explainer needs EXPLAINER_BASE_URL (http or https) and EXPLAINER_MODEL."
            )
        # Answers are kept in the cache under this: another model, server or prompt asks
        # afresh.
        self.cache_id = f"{self.base_url}|{self.model}|{PROMPT_VERSION}"

    def __repr__(self):
        return f"ChatCompletionsExplainer({self.base_url!r}, model={self.model!r})"

    def request(self, facts: CharityFacts) -> urllib.request.Request:
        body = {
            "model": self.model,
            "temperature": 0,
            "max_tokens": 300,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": user_prompt(facts)},
            ],
        }
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        # The scheme is checked to be http(s) in __init__: never a file: URL.
        return urllib.request.Request(  # noqa: S310
            f"{self.base_url}/chat/completions",
            data=json.dumps(body).encode(),
            headers=headers,
            method="POST",
        )

    def __call__(self, facts: CharityFacts) -> str:
        with urllib.request.urlopen(self.request(facts), timeout=self.timeout) as response:  # noqa: S310
            raw = response.read(MAX_RESPONSE_BYTES + 1)
        if len(raw) > MAX_RESPONSE_BYTES:
            raise ExplainerGarbage(f"an answer of more than {MAX_RESPONSE_BYTES} bytes")
        try:
            content = json.loads(raw)["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise ExplainerGarbage(f"not a chat completion ({type(exc).__name__})") from exc
        if not isinstance(content, str):
            raise ExplainerGarbage(f"content is {type(content).__name__}, not text")
        return THINKING_RE.sub("", content, count=1)
