import { connect } from "node:http2";
import {
  authHeader,
  startTestServer,
  type TestServer,
} from "../support/start-server.js";

// A request body over the size limit gets its error response, and then
// RST_STREAM with NO_ERROR, so an HTTP/2 client stops sending the rest
// instead of keeping the stream open.

const listTargets = "/zitadel.action.v2.ActionService/ListTargets";
const maxRequestBytes = 1024;
const chunk = Buffer.alloc(16 * 1024, 1);
// The client offers up to 1 MiB in 16 KiB chunks. A stream that stays
// open makes it send all of them or wait for flow control, which takes at
// most 64 times 200 ms.
const maxChunks = 64;

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ config: { maxRequestBytes } });
});

afterAll(async () => {
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
async function upload(contentType: string, prefix: Buffer): Promise<Upload> {
  const session = connect(server.baseUrl);
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
    session.close();
  }
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
