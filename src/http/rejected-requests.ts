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
   * counted, and the next line that is written reports the count.
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
  const allowLine = createLineLimit(options.maxLinesPerSecond ?? 20);

  const write = (fields: Record<string, unknown>, message: string) => {
    const suppressed = allowLine();
    if (suppressed === undefined) {
      return;
    }
    const line = suppressed > 0 ? { ...fields, suppressed } : fields;
    if (Number(fields.httpStatus) >= 500) {
      logger.error(line, message);
    } else {
      logger.info(line, message);
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
          if (state.logged) {
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

function pathOf(request: { url?: string }): string {
  return (request.url ?? "").split("?")[0] ?? "";
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

// Returns a function that allows `perSecond` lines in each second. It
// returns undefined for a line that must be dropped, and otherwise the
// number of lines dropped since the last allowed one.
function createLineLimit(perSecond: number): () => number | undefined {
  let windowStart = 0;
  let written = 0;
  let dropped = 0;
  return () => {
    const now = Date.now();
    if (now - windowStart >= 1000) {
      windowStart = now;
      written = 0;
    }
    if (written >= perSecond) {
      dropped++;
      return undefined;
    }
    written++;
    const report = dropped;
    dropped = 0;
    return report;
  };
}
