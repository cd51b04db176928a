import { type ClientHttp2Session, connect } from "node:http2";
import { Code } from "@connectrpc/connect";
import { ActionService } from "../../gen/zitadel/action/v2/action_service_pb.js";
import {
  type CapturedLogs,
  captureLogs,
} from "../security/security-fixture.js";
import { clientFor, closeGrpcJsClients } from "../support/clients.js";
import { rpcError } from "../support/rpc-error.js";
import {
  authHeader,
  startTestServer,
  type TestServer,
} from "../support/start-server.js";

// A request body over the size limit gets its error response, and then
// RST_STREAM with NO_ERROR, so an HTTP/2 client stops sending the rest
// instead of keeping the stream open.

const listTargets = "/zitadel.action.v2.ActionService/ListTargets";
const createTarget = "/zitadel.action.v2.ActionService/CreateTarget";
const maxRequestBytes = 1024;
const chunk = Buffer.alloc(16 * 1024, 1);
// The client offers up to 1 MiB in 16 KiB chunks. A stream that stays
// open makes it send all of them or wait for flow control, which takes at
// most 64 times 200 ms.
const maxChunks = 64;

let logs: CapturedLogs;
let server: TestServer;

beforeAll(async () => {
  logs = captureLogs();
  server = await startTestServer({
    config: { maxRequestBytes },
    logger: logs.logger,
  });
});

afterAll(async () => {
  closeGrpcJsClients();
  await server.stop();
});

interface Upload {
  /** Bytes the client wrote before the stream closed. */
  sent: number;
  /** Whether the stream closed before the client ran out of chunks. */
  closedEarly: boolean;
  status: string | undefined;
  grpcStatus: string | undefined;
  body: string;
}

// Sends `prefix`, then chunks until the stream closes or the chunks run
// out, and waits at most 200 ms for flow control before each chunk.
// Closes the session at the end unless the caller passes its own.
async function upload(
  contentType: string,
  prefix: Buffer,
  ownSession?: ClientHttp2Session,
): Promise<Upload> {
  const session = ownSession ?? connect(server.baseUrl);
  try {
    const stream = session.request({
      ":method": "POST",
      ":path": listTargets,
      "content-type": contentType,
      te: "trailers",
      ...authHeader,
    });
    const result: Upload = {
      sent: 0,
      closedEarly: false,
      status: undefined,
      grpcStatus: undefined,
      body: "",
    };
    const closed = new Promise<void>((resolve) => stream.on("close", resolve));
    stream.on("error", () => {});
    stream.on("response", (headers) => {
      result.status = String(headers[":status"]);
      result.grpcStatus ??= headers["grpc-status"] as string | undefined;
    });
    stream.on("trailers", (trailers) => {
      result.grpcStatus ??= trailers["grpc-status"] as string | undefined;
    });
    stream.on("data", (data: Buffer) => {
      result.body += data.toString("latin1");
    });

    stream.write(prefix);
    for (let i = 0; i < maxChunks && !stream.closed; i++) {
      if (!stream.write(chunk)) {
        await Promise.race([
          new Promise((resolve) => stream.once("drain", resolve)),
          new Promise((resolve) => setTimeout(resolve, 200)),
          closed,
        ]);
      }
      result.sent += chunk.length;
    }
    result.closedEarly = stream.closed;
    if (!stream.closed) {
      stream.close();
    }
    await closed;
    return result;
  } finally {
    if (ownSession === undefined) {
      session.close();
    }
  }
}

function rejectedLines(): Record<string, unknown>[] {
  return logs.linesWithMessage("rpc rejected before the handler");
}

// A gRPC frame header that declares a 10 MB message.
function largeFrameHeader(): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(10_000_000, 1);
  return header;
}

describe("early response reset", () => {
  it("stops a gRPC upload after ResourceExhausted", async () => {
    const result = await upload("application/grpc", largeFrameHeader());
    expect(result.grpcStatus).toBe("8");
    expect(result.closedEarly).toBe(true);
    expect(result.sent).toBeLessThan(512 * 1024);
  });

  it("stops a gRPC-web upload after its trailers", async () => {
    const result = await upload(
      "application/grpc-web+proto",
      largeFrameHeader(),
    );
    expect(result.body).toContain("grpc-status: 8");
    expect(result.closedEarly).toBe(true);
    expect(result.sent).toBeLessThan(512 * 1024);
  });

  it("stops a Connect upload after its error body", async () => {
    const result = await upload("application/proto", Buffer.alloc(0));
    expect(result.status).toBe("429");
    expect(JSON.parse(result.body)).toMatchObject({
      code: "resource_exhausted",
    });
    expect(result.closedEarly).toBe(true);
    expect(result.sent).toBeLessThan(512 * 1024);
  });

  // grpc-js sends the whole message at once and keeps its connection
  // open, so only the server can end its side of the stream, which still
  // contains unread data.
  it("ends the stream so the rejection is logged", async () => {
    const before = rejectedLines().length;
    const actions = clientFor(ActionService, "grpc-js", server.baseUrl);
    const error = await rpcError(
      actions.createTarget({ name: "n".repeat(70_000) }),
    );
    expect(error.code).toBe(Code.ResourceExhausted);

    // The line is written when the server's stream closes.
    for (let i = 0; i < 50 && rejectedLines().length === before; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const lines = logs
      .linesWithMessage("rpc rejected before the handler")
      .slice(before);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.procedure).toBe(createTarget);
    expect(lines[0]?.code).toBe("resource_exhausted");
  });

  it("lets the server stop at once after an upload", async () => {
    const own = await startTestServer({ config: { maxRequestBytes } });
    const actions = clientFor(ActionService, "grpc-js", own.baseUrl);
    const error = await rpcError(
      actions.createTarget({ name: "n".repeat(200_000) }),
    );
    expect(error.code).toBe(Code.ResourceExhausted);

    const started = Date.now();
    await own.stop();
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("leaves a request within the limit alone", async () => {
    const session = connect(server.baseUrl);
    try {
      const stream = session.request({
        ":method": "POST",
        ":path": listTargets,
        "content-type": "application/grpc",
        te: "trailers",
        ...authHeader,
      });
      let grpcStatus: string | undefined;
      stream.on("trailers", (trailers) => {
        grpcStatus = trailers["grpc-status"] as string | undefined;
      });
      stream.resume();
      stream.end(Buffer.alloc(5));
      await new Promise((resolve) => stream.on("close", resolve));
      expect(grpcStatus).toBe("0");
      expect(stream.rstCode).toBe(0);
    } finally {
      session.close();
    }
  });
});
