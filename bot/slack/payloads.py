"""What a signed Slack request must look like before Bolt and the app's listeners read it.

Slack's payloads have fixed shapes: an event is an object with a string `type`, a mention has the
`channel` and `ts` it is answered in, an interaction's `actions` are a list of objects. A signed
body that is valid JSON of another shape (`"event": "x"`, a mention without `ts`) would otherwise
fail deep inside Bolt or a listener (500, a traceback in the log); here it gets one reason, which
the front door answers with 400. Only what Bolt and the listeners read is checked: other fields and
event types the app does not handle pass as they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# Fields of the Events API envelope that are strings (or null) when present.
ENVELOPE_STRINGS = ("token", "team_id", "api_app_id", "event_id", "enterprise_id", "challenge", "context_team_id")
# Fields of the events the app handles that are strings when present, and those it cannot do without.
EVENT_STRINGS = ("type", "subtype", "user", "text", "channel", "channel_type", "ts", "thread_ts", "bot_id", "tab")
EVENT_NEEDS: dict[str, tuple[str, ...]] = {
    "app_mention": ("channel", "ts"),
    "message": ("channel", "ts"),  # the ones answered: without a subtype (edits and deletions have one)
    "app_home_opened": ("user",),
    "assistant_thread_started": ("assistant_thread",),
    "assistant_thread_context_changed": ("assistant_thread",),
}
THREAD_NEEDS = ("channel_id", "thread_ts")
# Fields of an interaction payload (button clicks, views) that are objects, and strings, when present.
INTERACTION_OBJECTS = ("user", "team", "channel", "container", "message", "view", "enterprise", "state")
INTERACTION_STRINGS = ("type", "trigger_id", "response_url", "api_app_id", "token")
COMMAND_NEEDS = ("response_url",)


def event_problem(body: Mapping[str, Any]) -> str | None:
    """Why an Events API body (JSON) cannot be Slack's, or None."""
    if not isinstance(body.get("type"), str):
        return "no string `type`"
    problem = _strings(data=body, names=ENVELOPE_STRINGS, prefix="", nullable=True)
    if problem:
        return problem
    authorizations = body.get("authorizations", [])
    if not _objects(authorizations):
        return "`authorizations` is not a list of objects"
    if body["type"] != "event_callback":
        return None
    event = body.get("event")
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        return "`event` is not an object with a string `type`"
    needs = EVENT_NEEDS.get(event["type"])
    if needs is None:
        return None  # not one the app handles: Bolt answers it
    if event["type"] == "message" and event.get("subtype"):
        needs = ()
    missing = [name for name in needs if name not in event]
    if missing:
        return f"{event['type']} event without `{missing[0]}`"
    thread = event.get("assistant_thread")
    if "assistant_thread" in event and not (
        isinstance(thread, dict) and all(isinstance(thread.get(name), str) for name in THREAD_NEEDS)
    ):
        return "`event.assistant_thread` is not an object with string `channel_id` and `thread_ts`"
    return _strings(data=event, names=EVENT_STRINGS, prefix="event.")


def interaction_problem(payload: Mapping[str, Any]) -> str | None:
    """Why an interaction payload (a form's `payload` JSON) cannot be Slack's, or None."""
    if not isinstance(payload.get("type"), str):
        return "no string `type`"
    problem = _strings(data=payload, names=INTERACTION_STRINGS, prefix="")
    if problem:
        return problem
    wrong = [name for name in INTERACTION_OBJECTS if name in payload and not isinstance(payload[name], dict)]
    if wrong:
        return f"`{wrong[0]}` is not an object"
    actions = payload.get("actions", [])
    if not _objects(actions):
        return "`actions` is not a list of objects"
    for action in actions:
        problem = _strings(data=action, names=("action_id", "value", "type"), prefix="actions[].")
        if problem:
            return problem
    return None


def command_problem(form: Mapping[str, Sequence[str]]) -> str | None:
    """Why a slash command's form cannot be Slack's, or None."""
    missing = [name for name in COMMAND_NEEDS if name not in form]
    return f"command without `{missing[0]}`" if missing else None


def _strings(*, data: Mapping[str, Any], names: Sequence[str], prefix: str, nullable: bool = False) -> str | None:
    for name in names:
        if name in data and not (isinstance(data[name], str) or (nullable and data[name] is None)):
            return f"`{prefix}{name}` is not a string"
    return None


def _objects(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)
