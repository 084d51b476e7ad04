"""The messages a span carries, read from whichever convention its instrumentation follows.

Each span's input (the history it sent the model, system instructions first) and output
(what the model answered) become ``Message`` values with v1 roles and parts shaped as the
GenAI conventions' JSON schema shapes them (``text``, ``tool_call``, ``tool_call_response``,
``reasoning``, and any other part kept as sent). Read, in this order, the first that a span
has (one source each for input and output, so a span that says the same thing twice is
read once):

- input: ``gen_ai.input.messages`` with ``gen_ai.system_instructions``; the
  ``gen_ai.client.inference.operation.details`` event; the per-message events
  (``gen_ai.system.message``, ``gen_ai.user.message``, ``gen_ai.assistant.message``,
  ``gen_ai.tool.message``); OpenLLMetry's ``gen_ai.prompt.{i}.*``; the Vercel AI SDK's
  ``ai.prompt.messages``, then ``ai.prompt``; the old ``gen_ai.prompt`` (attribute or
  ``gen_ai.content.prompt`` event);
- output: ``gen_ai.output.messages``; the operation details event; ``gen_ai.choice``
  events; ``gen_ai.completion.{i}.*``; ``ai.response.text``/``ai.response.toolCalls`` (or
  ``ai.result.*``, ``ai.response.object``); the old ``gen_ai.completion``.

Messages in OpenAI's chat shape (``content``, ``tool_calls``, ``tool_call_id``), the
Vercel AI SDK's (``tool-call``/``tool-result`` parts) and Anthropic's (``tool_use``/
``tool_result``) are read into the same parts, so one message told two ways by two spans
of a trace is recognised as one (``Message.fingerprint``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from memory_app.fields import MAX_INTEGER
from memory_app.ingest.parts import (
    as_text,
    canonical_part,
    json_or_text,
    not_too_deep,
    read_json,
    read_part,
    render_part,
    shown,
    tool_call_part,
)
from memory_app.ingest.spans import Event, ReadSpan, Rejected
from memory_app.jsontext import dump_json
from memory_app.runtime.models import Role

# Where a conversation's id is found: the GenAI conventions' attribute first, then what
# other instrumentations name it (OpenInference, the Vercel AI SDK's telemetry metadata as
# Langfuse reads it, OpenLLMetry's association properties).
CONVERSATION_KEYS = (
    "gen_ai.conversation.id",
    "session.id",
    "ai.telemetry.metadata.sessionId",
    "traceloop.association.properties.session_id",
)
USAGE_KEYS = {
    "input_tokens": (
        "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens",
        "ai.usage.inputTokens", "ai.usage.promptTokens",
    ),
    "output_tokens": (
        "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens",
        "ai.usage.outputTokens", "ai.usage.completionTokens",
    ),
}  # fmt: skip
ROLES = {
    "system": Role.SYSTEM, "developer": Role.SYSTEM, "instruction": Role.SYSTEM,
    "instructions": Role.SYSTEM, "user": Role.USER, "human": Role.USER,
    "customer": Role.USER, "assistant": Role.ASSISTANT, "model": Role.ASSISTANT,
    "ai": Role.ASSISTANT, "bot": Role.ASSISTANT, "tool": Role.TOOL, "function": Role.TOOL,
    "ipython": Role.TOOL, "agent": Role.AGENT,
}  # fmt: skip
MESSAGE_EVENTS = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}
DETAILS_EVENT = "gen_ai.client.inference.operation.details"
INPUT, OUTPUT = 0, 1
_INDEXED = re.compile(r"gen_ai\.(prompt|completion)\.(\d+)\.(.+)")


@dataclass
class Message:
    """One message of a span's input or output, as a turn would hold it."""

    role: str  # a v1 role
    sent_role: str
    parts: list[dict[str, Any]]
    time_ns: int
    phase: int  # INPUT or OUTPUT
    source: str  # the attribute or event it was read from
    name: str | None = None
    finish_reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def fingerprint(self) -> str:
        """What makes two messages the same: the role and the parts, ids and order aside
        (one message told by two instrumentations may carry a tool call's id in one only)."""
        canonical = sorted(dump_json(canonical_part(part)) for part in self.parts)
        return hashlib.sha256(dump_json([self.role, canonical]).encode()).hexdigest()

    @property
    def content(self) -> str:
        """The message as a reader reads it: its text, tool calls and results spelled out."""
        return "\n".join(filter(None, (render_part(part) for part in self.parts)))

    def metadata(self) -> dict[str, Any]:
        """What of the message its content does not hold as it was sent."""
        found: dict[str, Any] = {}
        if self.sent_role != self.role:
            found["role"] = self.sent_role
        for key, value in (("name", self.name), ("finish_reason", self.finish_reason)):
            if value is not None:
                found[key] = value
        calls = [p for p in self.parts if p.get("type") == "tool_call"]
        results = [p for p in self.parts if p.get("type") == "tool_call_response"]
        plain = ("text", "tool_call", "tool_call_response")
        others = [p for p in self.parts if p.get("type") not in plain]
        if calls:
            found["tool_calls"] = [{k: v for k, v in p.items() if k != "type"} for p in calls]
        if results:
            found["tool_results"] = [{k: v for k, v in p.items() if k != "type"} for p in results]
        if others:
            found["other_parts"] = others
        if self.extra:
            found["message"] = self.extra
        return found


def read_messages(span: ReadSpan) -> None:
    """Fill ``span``'s conversation id, input and output messages and token usage from its
    attributes and events; ``Rejected`` when one of them cannot be read."""
    span.conversation_id = _conversation_id(span.attributes)
    span.usage = _usage(span.attributes)
    span.inputs = _first(span, _INPUT_READERS)
    span.outputs = _first(span, _OUTPUT_READERS)


def _first(span: ReadSpan, readers) -> list[Message]:
    for reader in readers:
        found = reader(span)
        if found is not None:
            messages, consumed = found
            span.consumed.extend(c for c in consumed if c not in span.consumed)
            return messages
    return []


def _conversation_id(attributes: dict[str, Any]) -> str | None:
    for key in CONVERSATION_KEYS:
        found = attributes.get(key)
        if found is None or found == "":
            continue
        if isinstance(found, bool) or not isinstance(found, str | int):
            raise Rejected(f"{key} must be text; got {shown(found)}")
        return str(found)
    return None


def _usage(attributes: dict[str, Any]) -> dict[str, int]:
    """Token counts: input and output by whichever name the span gives them, and every
    other ``gen_ai.usage.*`` count as it is named."""
    usage: dict[str, int] = {}
    for name, keys in USAGE_KEYS.items():
        for key in keys:
            if key in attributes:
                usage[name] = _count(attributes[key], key)
                break
    read = USAGE_KEYS["input_tokens"] + USAGE_KEYS["output_tokens"]
    for key, found in attributes.items():
        name = key.removeprefix("gen_ai.usage.")
        if name == key or name in usage or key in read:
            continue
        try:
            usage[name] = _count(found, key)
        except Rejected:
            continue  # not a count: it stays among the step's attributes
    return usage


def _count(found: Any, key: str) -> int:
    """A token count: a whole number from 0 to SQLite's largest integer, given as a number
    or as decimal text."""
    if isinstance(found, str) and found.strip().isascii() and found.strip().isdigit():
        found = int(found)
    if isinstance(found, float) and found.is_integer():
        found = int(found)
    if isinstance(found, bool) or not isinstance(found, int) or not 0 <= found <= MAX_INTEGER:
        raise Rejected(f"{key} must be a non-negative whole number; got {shown(found)}")
    return found


# --- where messages are read from --------------------------------------------------------


def _semconv_input(span: ReadSpan):
    attrs = span.attributes
    if "gen_ai.input.messages" not in attrs and "gen_ai.system_instructions" not in attrs:
        return None
    return _semconv(span, attrs, INPUT, span.start_ns, "gen_ai.input.messages")


def _semconv_output(span: ReadSpan):
    if "gen_ai.output.messages" not in span.attributes:
        return None
    return _semconv(span, span.attributes, OUTPUT, span.end_ns, "gen_ai.output.messages")


def _semconv(span, attrs, phase, time_ns, key):
    messages: list[Message] = []
    consumed = [key] if key in attrs else []
    if phase == INPUT and "gen_ai.system_instructions" in attrs:
        consumed.insert(0, "gen_ai.system_instructions")
        parts = _instructions(attrs["gen_ai.system_instructions"])
        messages.append(
            Message(Role.SYSTEM, "system", parts, time_ns, phase, "gen_ai.system_instructions")
        )
    if key in attrs:
        messages += _message_list(read_json(attrs[key], key), key, phase, time_ns)
    return [m for m in messages if m.parts], consumed


def _details_event(phase):
    key = "gen_ai.input.messages" if phase == INPUT else "gen_ai.output.messages"

    def read(span: ReadSpan):
        for event in span.events:
            if event.name == DETAILS_EVENT and (
                key in event.attributes
                or (phase == INPUT and "gen_ai.system_instructions" in event.attributes)
            ):
                messages, _ = _semconv(span, event.attributes, phase, event.time_ns, key)
                for message in messages:
                    message.source = f"{DETAILS_EVENT} {message.source}"
                return messages, [DETAILS_EVENT]
        return None

    return read


def _message_events(span: ReadSpan):
    events = [e for e in span.events if e.name in MESSAGE_EVENTS]
    if not events:
        return None
    messages = [
        _message(_event_body(e), e.name, INPUT, e.time_ns, default_role=MESSAGE_EVENTS[e.name])
        for e in events
    ]
    return [m for m in messages if m.parts], sorted({e.name for e in events})


def _choice_events(span: ReadSpan):
    events = [e for e in span.events if e.name == "gen_ai.choice"]
    if not events:
        return None
    messages = []
    for event in events:
        body = _event_body(event)
        inner = body.pop("message", None)
        if isinstance(inner, str):
            inner = json_or_text(inner)
        message = dict(inner) if isinstance(inner, dict) else {"content": inner}
        message.update({k: v for k, v in body.items() if k not in message})
        messages.append(
            _message(message, event.name, OUTPUT, event.time_ns, default_role="assistant")
        )
    return [m for m in messages if m.parts], ["gen_ai.choice"]


def _event_body(event: Event) -> dict[str, Any]:
    """A per-message event's body: the JSON of ``gen_ai.event.content`` (how span events
    carry it), else its attributes as the body's fields."""
    attrs = dict(event.attributes)
    if "gen_ai.event.content" in attrs:
        body = read_json(attrs.pop("gen_ai.event.content"), f"event {event.name!r} content")
        if not isinstance(body, dict):
            body = {"content": body}
        return {**attrs, **body}
    if isinstance(attrs.get("content"), str):
        attrs["content"] = json_or_text(attrs["content"], lists_only=True)
    for key in ("tool_calls", "message"):
        if isinstance(attrs.get(key), str):
            attrs[key] = json_or_text(attrs[key])
    return attrs


def _indexed(kind: str, phase: int):
    """OpenLLMetry's ``gen_ai.prompt.{i}.*`` / ``gen_ai.completion.{i}.*`` attributes."""

    def read(span: ReadSpan):
        by_index: dict[int, dict[str, Any]] = {}
        consumed = []
        for key, found in span.attributes.items():
            matched = _INDEXED.fullmatch(key)
            if matched is None or matched[1] != kind:
                continue
            consumed.append(key)
            _set_path(by_index.setdefault(int(matched[2]), {}), matched[3].split("."), found)
        if not by_index:
            return None
        time_ns = span.start_ns if phase == INPUT else span.end_ns
        messages = []
        for index in sorted(by_index):
            message = _openai_shape(by_index[index])
            messages.append(
                _message(
                    message,
                    f"gen_ai.{kind}.{index}",
                    phase,
                    time_ns,
                    default_role="user" if phase == INPUT else "assistant",
                )
            )
        return [m for m in messages if m.parts], consumed

    return read


def _set_path(holder: dict, path: list[str], found: Any) -> None:
    for step in path[:-1]:
        holder = holder.setdefault(step, {})
        if not isinstance(holder, dict):
            return
    holder[path[-1]] = found


def _openai_shape(flat: dict[str, Any]) -> dict[str, Any]:
    """One indexed message back in OpenAI's chat shape: ``tool_calls.{j}.*`` a list,
    content that is JSON of parts read as those parts."""
    message = dict(flat)
    calls = message.pop("tool_calls", None)
    if isinstance(calls, dict):
        message["tool_calls"] = [
            {
                "id": c.get("id"),
                "type": "function",
                "function": {"name": c.get("name"), "arguments": c.get("arguments")},
            }
            for _, c in sorted(calls.items(), key=lambda kv: _as_int(kv[0]))
            if isinstance(c, dict)
        ]
    function_call = message.pop("function_call", None)
    if isinstance(function_call, dict):
        message.setdefault("tool_calls", []).append({"function": function_call})
    if isinstance(message.get("content"), str):
        message["content"] = json_or_text(message["content"], lists_only=True)
    return message


def _as_int(text: str) -> int:
    return int(text) if text.isdigit() else 0


def _vercel_prompt_messages(span: ReadSpan):
    if "ai.prompt.messages" not in span.attributes:
        return None
    found = read_json(span.attributes["ai.prompt.messages"], "ai.prompt.messages")
    return _message_list(found, "ai.prompt.messages", INPUT, span.start_ns), ["ai.prompt.messages"]


def _vercel_prompt(span: ReadSpan):
    if "ai.prompt" not in span.attributes:
        return None
    prompt = read_json(span.attributes["ai.prompt"], "ai.prompt")
    if not isinstance(prompt, dict):
        raise Rejected(f"ai.prompt must be a JSON object; got {shown(prompt)}")
    messages: list[dict[str, Any]] = []
    if prompt.get("system"):
        messages.append({"role": "system", "content": prompt["system"]})
    if isinstance(prompt.get("prompt"), list):
        messages += prompt["prompt"]
    elif prompt.get("prompt") is not None:
        messages.append({"role": "user", "content": prompt["prompt"]})
    if isinstance(prompt.get("messages"), list):
        messages += prompt["messages"]
    return _message_list(messages, "ai.prompt", INPUT, span.start_ns), ["ai.prompt"]


def _vercel_response(span: ReadSpan):
    attrs = span.attributes
    keys = [
        k
        for k in (
            "ai.response.text",
            "ai.result.text",
            "ai.response.object",
            "ai.result.object",
            "ai.response.toolCalls",
            "ai.result.toolCalls",
            "ai.response.finishReason",
            "ai.finishReason",
        )
        if k in attrs
    ]
    text_keys = [k for k in keys if not k.endswith("finishReason")]
    if not text_keys:
        return None
    parts: list[dict[str, Any]] = []
    for key in ("ai.response.text", "ai.result.text", "ai.response.object", "ai.result.object"):
        if key in attrs and attrs[key] not in (None, ""):
            text = attrs[key]
            parts.append(
                {"type": "text", "content": text if isinstance(text, str) else dump_json(text)}
            )
            break
    for key in ("ai.response.toolCalls", "ai.result.toolCalls"):
        if key in attrs:
            calls = read_json(attrs[key], key)
            if not isinstance(calls, list):
                raise Rejected(f"{key} must be a JSON list; got {shown(calls)}")
            calls = [c | {"type": "tool-call"} if isinstance(c, dict) else c for c in calls]
            parts += [read_part(call, key) for call in calls]
            break
    reason = attrs.get("ai.response.finishReason", attrs.get("ai.finishReason"))
    message = Message(
        Role.ASSISTANT,
        "assistant",
        parts,
        span.end_ns,
        OUTPUT,
        text_keys[0],
        finish_reason=reason if isinstance(reason, str) else None,
    )
    return ([message] if parts else []), keys


def _legacy(kind: str, phase: int):
    """The first GenAI conventions' ``gen_ai.prompt``/``gen_ai.completion``: JSON of chat
    messages on the span or on a ``gen_ai.content.{kind}`` event; text otherwise."""
    key = f"gen_ai.{kind}"

    def read(span: ReadSpan):
        holder, time_ns, consumed = span.attributes, (span.start_ns, span.end_ns)[phase], [key]
        if key not in holder:
            event = next((e for e in span.events if e.name == f"gen_ai.content.{kind}"), None)
            if event is None or key not in event.attributes:
                return None
            holder, time_ns, consumed = event.attributes, event.time_ns, [event.name]
        found = holder[key]
        parsed = json_or_text(found) if isinstance(found, str) else found
        if not isinstance(parsed, list):
            parsed = [{"role": "user" if phase == INPUT else "assistant", "content": found}]
        return _message_list(parsed, key, phase, time_ns), consumed

    return read


_INPUT_READERS = (
    _semconv_input, _details_event(INPUT), _message_events, _indexed("prompt", INPUT),
    _vercel_prompt_messages, _vercel_prompt, _legacy("prompt", INPUT),
)  # fmt: skip
_OUTPUT_READERS = (
    _semconv_output, _details_event(OUTPUT), _choice_events, _indexed("completion", OUTPUT),
    _vercel_response, _legacy("completion", OUTPUT),
)  # fmt: skip


# --- one message, whatever its shape -----------------------------------------------------


def _message_list(found: Any, source: str, phase: int, time_ns: int) -> list[Message]:
    if not isinstance(found, list):
        raise Rejected(f"{source} must be a JSON list of messages; got {shown(found)}")
    messages = [
        _message(item, f"{source}[{i}]", phase, time_ns, default_role=None)
        for i, item in enumerate(found)
    ]
    return [m for m in messages if m.parts]


def _message(
    found: Any, source: str, phase: int, time_ns: int, *, default_role: str | None
) -> Message:
    if not isinstance(found, dict):
        raise Rejected(f"{source} must be a message object; got {shown(found)}")
    message = dict(found)
    sent_role = message.pop("role", None) or default_role
    if not isinstance(sent_role, str) or not sent_role.strip():
        raise Rejected(f"{source} has no role")
    role = ROLES.get(sent_role.strip().lower(), Role.AGENT)
    parts: list[dict[str, Any]] = []
    if "parts" in message:
        listed = message.pop("parts")
        if not isinstance(listed, list):
            raise Rejected(f"{source}.parts must be a list; got {shown(listed)}")
        parts += [read_part(p, f"{source}.parts") for p in listed]
    if "content" in message:
        content = message.pop("content")
        if isinstance(content, list):
            parts += [read_part(p, f"{source}.content") for p in content]
        elif isinstance(content, dict):
            typed = content if "type" in content else {"type": "json", "value": content}
            parts.append(read_part(typed, f"{source}.content"))
        elif content is not None:
            parts.append({"type": "text", "content": as_text(content)})
    for call in _listed(message.pop("tool_calls", None), f"{source}.tool_calls"):
        function = call.get("function") if isinstance(call.get("function"), dict) else call
        name, arguments = function.get("name"), function.get("arguments")
        parts.append(tool_call_part(call.get("id"), name, arguments))
    call_id = message.pop("tool_call_id", None) or (
        message.pop("id", None) if role == Role.TOOL else None
    )
    if role == Role.TOOL:
        # OpenAI's tool message: its text is the result of the call it names.
        parts = [
            {"type": "tool_call_response", "id": call_id, "response": p["content"]}
            if p.get("type") == "text"
            else p
            for p in parts
        ]
    elif call_id is not None:
        message["tool_call_id"] = call_id
    name = message.pop("name", None)
    reason = message.pop("finish_reason", None)
    parts = [p for p in parts if not (p.get("type") == "text" and p.get("content") == "")]
    extra = {k: v for k, v in message.items() if v is not None}
    not_too_deep(parts, source)
    return Message(
        role,
        sent_role,
        parts,
        time_ns,
        phase,
        source,
        name=name if isinstance(name, str) else None,
        finish_reason=reason if isinstance(reason, str) else None,
        extra=extra,
    )


def _listed(found: Any, source: str) -> list[dict[str, Any]]:
    if found is None:
        return []
    if not isinstance(found, list) or not all(isinstance(item, dict) for item in found):
        raise Rejected(f"{source} must be a list of objects; got {shown(found)}")
    return found


def _instructions(found: Any) -> list[dict[str, Any]]:
    """``gen_ai.system_instructions``: a JSON list of parts, or (from some senders) text."""
    parsed = json_or_text(found) if isinstance(found, str) else found
    if isinstance(parsed, list):
        return [read_part(p, "gen_ai.system_instructions") for p in parsed]
    if isinstance(parsed, dict):
        return [read_part(parsed, "gen_ai.system_instructions")]
    return [{"type": "text", "content": as_text(found)}]
