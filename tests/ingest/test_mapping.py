"""The mapping of OpenTelemetry GenAI spans onto the v1 tables, with span payloads shaped
as the OpenAI Agents SDK (its OpenTelemetry bridge), the Vercel AI SDK and OpenLLMetry emit
them: the transcript (sessions, turns, roles, order, token counts, tool calls) and the
timeline (run, steps, events)."""

import json
import re

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from memory_app.ingest.mapping import Outcome, ingest
from memory_app.ingest.models import IngestConversation, IngestSpan
from memory_app.models import Session, TaskEvent, Turn, WorkflowRun, WorkflowStep
from tests.helpers import ingest_token, ingested_rows, otlp_payload

pytestmark = pytest.mark.django_db

PARIS = "conv_5j66UpCpwteGg4YSxUnt7lPY"


def transcript(session) -> list[tuple[str, str, int | None]]:
    return [(t.role, t.content, t.token_count) for t in Turn.objects.for_replay(session)]


def only_session() -> Session:
    (session,) = Session.objects.all()
    return session


def steps_of(run) -> list[tuple[str, str]]:
    return [(s.step_name, s.status) for s in WorkflowStep.objects.for_replay(run)]


# --- the OpenAI Agents SDK -------------------------------------------------------------


def test_an_openai_agents_run_becomes_a_transcript_and_a_timeline():
    token = ingest_token()
    outcome = ingest(otlp_payload("openai_agents.json"), token=token)
    assert outcome == Outcome(accepted_spans=5, rejected_spans=0, error_message="")

    session = only_session()
    assert (session.actor, session.channel) == ("weather-agent", "api")
    assert session.json("metadata_json").value["otlp"]["conversation_id"] == PARIS
    assert transcript(session) == [
        ("system", "You are a helpful weather assistant. Use get_weather for weather questions.",
         None),
        ("user", "What's the weather in Paris?", None),
        ("assistant", 'Tool call get_weather: {"city":"Paris"}', 18),
        ("tool", "Tool result: rainy, 14°C", None),
        ("assistant", "It's rainy in Paris right now, 14°C.", 12),
    ]  # fmt: skip
    call, result = Turn.objects.for_replay(session)[2:4]
    assert call.json("metadata_json").value["tool_calls"] == [
        {
            "id": "call_VSPygqKTWdrhaFErNvMV18Yl",
            "name": "get_weather",
            "arguments": {"city": "Paris"},
        }
    ]
    assert result.json("metadata_json").value["tool_results"] == [
        {"id": "call_VSPygqKTWdrhaFErNvMV18Yl", "response": "rainy, 14°C"}
    ]
    usage = call.json("metadata_json").value
    assert usage["usage"] == {"input_tokens": 120, "output_tokens": 18}
    assert usage["model"] == "gpt-4o-2024-08-06"

    (run,) = WorkflowRun.objects.all()
    assert (run.workflow_name, run.trigger_source, run.initiated_by, run.status) == (
        "weather-agent", "agent", token.name, "succeeded",
    )  # fmt: skip
    assert (run.started_at, run.finished_at) == (
        "2025-12-06T09:00:00.000Z",
        "2025-12-06T09:00:05.000Z",
    )
    # The spans came children first (each exported as it ended); a batch's steps are in
    # the order they started.
    assert steps_of(run) == [
        ("Agent workflow", "succeeded"),
        ("invoke_agent Weather Assistant", "succeeded"),
        ("chat gpt-4o", "succeeded"),
        ("execute_tool get_weather", "succeeded"),
        ("chat gpt-4o", "succeeded"),
    ]
    tool = WorkflowStep.objects.get(step_name="execute_tool get_weather")
    details = tool.json("details_json").value
    assert details["operation"] == "execute_tool"
    assert details["attributes"]["gen_ai.tool.call.arguments"] == '{"city": "Paris"}'
    assert details["otlp"]["span_id"] == "b2c3d4e5f6071829"
    assert (tool.started_at, tool.finished_at) == (
        "2025-12-06T09:00:01.300Z",
        "2025-12-06T09:00:01.500Z",
    )
    # A chat span's messages are turns, not kept twice in its step.
    chat = WorkflowStep.objects.filter(step_name="chat gpt-4o").first()
    chat_details = chat.json("details_json").value
    assert "gen_ai.input.messages" not in chat_details["attributes"]
    assert chat_details["recorded_as_turns"] == [
        "gen_ai.system_instructions", "gen_ai.input.messages", "gen_ai.output.messages",
    ]  # fmt: skip
    assert chat_details["attributes"]["gen_ai.usage.input_tokens"] == 120
    assert not TaskEvent.objects.exists()


def test_a_failing_tool_is_an_error_event_and_the_next_turn_lands_in_the_same_session():
    token = ingest_token()
    ingest(otlp_payload("openai_agents.json"), token=token)
    outcome = ingest(otlp_payload("openai_agents_failing_tool.json"), token=token)
    assert outcome.rejected_spans == 0

    session = only_session()
    assert [role for role, _, _ in transcript(session)] == [
        "system", "user", "assistant", "tool", "assistant", "user", "assistant",
    ]  # fmt: skip
    assert transcript(session)[-2:] == [
        ("user", "And in Lyon?", None),
        ("assistant", 'Tool call get_weather: {"city":"Lyon"}', 17),
    ]
    run = WorkflowRun.objects.latest("started_at")
    assert run.status == "failed"
    assert WorkflowRun.objects.count() == 2
    tool = WorkflowStep.objects.get(workflow_run=run, step_name="execute_tool get_weather")
    assert tool.status == "failed"
    errors = TaskEvent.objects.filter(step=tool).order_by("created_at")
    assert [(e.event_type, e.event_level, e.message) for e in errors] == [
        ("error", "high", "TimeoutError: weather service timed out"),
        ("error", "high", "weather service timed out"),
    ]
    assert "Traceback" in errors[0].json("payload_json").value["attributes"]["exception.stacktrace"]
    failed_agent = TaskEvent.objects.filter(workflow_run=run, message__startswith="Error running")
    assert failed_agent.count() == 2  # the agent's span and the root's


# --- the Vercel AI SDK -----------------------------------------------------------------


def test_a_vercel_ai_sdk_generate_text_becomes_a_transcript_and_a_timeline():
    outcome = ingest(otlp_payload("vercel_ai_sdk.json"), token=ingest_token("web"))
    assert (outcome.accepted_spans, outcome.rejected_spans) == (4, 0)

    session = only_session()
    assert session.actor == "weather-web"
    assert session.json("metadata_json").value["otlp"]["conversation_id"] == "chat-42"
    assert transcript(session) == [
        ("system", "You are a concise weather bot.", None),
        ("user", "Weather in Berlin?", None),
        ("assistant", 'Tool call weather: {"city":"Berlin"}', 16),
        ("tool", 'Tool result of weather: {"type":"json","value":{"temperature":21,'
                 '"conditions":"sunny"}}', None),
        ("assistant", "It's sunny in Berlin, 21°C.", 15),
    ]  # fmt: skip
    (run,) = WorkflowRun.objects.all()
    assert steps_of(run) == [
        ("ai.generateText", "succeeded"),
        ("ai.generateText.doGenerate", "succeeded"),
        ("ai.toolCall", "succeeded"),
        ("ai.generateText.doGenerate", "succeeded"),
    ]
    assert run.status == "succeeded"
    tool = WorkflowStep.objects.get(step_name="ai.toolCall").json("details_json").value
    assert tool["operation"] == "ai.toolCall"
    assert tool["attributes"]["ai.toolCall.result"] == '{"temperature":21,"conditions":"sunny"}'
    root = WorkflowStep.objects.get(step_name="ai.generateText").json("details_json").value
    # The whole call's usage stays on its step: its answer was already recorded.
    assert root["attributes"]["ai.usage.inputTokens"] == 310


# --- OpenLLMetry -----------------------------------------------------------------------


def test_openllmetrys_indexed_prompts_and_completions_become_a_transcript():
    ingest(otlp_payload("openllmetry.json"), token=ingest_token("trips"))
    session = only_session()
    assert session.json("metadata_json").value["otlp"]["conversation_id"] == "trip-thread-9"
    answer = "Morning: Fushimi Inari; afternoon: Arashiyama (sunny, 18°C)."
    assert transcript(session) == [
        ("system", "You plan day trips.", None),
        ("user", "Plan a day in Kyoto. Check the weather first.", None),
        ("assistant", 'Tool call get_weather: {"city": "Kyoto"}', 17),
        ("tool", "Tool result: sunny, 18°C", None),
        ("assistant", answer, 22),
    ]
    call = Turn.objects.for_replay(session)[2].json("metadata_json").value
    assert call["tool_calls"] == [
        {"id": "call_k1", "name": "get_weather", "arguments": '{"city": "Kyoto"}'}
    ]
    assert call["finish_reason"] == "tool_calls"
    (run,) = WorkflowRun.objects.all()
    assert [name for name, _ in steps_of(run)] == [
        "plan_trip.workflow", "openai.chat", "get_weather.tool", "openai.chat",
    ]  # fmt: skip
    workflow = WorkflowStep.objects.get(step_name="plan_trip.workflow").json("details_json")
    assert workflow.value["operation"] == "workflow"
    assert workflow.value["attributes"]["traceloop.entity.output"] == f'"{answer}"'


def test_the_earlier_per_message_events_become_turns():
    ingest(otlp_payload("genai_events.json"), token=ingest_token("support"))
    assert transcript(only_session()) == [
        ("system", "Answer in one sentence.", None),
        ("user", "How do I reset my password?", None),
        ("assistant", "Use 'Forgot password' on the sign-in page.", 9),
    ]
    step = WorkflowStep.objects.get().json("details_json").value
    assert step["recorded_as_turns"] == [
        "gen_ai.system.message", "gen_ai.user.message", "gen_ai.choice",
    ]  # fmt: skip


# --- idempotency and order ---------------------------------------------------------------


@pytest.mark.parametrize(
    "payload", ["openai_agents.json", "vercel_ai_sdk.json", "openllmetry.json", "genai_events.json"]
)
def test_the_same_batch_sent_twice_writes_nothing_twice(payload):
    token = ingest_token()
    ingest(otlp_payload(payload), token=token)
    before = ingested_rows()
    again = ingest(otlp_payload(payload), token=token)
    assert again.rejected_spans == 0
    assert ingested_rows() == before


def test_spans_of_one_trace_across_batches_in_any_order_make_one_session_and_run():
    request = otlp_payload("openai_agents.json")
    spans = list(request.resource_spans[0].scope_spans[0].spans)
    token = ingest_token()
    # The root first, then the agent's span, then its model calls and tool: each alone.
    for span in reversed(spans):
        scope = request.resource_spans[0].scope_spans[0]
        del scope.spans[:]
        scope.spans.append(span)
        assert ingest(request, token=token).rejected_spans == 0
    session = only_session()
    assert WorkflowRun.objects.count() == 1
    assert IngestSpan.objects.count() == 5
    turns = transcript(session)
    # Every message once; the ones older than what the session held are marked late.
    assert sorted(role for role, _, _ in turns) == sorted(
        ["system", "user", "assistant", "tool", "assistant"]
    )
    late = [
        t.json("metadata_json").value["otlp"].get("arrived_late", False)
        for t in Turn.objects.for_replay(session)
    ]
    assert late.count(True) >= 1
    assert WorkflowRun.objects.get().status == "succeeded"


def test_a_conversation_id_found_later_takes_on_the_traces_own_session():
    request = otlp_payload("openai_agents.json")
    scope = request.resource_spans[0].scope_spans[0]
    spans = list(scope.spans)
    token = ingest_token()
    # The first model call alone: its span names no conversation.
    del scope.spans[:]
    scope.spans.append(spans[0])
    ingest(request, token=token)
    first = only_session()
    assert "trace_id" in first.json("metadata_json").value["otlp"]
    del scope.spans[:]
    scope.spans.extend(spans[1:])
    ingest(request, token=token)
    assert only_session() == first
    assert IngestConversation.objects.get().session_id == first.pk
    assert len(transcript(first)) == 5


# --- rejections --------------------------------------------------------------------------


def test_a_span_that_cannot_be_read_is_rejected_with_its_reason_and_the_rest_taken():
    request = otlp_payload("openai_agents.json")
    spans = request.resource_spans[0].scope_spans[0].spans
    spans[0].span_id = b""
    bad = next(a for a in spans[2].attributes if a.key == "gen_ai.input.messages")
    bad.value.string_value = "[{not json"
    outcome = ingest(request, token=ingest_token())
    assert (outcome.accepted_spans, outcome.rejected_spans) == (3, 2)
    assert "it has no span id" in outcome.error_message
    assert "span c3d4e5f60718293a" in outcome.error_message
    assert "gen_ai.input.messages is not JSON" in outcome.error_message
    assert IngestSpan.objects.count() == 3
    assert not WorkflowStep.objects.filter(step_name="chat gpt-4o").exists()


def test_a_span_the_store_refuses_writes_nothing_and_the_rest_of_its_trace_is_taken(monkeypatch):
    from memory_app.ingest import workflows
    from memory_app.store import InvalidInput, RuntimeMemoryStore

    add_steps = RuntimeMemoryStore.add_steps_across

    def refusing(steps):
        if any(step["step_name"] == "execute_tool get_weather" for step in steps):
            raise InvalidInput("no tools today")
        return add_steps(steps)

    monkeypatch.setattr(workflows.RuntimeMemoryStore, "add_steps_across", staticmethod(refusing))
    outcome = ingest(otlp_payload("openai_agents.json"), token=ingest_token())
    assert outcome.rejected_spans == 1
    assert "span b2c3d4e5f6071829" in outcome.error_message
    assert "no tools today" in outcome.error_message
    assert WorkflowStep.objects.count() == 4
    assert IngestSpan.objects.count() == 4
    assert len(transcript(only_session())) == 5


def test_spans_without_genai_attributes_in_a_trace_without_any_are_acknowledged_only():
    request = otlp_payload("genai_events.json")
    span = request.resource_spans[0].scope_spans[0].spans[0]
    del span.attributes[:]
    del span.events[:]
    span.name = "GET /health"
    outcome = ingest(request, token=ingest_token())
    assert (outcome.accepted_spans, outcome.rejected_spans) == (1, 0)
    assert "acknowledged, not mapped" in outcome.error_message
    assert not WorkflowRun.objects.exists()
    assert IngestSpan.objects.get().step_id is None


# --- messages, one by one ----------------------------------------------------------------


def chat_request(*spans: dict):
    """A request of chat spans (``{"span": ..., "start": ms, "input": [...], ...}``) in one
    trace, in the GenAI conventions' attributes, built as the OpenTelemetry SDK builds it."""
    request = ExportTraceServiceRequest()
    resource = request.resource_spans.add()
    resource.resource.attributes.add(key="service.name").value.string_value = "bot"
    scope = resource.scope_spans.add()
    for n, given in enumerate(spans):
        span = scope.spans.add()
        span.trace_id = bytes.fromhex(given.get("trace", "ab" * 16))
        span.span_id = (n + 1).to_bytes(8, "big")
        span.name = given.get("name", "chat m")
        span.start_time_unix_nano = 1_765_011_600_000_000_000 + given.get("start", n) * 10**9
        span.end_time_unix_nano = span.start_time_unix_nano + 500_000_000
        attributes = {"gen_ai.operation.name": "chat", **given.get("attributes", {})}
        for key in ("input", "output"):
            if key in given:
                attributes[f"gen_ai.{key}.messages"] = json.dumps(given[key])
        for key, value in attributes.items():
            target = span.attributes.add(key=key).value
            if isinstance(value, int):
                target.int_value = value
            else:
                target.string_value = value
    return request


def said(role: str, text: str) -> dict:
    return {"role": role, "parts": [{"type": "text", "content": text}]}


def test_a_message_said_again_is_recorded_again_once_a_span_shows_both():
    first = {"input": [said("user", "yes")], "output": [said("assistant", "Sure?")]}
    second = {
        "start": 5,
        "input": [said("user", "yes"), said("assistant", "Sure?"), said("user", "yes")],
        "output": [said("assistant", "Sure?")],
    }
    ingest(chat_request(first, second), token=ingest_token())
    assert [(r, c) for r, c, _ in transcript(only_session())] == [
        ("user", "yes"), ("assistant", "Sure?"), ("user", "yes"), ("assistant", "Sure?"),
    ]  # fmt: skip


def test_a_role_v1_does_not_have_is_an_agent_turn_that_keeps_the_role_it_was_sent_with():
    request = chat_request({"input": [said("critic", "Too long."), said("developer", "Be brief")]})
    ingest(request, token=ingest_token())
    critic, developer = Turn.objects.for_replay(only_session())
    assert (critic.role, critic.json("metadata_json").value["role"]) == ("agent", "critic")
    assert (developer.role, developer.json("metadata_json").value["role"]) == (
        "system", "developer",
    )  # fmt: skip


def test_text_with_nul_is_stored_on_both_engines():
    request = chat_request({"name": "chat\x00", "input": [said("user", "a\x00b")]})
    assert ingest(request, token=ingest_token()).rejected_spans == 0
    assert transcript(only_session()) == [("user", "a\ufffdb", None)]
    assert WorkflowStep.objects.get().step_name == "chat\ufffd"


@pytest.mark.parametrize(
    ("attributes", "reason"),
    [
        ({"gen_ai.usage.output_tokens": -3}, "gen_ai.usage.output_tokens must be a non-negative"),
        ({"gen_ai.usage.input_tokens": "many"}, "gen_ai.usage.input_tokens must be a non-neg"),
        ({"gen_ai.input.messages": '{"role": "user"}'}, "must be a JSON list of messages"),
        ({"gen_ai.input.messages": '[{"parts": []}]'}, r"gen_ai.input.messages\[0\] has no role"),
        ({"gen_ai.output.messages": '[{"role": "assistant", "parts": [7]}]'}, "with a type"),
    ],
)
def test_an_unreadable_value_rejects_its_span_with_the_reason(attributes, reason):
    outcome = ingest(chat_request({"attributes": attributes}), token=ingest_token())
    assert outcome.rejected_spans == 1
    assert re.search(reason, outcome.error_message)
    assert ingested_rows() == {table: [] for table in ingested_rows()}


def test_two_traces_of_one_conversation_in_one_batch_share_its_session():
    conversation = {"gen_ai.conversation.id": "thread-1"}
    request = chat_request(
        {"trace": "01" * 16, "attributes": conversation, "input": [said("user", "hi")]},
        {"trace": "02" * 16, "start": 9, "attributes": conversation,
         "input": [said("user", "hi"), said("user", "again")]},
    )  # fmt: skip
    ingest(request, token=ingest_token())
    assert [c for _, c, _ in transcript(only_session())] == ["hi", "again"]
    assert WorkflowRun.objects.count() == 2


def test_content_blocks_named_by_their_key_in_message_events_become_turns():
    # Strands Agents records Bedrock's content blocks on the earlier per-message events.
    request = chat_request({"name": "chat"})
    span = request.resource_spans[0].scope_spans[0].spans[0]
    for name, attributes in [
        ("gen_ai.user.message", {"content": '[{"text": "Weather in Oslo?"}]'}),
        ("gen_ai.choice", {"message": '[{"toolUse": {"toolUseId": "t1", "name": "weather", '
                                      '"input": {"city": "Oslo"}}}]',
                           "finish_reason": "tool_use"}),
    ]:  # fmt: skip
        event = span.events.add(name=name, time_unix_nano=span.start_time_unix_nano)
        for key, value in attributes.items():
            event.attributes.add(key=key).value.string_value = value
    ingest(request, token=ingest_token())
    assert transcript(only_session()) == [
        ("user", "Weather in Oslo?", None),
        ("assistant", 'Tool call weather: {"city":"Oslo"}', None),
    ]


@pytest.mark.parametrize("count", ["99999999999999999999", "²", 1e30])
def test_a_token_count_no_integer_column_holds_is_rejected(count):
    request = chat_request({"attributes": {}, "output": [said("assistant", "ok")]})
    span = request.resource_spans[0].scope_spans[0].spans[0]
    value = span.attributes.add(key="gen_ai.usage.output_tokens").value
    if isinstance(count, float):
        value.double_value = count
    else:
        value.string_value = count
    outcome = ingest(request, token=ingest_token())
    assert "gen_ai.usage.output_tokens must be a non-negative whole number" in outcome.error_message


def test_a_usage_attribute_that_is_no_count_stays_with_the_step():
    request = chat_request(
        {"attributes": {"gen_ai.usage.details": "cached"}, "output": [said("assistant", "ok")]}
    )
    assert ingest(request, token=ingest_token()).rejected_spans == 0
    step = WorkflowStep.objects.get().json("details_json").value
    assert step["attributes"]["gen_ai.usage.details"] == "cached"


@pytest.mark.parametrize(
    ("messages", "reason"),
    [
        ('[{"role": "user", "parts": [{"type": "text", "content": "a\\ud800"}]}]', "surrogate"),
        ('[{"role": "user", "parts": [{"type": "text", "content": NaN}]}]', "NaN is not a JSON"),
    ],
)
def test_json_no_column_can_hold_rejects_its_span(messages, reason):
    outcome = ingest(
        chat_request({"attributes": {"gen_ai.input.messages": messages}}), token=ingest_token()
    )
    assert outcome.rejected_spans == 1
    assert reason in outcome.error_message
