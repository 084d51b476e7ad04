// An agent that traces itself as the GenAI semantic conventions say, with the OpenTelemetry
// JavaScript SDK and its OTLP/HTTP exporter (JSON), configured by nothing but the OTEL_*
// environment an operator would set (tests/ingest/test_real_clients.py runs it).
//
//   node tests/ingest/js/agent.mjs CONVERSATION_ID
//
// Prints the export results as JSON; exits 1 unless every export succeeded.
import { context, trace } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";

const conversation = process.argv[2];
const QUESTION = "Which flights leave Lisbon for Oslo tomorrow?";
const ANSWER = "Two: TP752 at 09:10 and SK1654 at 17:45.";
const toolCall = { type: "tool_call", id: "call_7", name: "search_flights",
                   arguments: { from: "LIS", to: "OSL" } };
const toolResult = [{ flight: "TP752", departs: "09:10" }, { flight: "SK1654", departs: "17:45" }];

const exporter = new OTLPTraceExporter(); // url and headers from OTEL_EXPORTER_OTLP_*
const results = [];
const send = exporter.export.bind(exporter);
exporter.export = (spans, done) =>
  send(spans, (result) => {
    results.push(result.code === 0 ? "SUCCESS" : `FAILURE ${result.error ?? ""}`);
    done(result);
  });

const provider = new TracerProvider({
  resource: resourceFromAttributes({ "service.name": "travel-agent" }),
  spanProcessors: [new BatchSpanProcessor({ exporter })],
});
const tracer = provider.getTracer("tests.js_agent");
const common = { "gen_ai.conversation.id": conversation, "gen_ai.provider.name": "anthropic" };

// No context manager is registered: each child names its parent's context itself.
const root = tracer.startSpan("invoke_agent travel-agent", {
  attributes: { ...common, "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": "travel-agent" },
});
const under = trace.setSpan(context.active(), root);
const user = { role: "user", parts: [{ type: "text", content: QUESTION }] };
const asksTool = { role: "assistant", parts: [toolCall], finish_reason: "tool_call" };
const tool = { role: "tool",
               parts: [{ type: "tool_call_response", id: "call_7", response: toolResult }] };
const answer = { role: "assistant", parts: [{ type: "text", content: ANSWER }],
                 finish_reason: "stop" };

function chat(said, answered) {
  tracer.startSpan("chat claude-sonnet", {
    kind: 2, // CLIENT
    attributes: {
      ...common,
      "gen_ai.operation.name": "chat",
      "gen_ai.request.model": "claude-sonnet",
      "gen_ai.input.messages": JSON.stringify(said),
      "gen_ai.output.messages": JSON.stringify([answered]),
      "gen_ai.usage.input_tokens": 55,
      "gen_ai.usage.output_tokens": 21,
    },
  }, under).end();
}

chat([user], asksTool);
tracer.startSpan("execute_tool search_flights", {
  attributes: {
    ...common,
    "gen_ai.operation.name": "execute_tool",
    "gen_ai.tool.name": "search_flights",
    "gen_ai.tool.type": "function",
    "gen_ai.tool.call.id": "call_7",
    "gen_ai.tool.call.arguments": JSON.stringify(toolCall.arguments),
    "gen_ai.tool.call.result": JSON.stringify(toolResult),
  },
}, under).end();
chat([user, asksTool, tool], answer);
root.end();

try {
  await provider.shutdown(); // flushes the batch: the export happens here
} catch (error) {
  results.push(`FAILURE ${error}`);
}
console.log(JSON.stringify(results));
process.exit(results.length > 0 && results.every((r) => r === "SUCCESS") ? 0 : 1);
