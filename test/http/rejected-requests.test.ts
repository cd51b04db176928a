import { type ClientHttp2Session, connect, constants } from "node:http2";
import { createRejectedRequestLog } from "../../src/http/index.js";
import {
  type CapturedLogs,
  captureLogs,
} from "../security/security-fixture.js";
import {
  authHeader,
  startTestServer,
  type TestServer,
} from "../support/start-server.js";

// Requests that the protocol layer rejects before any interceptor, and
// requests for unknown paths, get one log line each. The logging
// interceptor cannot write these lines because it never receives them.

const listTargets = "/zitadel.action.v2.ActionService/ListTargets";
const rejectedMessage = "rpc rejected before the handler";
const noRouteMessage = "request matched no route";

let logs: CapturedLogs;
let server: TestServer;

beforeAll(async () => {
  logs = captureLogs();
  server = await startTestServer({ logger: logs.logger });
});

afterAll(async () => {
  await server.stop();
});

// The line is written when the response finishes, which can be just after
// the client has read it.
async function waitForLines(
  message: string,
  match: (line: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>[]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const found = logs.linesWithMessage(message).filter(match);
    if (found.length > 0) {
      return found;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return [];
}

// Sends one gRPC request over HTTP/2 with a raw body and returns the
// grpc-status that the server sent, from the headers or the trailers.
async function sendGrpc(path: string, body: Buffer): Promise<string> {
  const session: ClientHttp2Session = connect(server.baseUrl);
  try {
    return await new Promise<string>((resolve, reject) => {
      const stream = session.request({
        ":method": "POST",
        ":path": path,
        "content-type": "application/grpc",
        te: "trailers",
        ...authHeader,
      });
      let status: string | undefined;
      stream.on("response", (headers) => {
        status ??= headers["grpc-status"] as string | undefined;
      });
      stream.on("trailers", (trailers) => {
        status ??= trailers["grpc-status"] as string | undefined;
      });
      stream.on("error", reject);
      stream.on("close", () => resolve(status ?? "none"));
      stream.resume();
      stream.end(body);
    });
  } finally {
    session.close();
  }
}

describe("rejected request log", () => {
  it("logs a Connect request with a malformed body", async () => {
    const response = await fetch(`${server.baseUrl}${listTargets}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...authHeader },
      body: "{not json",
    });
    await response.text();
    expect(response.status).toBe(400);

    const lines = await waitForLines(
      rejectedMessage,
      (line) => line.procedure === listTargets && line.httpStatus === 400,
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]?.level).toBe(30);
    expect(typeof lines[0]?.durationMs).toBe("number");
  });

  it("logs a Connect request with an unsupported content type", async () => {
    const response = await fetch(`${server.baseUrl}${listTargets}`, {
      method: "POST",
      headers: { "content-type": "text/plain", ...authHeader },
      body: "{}",
    });
    await response.text();
    expect(response.status).toBe(415);

    const lines = await waitForLines(
      rejectedMessage,
      (line) => line.httpStatus === 415,
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]?.procedure).toBe(listTargets);
  });

  it("logs a gRPC request with a malformed message and its code", async () => {
    // A frame that declares 3 bytes of message: a field 15 of wire type 7,
    // which does not exist, so the message cannot be decoded.
    const frame = Buffer.from([0, 0, 0, 0, 3, 0x7f, 0xff, 0xff]);
    const status = await sendGrpc(listTargets, frame);
    expect(status).not.toBe("0");
    expect(status).not.toBe("none");

    const lines = await waitForLines(
      rejectedMessage,
      (line) => line.procedure === listTargets && line.code !== undefined,
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]?.httpStatus).toBe(200);
    const codes: Record<string, string> = {
      "2": "unknown",
      "3": "invalid_argument",
      "13": "internal",
    };
    expect(lines[0]?.code).toBe(codes[status]);
  });

  it("writes no line for a client that cancels mid-upload", async () => {
    const before = logs.linesWithMessage(rejectedMessage).length;
    const session: ClientHttp2Session = connect(server.baseUrl);
    try {
      const stream = session.request({
        ":method": "POST",
        ":path": listTargets,
        "content-type": "application/grpc",
        te: "trailers",
        ...authHeader,
      });
      stream.on("error", () => {});
      // Half of a frame that declares 100 bytes, then a cancel.
      stream.write(Buffer.from([0, 0, 0, 0, 100, 1, 2, 3]));
      await new Promise((resolve) => setTimeout(resolve, 50));
      stream.close(constants.NGHTTP2_CANCEL);
      await new Promise((resolve) => stream.on("close", resolve));
    } finally {
      session.close();
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(logs.linesWithMessage(rejectedMessage)).toHaveLength(before);
  });

  it("logs a path that matches no route", async () => {
    const response = await fetch(`${server.baseUrl}/no/such/path?x=1`, {
      method: "POST",
    });
    await response.text();
    expect(response.status).toBe(404);

    const lines = await waitForLines(
      noRouteMessage,
      (line) => line.path === "/no/such/path",
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]?.method).toBe("POST");
    expect(lines[0]?.httpStatus).toBe(404);
  });

  it("writes no rejected line for a served RPC", async () => {
    const before = logs.linesWithMessage(rejectedMessage).length;
    const response = await fetch(`${server.baseUrl}${listTargets}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...authHeader },
      body: "{}",
    });
    await response.text();
    expect(response.status).toBe(200);

    const served = await waitForLines(
      "rpc served",
      (line) => line.procedure === listTargets && line.code === "ok",
    );
    expect(served.length).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(logs.linesWithMessage(rejectedMessage)).toHaveLength(before);
  });

  it("writes no rejected line for an RPC that auth rejects", async () => {
    const before = logs.linesWithMessage(rejectedMessage).length;
    const response = await fetch(`${server.baseUrl}${listTargets}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    await response.text();
    expect(response.status).toBe(401);

    const served = await waitForLines(
      "rpc served",
      (line) => line.code === "unauthenticated",
    );
    expect(served.length).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(logs.linesWithMessage(rejectedMessage)).toHaveLength(before);
  });
});

describe("rejected request log limit", () => {
  it("drops lines over the limit and reports the count", async () => {
    const captured = captureLogs();
    const log = createRejectedRequestLog(captured.logger, {
      maxLinesPerSecond: 5,
    });
    for (let i = 0; i < 12; i++) {
      log.notFound({ method: "GET", url: `/scan/${i}` }, 404);
    }
    expect(captured.linesWithMessage(noRouteMessage)).toHaveLength(5);

    // The count arrives when the second ends, with no further request.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const reports = captured.linesWithMessage("rejected request lines dropped");
    expect(reports).toHaveLength(1);
    expect(reports[0]?.suppressed).toBe(7);
    expect(reports[0]?.level).toBe(40);

    log.notFound({ method: "GET", url: "/scan/last" }, 404);
    expect(captured.linesWithMessage(noRouteMessage)).toHaveLength(6);
  });

  it("cuts a long path", () => {
    const captured = captureLogs();
    const log = createRejectedRequestLog(captured.logger);
    log.notFound({ method: "GET", url: `/${"a".repeat(5000)}?q=1` }, 404);
    const path = String(captured.linesWithMessage(noRouteMessage)[0]?.path);
    expect(path).toHaveLength(259);
    expect(path.endsWith("...")).toBe(true);
  });

  it("logs server errors at level error", () => {
    const captured = captureLogs();
    const log = createRejectedRequestLog(captured.logger);
    log.notFound({ method: "GET", url: "/broken" }, 503);
    expect(captured.linesWithMessage(noRouteMessage)[0]?.level).toBe(50);
  });
});
