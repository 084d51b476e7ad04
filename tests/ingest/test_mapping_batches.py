"""A batch is taken in whole: all its traces in one transaction, through the store's batch
writers, in a few statements a span; the rows are the ones its traces write when each is
sent alone; a span the store refuses is rejected alone and the rest of the batch taken."""

import json
import re

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from memory_app.ingest.mapping import ingest
from memory_app.ingest.models import IngestConversation, IngestMessage, IngestSpan, IngestTrace
from memory_app.models import Session, TaskEvent, Turn, WorkflowRun, WorkflowStep
from memory_app.store import InvalidInput, RuntimeMemoryStore
from tests.helpers import OTLP_NANOS, TEST_NOW, ingest_token, otlp_attributes, otlp_request
from tests.helpers import otlp_span as span

pytestmark = pytest.mark.django_db

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
TABLES = [Session, Turn, WorkflowRun, WorkflowStep, TaskEvent, IngestSpan, IngestTrace,
          IngestConversation, IngestMessage]  # fmt: skip


def text(role: str, content: str) -> dict:
    return {"role": role, "parts": [{"type": "text", "content": content}]}


def agent_turn(trace: int, conversation: str, *, history: tuple = (), tool: str = "track"):
    """One turn of an agent, in a trace of its own: invoke_agent over a chat that asks for
    a tool, the tool (which raises an exception), and a chat that answers."""
    question = text("user", f"Where is parcel {trace}?")
    call = {"type": "tool_call", "id": f"call-{trace}", "name": tool, "arguments": {"n": trace}}
    asks = {"role": "assistant", "parts": [call]}
    result = {"role": "tool", "parts": [{"type": "tool_call_response", "id": f"call-{trace}",
                                         "response": f"{trace} in Lyon"}]}  # fmt: skip
    answer = text("assistant", f"Parcel {trace} is in Lyon.")
    common = {"gen_ai.conversation.id": conversation}

    def chat(messages_in, messages_out):
        return common | {
            "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.input_tokens": 50, "gen_ai.usage.output_tokens": 7,
            "gen_ai.input.messages": json.dumps([*history, *messages_in]),
            "gen_ai.output.messages": json.dumps(messages_out),
        }  # fmt: skip

    base = trace * 10
    spans = [
        span("invoke_agent parcels", common | {"gen_ai.operation.name": "invoke_agent"},
             trace=trace, span=base + 1, start_s=trace, end_s=trace + 0.9),
        span("chat gpt-4o", chat([question], [asks]), trace=trace, span=base + 2,
             parent=base + 1, start_s=trace + 0.1, end_s=trace + 0.3),
        span(f"execute_tool {tool}", common | {"gen_ai.operation.name": "execute_tool"},
             trace=trace, span=base + 3, parent=base + 1, start_s=trace + 0.4, end_s=trace + 0.5),
        span("chat gpt-4o", chat([question, asks, result], [answer]), trace=trace,
             span=base + 4, parent=base + 1, start_s=trace + 0.6, end_s=trace + 0.8),
    ]  # fmt: skip
    failed = spans[2]
    failed.status.code = 2
    failed.status.message = "the depot did not answer"
    failed.events.add(
        name="exception",
        time_unix_nano=OTLP_NANOS + int((trace + 0.45) * 1e9),
        attributes=otlp_attributes({"exception.type": "Timeout", "exception.message": "slow"}),
    )
    return spans


def batch(*traces):
    return otlp_request(*(s for trace in traces for s in trace), service="parcels")


def rows() -> list[str]:
    """Every row the mapping writes, with the ids the store makes read as <id> (they are
    made in another order when traces come one request each)."""
    found = []
    for model in TABLES:
        for row in model.objects.order_by().values_list():
            found.append(UUID.sub("<id>", f"{model._meta.db_table} {row!r}"))
    return sorted(found)


def rolled_back(write):
    with transaction.atomic():
        write()
        found = rows()
        transaction.set_rollback(True)
    return found


def test_a_batch_writes_the_rows_its_traces_write_one_request_each(clock):
    clock.set(TEST_NOW, ticking=False)
    token = ingest_token()
    # A conversation an earlier batch began: its history is not written twice.
    earlier = agent_turn(1, "thread-a")
    ingest(batch(earlier), token=token)
    said = (text("user", "Where is parcel 1?"),)
    traces = [
        agent_turn(2, "thread-a", history=said),
        agent_turn(3, "thread-b"),
        agent_turn(4, "thread-b", history=(text("user", "Where is parcel 3?"),)),
        agent_turn(5, "thread-c", tool="weigh"),
    ]
    together = rolled_back(lambda: ingest(batch(*traces), token=token))
    alone = rolled_back(lambda: [ingest(batch(trace), token=token) for trace in traces])
    assert together == alone
    # Each trace's four messages once; the history it repeats, never.
    assert sum(row.startswith("conversation_turns") for row in together) == 4 + 4 * 4


def test_a_batch_is_one_transaction_of_a_few_statements_a_span():
    token = ingest_token()
    request = batch(*(agent_turn(n, f"thread-{n}") for n in range(1, 21)))
    with CaptureQueriesContext(connection) as captured:
        outcome = ingest(request, token=token)
    assert (outcome.accepted_spans, outcome.rejected_spans) == (80, 0)
    statements = [q["sql"] for q in captured.captured_queries]
    # The batch's own savepoint (this test runs in a transaction): no store call makes one.
    assert sum(sql.startswith("SAVEPOINT") for sql in statements) == 1
    # Each kind of row in one statement for the whole batch (the ledger read, the sessions,
    # runs, steps, events and turns written, each parent locked and its last index read
    # once), and each run finished by one UPDATE: a trace of four spans was 71 statements,
    # one store call a row, and 9 with a batch writer's call per trace.
    assert len(statements) <= 25 + 20, "\n".join(statements)


def test_a_span_the_store_refuses_is_rejected_alone_and_the_rest_of_the_batch_is_taken(
    monkeypatch,
):
    add_steps = RuntimeMemoryStore.add_steps_across

    def refusing(steps):
        if any(step["step_name"] == "execute_tool weigh" for step in steps):
            raise InvalidInput("no weighing today")
        return add_steps(steps)

    monkeypatch.setattr(RuntimeMemoryStore, "add_steps_across", staticmethod(refusing))
    outcome = ingest(
        batch(agent_turn(1, "a"), agent_turn(2, "b", tool="weigh"), agent_turn(3, "c")),
        token=ingest_token(),
    )
    assert (outcome.accepted_spans, outcome.rejected_spans) == (11, 1)
    assert re.search(r"span 0+17 of trace 0+2 .*no weighing today", outcome.error_message)
    assert IngestSpan.objects.count() == 11
    steps = {
        run.json("context_json").value["otlp"]["trace_id"][-1]: run.steps.count()
        for run in WorkflowRun.objects.all()
    }
    assert steps == {"1": 4, "2": 3, "3": 4}
    # The refused span's exception and failure are not written; the others' are.
    assert TaskEvent.objects.count() == 2 * 2
    assert Turn.objects.count() == 3 * 4
