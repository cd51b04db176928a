import { Writable } from "node:stream";
import { pino } from "pino";
import { ActionService } from "../../gen/zitadel/action/v2/action_service_pb.js";
import { clientFor } from "../support/clients.js";
import { authHeader, startTestServer } from "../support/start-server.js";

function capture(): { lines: Record<string, unknown>[]; stream: Writable } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      callback();
    },
  });
  return { lines, stream };
}

it("logs one line per RPC with the code and request id", async () => {
  const { lines, stream } = capture();
  const server = await startTestServer({ logger: pino(stream) });
  const client = clientFor(ActionService, "connect-json-h1", server.baseUrl, {
    ...authHeader,
    "x-request-id": "req-1",
  });

  await client.getTarget({ id: "1" }).catch(() => undefined);
  const tooLong = clientFor(ActionService, "grpc", server.baseUrl, {
    ...authHeader,
    "x-request-id": "x".repeat(200),
  });
  await tooLong.listTargets({});
  await server.stop();

  const rpcLines = lines.filter((line) => line.procedure !== undefined);
  expect(rpcLines).toHaveLength(2);
  expect(rpcLines[0]?.procedure).toBe(
    "/zitadel.action.v2.ActionService/GetTarget",
  );
  expect(rpcLines[0]?.code).toBe("not_found");
  expect(rpcLines[0]?.requestId).toBe("req-1");
  expect(typeof rpcLines[0]?.durationMs).toBe("number");
  expect(rpcLines[1]?.code).toBe("ok");
  expect(String(rpcLines[1]?.requestId)).toHaveLength(36);
});
