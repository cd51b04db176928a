import { fork } from "node:child_process";
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
import {
  type ActionsServer,
  createActionsServer,
  type HostService,
} from "../src/server.js";
import type {
  TargetProcessMessage,
  TargetProcessRequest,
  TargetReplyKind,
} from "./target-process.js";

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
  /**
   * Work that each sample handler awaits before it runs, when the server
   * was started with `handlerHook`. Undefined runs the handler at once.
   */
  beforeHandler: (() => Promise<void>) | undefined;
  /** Closes the server and deletes its data folder. */
  stop(): Promise<void>;
}

/** Options of startBenchServer. */
export interface BenchServerOptions {
  /** Run the execution interceptor. Default: true. */
  executionEngine?: boolean;
  /** Function names besides the sample's, for function executions. */
  functions?: readonly string[];
  /**
   * Wrap the sample's handlers so that `BenchServer.beforeHandler` runs
   * first. Default: false, which serves the handlers as they are.
   */
  handlerHook?: boolean;
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
  let hook: (() => Promise<void>) | undefined;
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
    services: (host) => {
      const sample = createSampleUserService(host);
      return [options.handlerHook ? withHook(sample, () => hook) : sample];
    },
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
    get beforeHandler() {
      return hook;
    },
    set beforeHandler(next) {
      hook = next;
    },
    async stop() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

type Handler = (request: unknown, context: unknown) => unknown;

// Returns the service with every method awaiting the current hook first.
function withHook(
  service: HostService,
  current: () => (() => Promise<void>) | undefined,
): HostService {
  const wrapped: Record<string, Handler> = {};
  const methods = service.implementation as unknown as Record<string, Handler>;
  for (const [name, method] of Object.entries(methods)) {
    wrapped[name] = async (request, context) => {
      const hook = current();
      if (hook !== undefined) {
        await hook();
      }
      return method(request, context);
    };
  }
  return {
    service: service.service,
    implementation: wrapped as unknown as HostService["implementation"],
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

/** Loopback target servers that run in a child process. */
export interface TargetProcess {
  /** Base URL of each server, without a trailing slash, in start order. */
  readonly urls: readonly string[];
  /** Body of the last request that server `index` received. */
  lastBody(index: number): Promise<Buffer>;
  /** Stops the process and with it every server. */
  close(): Promise<void>;
}

/**
 * Starts one node:http server on 127.0.0.1 per entry of `kinds` in a
 * child process. Each reads the request body and responds with 200 on a
 * kept-alive connection: "empty" with no body, "addHumanUser" with a new
 * AddHumanUser request as JSON.
 */
export function startTargetProcess(
  kinds: readonly TargetReplyKind[],
): Promise<TargetProcess> {
  const script = new URL("./target-process.js", import.meta.url);
  // No execArgv: a profiler flag of the harness would slow the targets
  // down and write a second profile next to the harness's own.
  const child = fork(script, [JSON.stringify(kinds)], {
    execArgv: [],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => resolve()),
  );
  const pending = new Map<number, (body: Buffer) => void>();
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code, signal) =>
      reject(
        new Error(
          `target process exited with code ${code} (signal ${signal}) before it was ready`,
        ),
      ),
    );
    child.on("message", (message: TargetProcessMessage) => {
      if (message.type === "lastBody") {
        pending.get(message.index)?.(Buffer.from(message.body, "base64"));
        pending.delete(message.index);
        return;
      }
      resolve({
        urls: message.urls,
        lastBody: (index) =>
          new Promise((answer) => {
            pending.set(index, answer);
            const request: TargetProcessRequest = { type: "lastBody", index };
            child.send(request);
          }),
        close: async () => {
          if (child.connected) {
            child.disconnect();
          }
          await exited;
        },
      });
    });
  });
}

/** Returns `count` names such as "bench-fn-0", for function executions. */
export function functionNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `bench-fn-${i}`);
}
