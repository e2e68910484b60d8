"""A small OpenAI-compatible chat-completions server on 127.0.0.1 (tests.local_http), the
model explainer's stand-in: POST /v1/chat/completions answers what the test scripts.

`answer` is a function of the facts the model was given (parsed back from the prompt's
"- what: value" lines, as a dict) returning:
- a str: the model's text, in a well-formed chat completion;
- bytes: the raw body (200), for garbage;
- an int: an HTTP error status with a JSON error body;
- SLOW: nothing until the server stops (a hung model).
Every request is kept in `asked` (its JSON payload, parsed facts and Authorization
header); `on_request(facts)`, when set, runs in the server's thread before answering.
"""

import json

from tests.local_http import LocalServer, send

SLOW = object()
PATH = "/v1/chat/completions"


def parse_facts(prompt: str) -> dict[str, str]:
    facts = {}
    for line in prompt.splitlines():
        if line.startswith("- "):
            what, _, value = line[2:].partition(": ")
            facts[what] = value
    return facts


def fact(facts: dict[str, str], starts: str) -> str:
    """The value of the fact whose description starts with `starts`."""
    return next(v for k, v in facts.items() if k.startswith(starts))


def right_answer(facts: dict[str, str]) -> str:
    """A sentence that keeps every rule, built only from the facts as given."""
    return (
        f"{{share}} of your {{amount}} answers a {fact(facts, 'urgency in words')} need "
        f"(urgency {fact(facts, 'urgency')}) in {fact(facts, 'place')}, where this week's "
        f"{fact(facts, 'this week')} goes toward a {fact(facts, 'its funding gap')} gap."
    )


def completion(content) -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "model": "fake-model",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
        }
    ).encode()


class FakeChatModel:
    def __init__(self):
        self.server = LocalServer()
        self.server.routes[PATH] = self._route
        self.answer = right_answer
        self.asked: list[dict] = []
        self.on_request = None

    @property
    def base_url(self) -> str:
        return self.server.url("/v1")

    def close(self):
        self.server.close()

    def _route(self, handler):
        payload = json.loads(handler.body)
        facts = parse_facts(payload["messages"][-1]["content"])
        self.asked.append(
            {
                "payload": payload,
                "facts": facts,
                "authorization": handler.headers.get("Authorization"),
            }
        )
        if self.on_request is not None:
            self.on_request(facts)
        reply = self.answer(facts)
        if reply is SLOW:
            self.server.stopping.wait(30)
            return
        if isinstance(reply, int):
            send(handler, reply, json.dumps({"error": {"message": "model failed"}}).encode())
        elif isinstance(reply, bytes):
            send(handler, 200, reply)
        else:
            send(handler, 200, completion(reply))
