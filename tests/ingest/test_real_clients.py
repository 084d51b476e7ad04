"""Real OpenTelemetry clients against the production server: the Python SDK's OTLP/HTTP
exporter (protobuf, gzipped) and the JavaScript SDK's (JSON, streamed in chunks), each
configured only by the OTEL_* environment docs give an operator, send an agent's GenAI
spans; a signed-in reviewer then reads the conversation as a transcript and its tool call
on the workflow timeline. Both engines (the server runs on ``shared_db``)."""

import subprocess
import sys
from html import unescape
from urllib.parse import quote

from tests.helpers import REPO, typescript_node

PYTHON_AGENT = REPO / "tests" / "ingest" / "python_agent.py"
JS_AGENT = REPO / "tests" / "ingest" / "js" / "agent.mjs"
JS_PACKAGES = REPO / "tests" / "ingest" / "js" / "node_modules" / "@opentelemetry"


def run_agent(command: list[str], env: dict[str, str]) -> None:
    ran = subprocess.run(
        command, env=env, cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.strip().endswith('["SUCCESS"]'), ran.stdout


def session_of(server, said: str) -> str:
    """The session whose transcript holds a turn saying ``said``."""
    rows = server.db.execute(
        "SELECT DISTINCT session_id FROM conversation_turns WHERE content LIKE ?", [f"%{said}%"]
    )
    assert len(rows) == 1, rows
    return rows[0][0]


def run_of(server, step: str) -> str:
    """The workflow run one of whose steps is ``step``."""
    rows = server.db.execute(
        "SELECT DISTINCT workflow_run_id FROM workflow_steps WHERE step_name = ?", [step]
    )
    assert len(rows) == 1, rows
    return rows[0][0]


def reads(server, path: str) -> str:
    return unescape(server.page(path))


def test_the_python_sdk_exporter_sends_a_conversation_and_its_tool_call(ingest_server):
    env = ingest_server.otlp_env(
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf", OTEL_EXPORTER_OTLP_COMPRESSION="gzip"
    )
    run_agent([sys.executable, str(PYTHON_AGENT), "conv-python-sdk"], env)

    session = session_of(ingest_server, "What is the weather in Paris?")
    transcript = reads(ingest_server, f"/sessions/{quote(session, safe='')}/")
    for said in ("What is the weather in Paris?", "It is 18 degrees and clear in Paris."):
        assert said in transcript
    assert "get_weather" in transcript  # the assistant's tool call, in its turn
    run = run_of(ingest_server, "execute_tool get_weather")
    timeline = reads(ingest_server, f"/workflows/{quote(run, safe='')}/")
    for step in ("invoke_agent weather-agent", "chat gpt-4o", "execute_tool get_weather"):
        assert step in timeline


def test_the_javascript_sdk_exporter_sends_a_conversation_and_its_tool_call(ingest_server):
    assert JS_PACKAGES.is_dir(), "run scripts/ensure-otlp-js (make test does)"
    env = ingest_server.otlp_env()  # the exporter's own protocol: http/json
    run_agent([typescript_node(), str(JS_AGENT), "conv-js-sdk"], env)

    question = "Which flights leave Lisbon for Oslo tomorrow?"
    session = session_of(ingest_server, question)
    transcript = reads(ingest_server, f"/sessions/{quote(session, safe='')}/")
    for said in (question, "Two: TP752 at 09:10 and SK1654 at 17:45."):
        assert said in transcript
    assert "search_flights" in transcript
    run = run_of(ingest_server, "execute_tool search_flights")
    timeline = reads(ingest_server, f"/workflows/{quote(run, safe='')}/")
    for step in ("invoke_agent travel-agent", "chat claude-sonnet", "execute_tool search_flights"):
        assert step in timeline
