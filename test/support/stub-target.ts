import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";

/**
 * One reply of the stub target. Give at most one of `body`, `json` and
 * `chunks`. Without any of them the reply has an empty body.
 */
export interface StubReply {
  /** HTTP status. Default: 200. */
  status?: number;
  /** Extra response headers, such as location or content-length. */
  headers?: OutgoingHttpHeaders;
  /** Raw body, sent with a Content-Length header. */
  body?: string | Uint8Array;
  /** Value sent as JSON with content-type application/json. */
  json?: unknown;
  /**
   * Body parts sent one after another, so the client sees the headers
   * before the whole body. They use chunked transfer encoding unless
   * `headers` sets content-length.
   */
  chunks?: (string | Uint8Array)[];
  /** Pause before each chunk after the first, in ms. Default: 0. */
  chunkIntervalMs?: number;
  /** Pause before the status line is sent, in ms. Default: 0. */
  delayMs?: number;
  /** Closes the connection without any reply. */
  hangUp?: boolean;
}

/** Computes the reply for a request, for tests that need to inspect it. */
export type StubResponder = (
  request: RecordedRequest,
) => StubReply | Promise<StubReply>;

/** A request as the stub target received it. */
export interface RecordedRequest {
  method: string;
  /** Path and query string, such as "/hook?x=1". */
  path: string;
  /** Request headers with lowercase names. */
  headers: IncomingHttpHeaders;
  /** The exact body bytes received. */
  body: Uint8Array;
  /** The body decoded as UTF-8. */
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
  /** Client port of the connection. It repeats when a connection is reused. */
  remotePort: number | undefined;
}

/** Options for {@link startStubTarget}. */
export interface StubTargetOptions {
  /** Address to listen on, such as "::1". Default: "127.0.0.1". */
  host?: string;
  /** Reply used when the queue is empty. Default: 200 with an empty body. */
  respondWith?: StubReply | StubResponder;
}

/** A running stub target server. */
export interface StubTarget {
  /** Base URL without a trailing slash, such as "http://127.0.0.1:40123". */
  readonly url: string;
  readonly port: number;
  /** Every request received so far, oldest first. */
  readonly requests: RecordedRequest[];
  /** Queues replies, used one per request before the default reply. */
  reply(...replies: StubReply[]): void;
  /** Replaces the reply used when the queue is empty. */
  respondWith(reply: StubReply | StubResponder): void;
  /**
   * Resolves once `count` requests have arrived, or rejects after
   * `timeoutMs` (default 5000), for targets called in the background.
   */
  waitForRequests(
    count: number,
    timeoutMs?: number,
  ): Promise<RecordedRequest[]>;
  /** Stops the server, cancels pending replies and drops open connections. */
  close(): Promise<void>;
}

/**
 * Starts an HTTP server on a loopback address and an ephemeral port that
 * records every request and replies as configured. Each test should close
 * it, for example in afterEach.
 */
export async function startStubTarget(
  options: StubTargetOptions = {},
): Promise<StubTarget> {
  const host = options.host ?? "127.0.0.1";
  const requests: RecordedRequest[] = [];
  const queue: StubReply[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const waiters = new Set<() => void>();
  let fallback: StubReply | StubResponder = options.respondWith ?? {};

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  const server = createServer((request, response) => {
    void handle(request, response).catch(() => response.destroy());
  });

  async function handle(
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<void> {
    const recorded = await recordRequest(request);
    requests.push(recorded);
    for (const notify of waiters) {
      notify();
    }
    const next = queue.shift() ?? fallback;
    const reply = typeof next === "function" ? await next(recorded) : next;
    await sendReply(reply, response, sleep);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(":") ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}`,
    port,
    requests,
    reply: (...replies) => {
      queue.push(...replies);
    },
    respondWith: (reply) => {
      fallback = reply;
    },
    waitForRequests: (count, timeoutMs = 5000) =>
      waitForCount(requests, waiters, count, timeoutMs),
    close: async () => {
      for (const timer of timers) {
        clearTimeout(timer);
      }
      timers.clear();
      const closed = new Promise<void>((resolve) =>
        server.close(() => resolve()),
      );
      server.closeAllConnections();
      await closed;
    },
  };
}

async function recordRequest(
  request: IncomingMessage,
): Promise<RecordedRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) {
    chunks.push(chunk as Buffer);
  }
  const body = new Uint8Array(Buffer.concat(chunks));
  const text = Buffer.from(body).toString("utf8");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return {
    method: request.method ?? "",
    path: request.url ?? "",
    headers: request.headers,
    body,
    text,
    json,
    remotePort: request.socket.remotePort,
  };
}

async function sendReply(
  reply: StubReply,
  response: ServerResponse,
  sleep: (ms: number) => Promise<void>,
): Promise<void> {
  if (reply.delayMs) {
    await sleep(reply.delayMs);
  }
  if (reply.hangUp) {
    response.socket?.destroy();
    return;
  }
  if (response.destroyed) {
    return;
  }
  const headers: OutgoingHttpHeaders = { ...reply.headers };
  let body: string | Uint8Array | undefined = reply.body;
  if (reply.json !== undefined) {
    body = JSON.stringify(reply.json);
    headers["content-type"] ??= "application/json";
  }
  if (reply.chunks === undefined) {
    response.writeHead(reply.status ?? 200, headers);
    response.end(body);
    return;
  }
  response.writeHead(reply.status ?? 200, headers);
  for (const [index, chunk] of reply.chunks.entries()) {
    if (index > 0 && reply.chunkIntervalMs) {
      await sleep(reply.chunkIntervalMs);
    }
    if (response.destroyed) {
      return;
    }
    response.write(chunk);
  }
  response.end();
}

function waitForCount(
  requests: RecordedRequest[],
  waiters: Set<() => void>,
  count: number,
  timeoutMs: number,
): Promise<RecordedRequest[]> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (requests.length >= count) {
        clearTimeout(timer);
        waiters.delete(check);
        resolve(requests.slice(0, count));
      }
    };
    const timer = setTimeout(() => {
      waiters.delete(check);
      reject(
        new Error(
          `stub target: expected ${count} requests within ${timeoutMs} ms, received ${requests.length}`,
        ),
      );
    }, timeoutMs);
    waiters.add(check);
    check();
  });
}
