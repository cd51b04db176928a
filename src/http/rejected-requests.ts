import { constants } from "node:http2";
import {
  type Code,
  type ContextValues,
  createContextKey,
  createContextValues,
} from "@connectrpc/connect";
import type { Logger } from "pino";
import { codeName } from "../errors.js";
import type { NodeHandler, NodeRequest, NodeResponse } from "./types.js";

/** Whether the logging interceptor has seen an RPC. */
export interface RpcLogState {
  logged: boolean;
}

/**
 * Context key of an RPC's log state. The logging interceptor sets `logged`,
 * so when a response finishes, a request that the protocol layer rejected
 * before any interceptor still has it false.
 */
export const rpcLogStateKey = createContextKey<RpcLogState | undefined>(
  undefined,
  { description: "log state of the RPC" },
);

/** Options of createRejectedRequestLog. */
export interface RejectedRequestLogOptions {
  /**
   * Maximum lines per second for rejected requests. Further ones are
   * dropped, and one warning at the end of the second reports how many.
   * Default: 20.
   */
  maxLinesPerSecond?: number;
}

/**
 * Logs the requests that never reach the logging interceptor: RPCs that
 * the protocol layer rejects (a malformed or oversized body, an unsupported
 * content type or HTTP method) and requests for paths that match no route.
 */
export interface RejectedRequestLog {
  /** Wraps the node handler so that each RPC's response can be found. */
  track(handler: NodeHandler): NodeHandler;
  /** The `contextValues` option of connectNodeAdapter. */
  contextValues(request: NodeRequest): ContextValues;
  /** Logs a request that matched no route, with its response status. */
  notFound(request: { method?: string; url?: string }, status: number): void;
}

/** Creates the log of rejected requests, with a line rate limit. */
export function createRejectedRequestLog(
  logger: Logger,
  options: RejectedRequestLogOptions = {},
): RejectedRequestLog {
  const responses = new WeakMap<NodeRequest, NodeResponse>();
  const limit = createLineLimit(options.maxLinesPerSecond ?? 20, (dropped) =>
    logger.warn({ suppressed: dropped }, "rejected request lines dropped"),
  );

  const write = (fields: Record<string, unknown>, message: string) => {
    if (!limit.allow()) {
      return;
    }
    if (Number(fields.httpStatus) >= 500) {
      logger.error(fields, message);
    } else {
      logger.info(fields, message);
    }
  };

  return {
    track: (handler) => (request, response) => {
      responses.set(request, response);
      handler(request, response);
    },
    contextValues(request) {
      const state: RpcLogState = { logged: false };
      const response = responses.get(request);
      if (response !== undefined) {
        const started = performance.now();
        response.once("finish", () => {
          // A client that went away before the response canceled the call;
          // it was not rejected.
          if (state.logged || !response.headersSent || canceled(request)) {
            return;
          }
          write(
            {
              procedure: pathOf(request),
              httpStatus: response.statusCode,
              code: grpcCodeOf(response),
              durationMs: elapsed(started),
            },
            "rpc rejected before the handler",
          );
        });
      }
      return createContextValues().set(rpcLogStateKey, state);
    },
    notFound(request, status) {
      write(
        { method: request.method, path: pathOf(request), httpStatus: status },
        "request matched no route",
      );
    },
  };
}

// Returns whether the client aborted the request: the HTTP/1.1 connection
// closed early, or the HTTP/2 stream was reset with an error code.
function canceled(request: NodeRequest): boolean {
  if (request.aborted) {
    return true;
  }
  const code = "stream" in request ? request.stream.rstCode : undefined;
  return code !== undefined && code !== constants.NGHTTP2_NO_ERROR;
}

// Longest path written to a line. The path comes from the client, so a
// longer one is cut.
const MAX_PATH_LENGTH = 256;

function pathOf(request: { url?: string }): string {
  const path = (request.url ?? "").split("?")[0] ?? "";
  return path.length > MAX_PATH_LENGTH
    ? `${path.slice(0, MAX_PATH_LENGTH)}...`
    : path;
}

// Returns the code from the grpc-status header of a trailers-only response,
// or from the trailers sent on HTTP/2. Other responses carry their code in
// the body, so they have none here.
function grpcCodeOf(response: NodeResponse): string | undefined {
  let status = response.getHeader("grpc-status");
  if (status === undefined && "stream" in response) {
    status = response.stream.sentTrailers?.["grpc-status"];
  }
  if (status === undefined) {
    return undefined;
  }
  return codeName(Number(status) as Code);
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 1000) / 1000;
}

/**
 * Allows `perSecond` lines in each one-second window. When a window has
 * dropped lines, `report` receives their count once the window ends, so a
 * burst that is followed by silence is still counted.
 */
function createLineLimit(
  perSecond: number,
  report: (dropped: number) => void,
): { allow(): boolean } {
  let windowStart = 0;
  let written = 0;
  let dropped = 0;
  let reportTimer: NodeJS.Timeout | undefined;

  const flush = () => {
    reportTimer = undefined;
    if (dropped > 0) {
      report(dropped);
      dropped = 0;
    }
  };

  return {
    allow() {
      const now = Date.now();
      if (now - windowStart >= 1000) {
        windowStart = now;
        written = 0;
      }
      if (written < perSecond) {
        written++;
        return true;
      }
      dropped++;
      if (reportTimer === undefined) {
        reportTimer = setTimeout(flush, windowStart + 1000 - now);
        // The report must not keep a stopping process alive.
        reportTimer.unref();
      }
      return false;
    },
  };
}
