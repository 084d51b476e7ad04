"""A message's parts in the GenAI conventions' shape, and the values inside them.

A part is read from the conventions' own shape (``text``, ``tool_call``,
``tool_call_response``, ``reasoning``), OpenAI's (``input_text``, ``function_call``), the
Vercel AI SDK's (``tool-call``, ``tool-result``) or Anthropic's (``tool_use``,
``tool_result``); any other part is kept as sent. ``render`` spells a part out for a reader
(a turn's content), ``canonical`` is what two tellings of one part share (a message's
fingerprint).
"""

from __future__ import annotations

import json
from typing import Any

from memory_app.ingest.spans import Rejected
from memory_app.jsontext import MAX_DEPTH, depth, dump_json

# JSON inside a message nests at most this deep: the turn's metadata holds it a few levels
# down, and JSON columns take ``MAX_DEPTH``.
MAX_MESSAGE_DEPTH = MAX_DEPTH // 2


def read_part(found: Any, source: str) -> dict[str, Any]:
    """One part in the GenAI conventions' shape, from theirs, OpenAI's, the Vercel AI
    SDK's, Anthropic's or Bedrock's (content blocks without a type)."""
    if isinstance(found, str):
        return {"type": "text", "content": found}
    if not isinstance(found, dict):
        raise Rejected(f"a part of {source} must be an object with a type; got {shown(found)}")
    if not isinstance(found.get("type"), str):
        return _untyped(found)
    part = dict(found)
    kind = part["type"]
    if kind in ("text", "reasoning", "input_text", "output_text"):
        text = part.get("content", part.get("text"))
        return {"type": "reasoning" if kind == "reasoning" else "text", "content": as_text(text)}
    if kind == "tool_call":
        return tool_call_part(part.get("id"), part.get("name"), part.get("arguments"))
    if kind in ("tool-call", "tool_use", "function_call"):
        arguments = next((part[k] for k in ("input", "args", "arguments") if k in part), None)
        call_id = part.get("toolCallId", part.get("call_id", part.get("id")))
        return tool_call_part(call_id, part.get("toolName", part.get("name")), arguments)
    if kind == "tool_call_response":
        response = next((part[k] for k in ("response", "result", "content") if k in part), None)
        return {"type": "tool_call_response", "id": part.get("id"), "response": response}
    if kind in ("tool-result", "tool_result", "function_call_output"):
        response = next((part[k] for k in ("output", "result", "content") if k in part), None)
        call_id = part.get("toolCallId", part.get("tool_use_id", part.get("call_id")))
        result = {"type": "tool_call_response", "id": call_id, "response": response}
        if part.get("toolName"):
            result["name"] = part["toolName"]
        return result
    return part


def _untyped(block: dict[str, Any]) -> dict[str, Any]:
    """A content block that names its kind by its key (Bedrock's Converse API, as Strands
    Agents records it): ``text``, ``toolUse``, ``toolResult``; any other kept whole."""
    if isinstance(block.get("text"), str):
        return {"type": "text", "content": block["text"]}
    if isinstance(use := block.get("toolUse"), dict):
        return tool_call_part(use.get("toolUseId"), use.get("name"), use.get("input"))
    if isinstance(result := block.get("toolResult"), dict):
        return {
            "type": "tool_call_response",
            "id": result.get("toolUseId"),
            "response": result.get("content"),
        }
    return {"type": "json", "value": block}


def tool_call_part(call_id: Any, name: Any, arguments: Any) -> dict[str, Any]:
    return {
        "type": "tool_call",
        "id": call_id,
        "name": name if isinstance(name, str) else as_text(name),
        "arguments": arguments,
    }


def read_json(found: Any, what: str) -> Any:
    """An attribute holding JSON: as text (how most senders set it) or as the structured
    value itself."""
    if not isinstance(found, str):
        return found
    try:
        parsed = json.loads(found, parse_constant=_no_constant)
    except ValueError as exc:
        raise Rejected(f"{what} is not JSON: {exc}") from None
    except RecursionError:
        raise Rejected(f"{what} is nested too deeply") from None
    not_too_deep(parsed, what)
    if not unicode(found, parsed):
        raise Rejected(f"{what} holds a lone surrogate (\\ud800-\\udfff): it is not Unicode text")
    return parsed


def json_or_text(found: str, *, lists_only: bool = False) -> Any:
    """JSON text read as its value when it is JSON (a list, with ``lists_only``), else the
    text itself."""
    stripped = found.strip()
    if not stripped.startswith(("[", "{") if not lists_only else "["):
        return found
    try:
        parsed = json.loads(stripped, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return found
    if (
        (lists_only and not isinstance(parsed, list))
        or depth(parsed) > MAX_MESSAGE_DEPTH
        or not unicode(found, parsed)
    ):
        return found
    return parsed


def _no_constant(name: str) -> Any:
    """NaN and Infinity are not JSON (JavaScript's JSON.parse refuses them, and no JSON
    column takes them)."""
    raise ValueError(f"{name} is not a JSON value")


def unicode(text: str, parsed: Any) -> bool:
    """Whether JSON ``text`` read as ``parsed`` holds only Unicode text: a ``\\ud800``
    escape alone reads as a lone surrogate, which no engine can store (the text itself,
    from protobuf, is valid UTF-8, so only an escape can hold one)."""
    if "\\u" not in text:
        return True
    try:
        dump_json(parsed).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def not_too_deep(found: Any, what: str) -> None:
    if depth(found) > MAX_MESSAGE_DEPTH:
        raise Rejected(f"{what} is nested deeper than {MAX_MESSAGE_DEPTH} levels")


def as_text(found: Any) -> str:
    if isinstance(found, str):
        return found
    return "" if found is None else dump_json(found)


def shown(found: Any) -> str:
    """A value as an answer quotes it: its repr, cut short."""
    said = repr(found)
    return said if len(said) <= 80 else said[:77] + "..."


def canonical_part(part: dict[str, Any]) -> list:
    kind = part.get("type")
    if kind in ("text", "reasoning"):
        return [kind, part.get("content")]
    if kind == "tool_call":
        return [kind, part.get("name"), _comparable(part.get("arguments"))]
    if kind == "tool_call_response":
        return [kind, _comparable(part.get("response"))]
    return ["other", {k: v for k, v in part.items() if k != "id"}]


def _comparable(found: Any) -> Any:
    """Arguments or a result as a value: models send JSON text, SDKs the parsed value."""
    if isinstance(found, str):
        parsed = json_or_text(found)
        return parsed if not isinstance(parsed, str) else found
    return found


def render_part(part: dict[str, Any]) -> str:
    kind = part.get("type")
    if kind == "text":
        return part.get("content") or ""
    if kind == "reasoning":
        return f"Reasoning: {part.get('content') or ''}"
    if kind == "tool_call":
        said = as_text(part.get("arguments"))
        return f"Tool call {part.get('name')}: {said}" if said else f"Tool call {part.get('name')}"
    if kind == "tool_call_response":
        name = f" of {part['name']}" if part.get("name") else ""
        return f"Tool result{name}: {as_text(part.get('response'))}"
    if kind in ("uri", "file", "blob"):
        keys = ("modality", "mime_type", "uri", "file_id")
        about = " ".join(str(part[k]) for k in keys if part.get(k))
        return f"[{kind}{': ' + about if about else ''}]"
    return f"[{kind}] {as_text({k: v for k, v in part.items() if k != 'type'})}"
