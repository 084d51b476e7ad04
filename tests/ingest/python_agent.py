"""An agent that traces itself as the GenAI semantic conventions say, with the OpenTelemetry
Python SDK and its OTLP/HTTP exporter (protobuf), configured by nothing but the OTEL_*
environment an operator would set (tests/ingest/test_real_clients.py runs it).

    python tests/ingest/python_agent.py CONVERSATION_ID

Prints the export results as JSON; exits 1 unless every export succeeded.
"""

import json
import sys

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult
from opentelemetry.trace import SpanKind

QUESTION = "What is the weather in Paris?"
ANSWER = "It is 18 degrees and clear in Paris."
TOOL_CALL = {"type": "tool_call", "id": "call_1", "name": "get_weather",
             "arguments": {"city": "Paris"}}  # fmt: skip
TOOL_RESULT = {"temperature": 18, "sky": "clear"}


class RecordingExporter(OTLPSpanExporter):
    """The SDK's exporter (endpoint, headers, compression from OTEL_EXPORTER_OTLP_*),
    remembering what each export came to."""

    results: list[str] = []

    def export(self, spans):
        result = super().export(spans)
        self.results.append(result.name)
        return result


def main(conversation: str) -> int:
    exporter = RecordingExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "weather-agent"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("tests.python_agent")
    common = {"gen_ai.conversation.id": conversation, "gen_ai.provider.name": "openai"}
    user = {"role": "user", "parts": [{"type": "text", "content": QUESTION}]}
    asks_tool = {"role": "assistant", "parts": [TOOL_CALL], "finish_reason": "tool_call"}
    tool = {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_1",
                                       "response": TOOL_RESULT}]}  # fmt: skip
    answer = {"role": "assistant", "parts": [{"type": "text", "content": ANSWER}],
              "finish_reason": "stop"}  # fmt: skip
    with tracer.start_as_current_span(
        "invoke_agent weather-agent",
        kind=SpanKind.INTERNAL,
        attributes=common | {"gen_ai.operation.name": "invoke_agent",
                             "gen_ai.agent.name": "weather-agent"},
    ):  # fmt: skip
        chat(tracer, common, [user], asks_tool)
        with tracer.start_as_current_span(
            "execute_tool get_weather",
            attributes=common | {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "get_weather",
                "gen_ai.tool.type": "function",
                "gen_ai.tool.call.id": "call_1",
                "gen_ai.tool.call.arguments": json.dumps(TOOL_CALL["arguments"]),
                "gen_ai.tool.call.result": json.dumps(TOOL_RESULT),
            },
        ):  # fmt: skip
            pass
        chat(tracer, common, [user, asks_tool, tool], answer)
    provider.shutdown()  # flushes the batch: the export happens here
    print(json.dumps(RecordingExporter.results))
    ok = RecordingExporter.results and set(RecordingExporter.results) == {
        SpanExportResult.SUCCESS.name
    }
    return 0 if ok else 1


def chat(tracer, common: dict, said: list, answered: dict) -> None:
    with tracer.start_as_current_span(
        "chat gpt-4o",
        kind=SpanKind.CLIENT,
        attributes=common | {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.system_instructions": json.dumps(
                [{"type": "text", "content": "You are a weather assistant."}]
            ),
            "gen_ai.input.messages": json.dumps(said),
            "gen_ai.output.messages": json.dumps([answered]),
            "gen_ai.usage.input_tokens": 40,
            "gen_ai.usage.output_tokens": 12,
        },
    ):  # fmt: skip
        pass


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
