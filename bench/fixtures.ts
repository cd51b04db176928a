import { mkdtempSync, rmSync } from "node:fs";
import {
  createServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Client,
  createClient,
  type Interceptor,
} from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ActionService } from "../gen/zitadel/action/v2/action_service_pb.js";
import { UserService } from "../gen/zitadel/user/v2/user_service_pb.js";
import { defaultConfig } from "../src/config.js";
import { createLogger } from "../src/logger.js";
import {
  createSampleUserService,
  sampleEventTypes,
  sampleFunctions,
} from "../src/sample/index.js";
import { type ActionsServer, createActionsServer } from "../src/server.js";

/** Static admin token that every bench server accepts. It is no secret. */
const BENCH_TOKEN = "bench-admin-token-0123456789abcdef";

// Sends the bench admin token with every call, as a real client would.
const withToken: Interceptor = (next) => (request) => {
  request.header.set("authorization", `Bearer ${BENCH_TOKEN}`);
  return next(request);
};

/** A running actions server with the sample UserService and its clients. */
export interface BenchServer {
  readonly server: ActionsServer;
  readonly baseUrl: string;
  /** UserService client over gRPC (HTTP/2). */
  readonly users: Client<typeof UserService>;
  /** ActionService v2 client over gRPC (HTTP/2). */
  readonly actions: Client<typeof ActionService>;
  /** Closes the server and deletes its data folder. */
  stop(): Promise<void>;
}

/** Options of startBenchServer. */
export interface BenchServerOptions {
  /** Run the execution interceptor. Default: true. */
  executionEngine?: boolean;
  /** Function names besides the sample's, for function executions. */
  functions?: readonly string[];
}

/**
 * Starts an actions server on 127.0.0.1 and a free port, with a SQLite file
 * in a new temporary folder, a silent logger, the sample UserService, and
 * loopback targets allowed. The clients share one gRPC (HTTP/2) connection
 * and send a static admin token, so the numbers include a real socket and
 * the token check but no TLS.
 */
export async function startBenchServer(
  options: BenchServerOptions = {},
): Promise<BenchServer> {
  const dataDir = mkdtempSync(join(tmpdir(), "actions-bench-"));
  const config = defaultConfig({
    port: 0,
    host: "127.0.0.1",
    dataDir,
    databasePath: join(dataDir, "actions.db"),
    egressAllow: ["127.0.0.0/8"],
    shutdownTimeoutMs: 2000,
    authTokens: [`bench-admin:${BENCH_TOKEN}`],
  });
  const server = createActionsServer({
    config,
    logger: createLogger("silent"),
    services: (host) => [createSampleUserService(host)],
    eventTypes: sampleEventTypes,
    functions: [...sampleFunctions, ...(options.functions ?? [])],
    executionEngine: options.executionEngine,
  });
  const address = await server.listen();
  const baseUrl = `http://127.0.0.1:${address.port}`;
  const transport = createGrpcTransport({
    baseUrl,
    interceptors: [withToken],
  });
  return {
    server,
    baseUrl,
    users: createClient(UserService, transport),
    actions: createClient(ActionService, transport),
    async stop() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Body and content type of a target's reply. */
export interface TargetReply {
  body: string;
  contentType?: string;
}

/** A minimal HTTP target on loopback. */
export interface BenchTarget {
  /** Base URL without a trailing slash. */
  readonly url: string;
  /** Requests received so far. */
  readonly received: number;
  /** Body of the last request received. */
  readonly lastBody: Buffer;
  close(): Promise<void>;
}

/**
 * Starts a node:http server on 127.0.0.1 that reads each request body and
 * responds with 200 and `reply()`, or with an empty body when `reply` is
 * missing. Connections stay open between requests (HTTP/1.1 keep-alive).
 */
export async function startBenchTarget(
  reply?: () => TargetReply,
): Promise<BenchTarget> {
  let received = 0;
  let lastBody = Buffer.alloc(0);
  const respond = (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      received++;
      lastBody = Buffer.concat(chunks);
      const answer = reply?.();
      if (answer === undefined) {
        response.writeHead(200, { "content-length": "0" });
        response.end();
        return;
      }
      const body = Buffer.from(answer.body);
      response.writeHead(200, {
        "content-type": answer.contentType ?? "application/json",
        "content-length": String(body.length),
      });
      response.end(body);
    });
  };
  const server = createServer({ keepAliveTimeout: 60_000 }, respond);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get received() {
      return received;
    },
    get lastBody() {
      return lastBody;
    },
    close() {
      const closed = new Promise<void>((resolve) =>
        server.close(() => resolve()),
      );
      server.closeAllConnections();
      return closed;
    },
  };
}

/** Returns `count` names such as "bench-fn-0", for function executions. */
export function functionNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `bench-fn-${i}`);
}
