import { performance } from "node:perf_hooks";
import { Agent } from "undici";
import { EgressDeniedError, type EgressPolicy } from "./egress.js";
import { TargetCallError } from "./target-call-error.js";
import {
  recordTargetCall,
  type TargetCallOutcome,
  type TargetMetrics,
} from "./target-metrics.js";
import {
  describeTarget,
  sendTargetRequest,
  type TargetEndpoint,
  type TargetRequestOptions,
} from "./target-request.js";

export type { TargetCallErrorKind } from "./target-call-error.js";
export { TargetCallError } from "./target-call-error.js";
export type {
  PayloadEncoding,
  TargetEndpoint,
  TargetRequestOptions,
} from "./target-request.js";

const MAX_REMEMBERED_ENDPOINTS = 10_000;

/**
 * How ZITADEL treats a target's response: a webhook waits and ignores the
 * body, a call waits and uses the body, async does not wait. The caller
 * sends the same request for all three.
 */
export type TargetType = "webhook" | "call" | "async";

/** Options for {@link createTargetCaller}. */
export interface TargetCallerOptions {
  /**
   * Egress guard, applied to the endpoint URL before each call and to the
   * resolved address at connect time.
   */
  egress: EgressPolicy;
  /** Maximum response body size in bytes. Default: 1 MiB (1_048_576). */
  maxResponseBytes?: number;
  /**
   * Maximum calls in flight per target id. A call beyond it fails at once
   * with kind "overloaded". Default: 50.
   */
  maxConcurrentPerTarget?: number;
  /** User-Agent header value. Default: "zitadel-actions/0.1". */
  userAgent?: string;
  /**
   * Maximum time to establish a connection, in ms. The target's timeout
   * still bounds the whole call. Default: undici's 10 s.
   */
  connectTimeoutMs?: number;
  /** Metrics from createTargetMetrics that record every call. Default: none. */
  metrics?: TargetMetrics;
}

/** Client that calls target endpoints. */
export interface TargetCaller {
  /**
   * POSTs `body` to the target. Resolves with the response body, an empty
   * Uint8Array when there is none, on a 2xx response without a forwarded
   * error.
   *
   * @throws TargetCallError for every failure, RangeError for an invalid
   *   target timeout.
   */
  call(
    target: TargetEndpoint,
    body: Uint8Array,
    options?: TargetRequestOptions,
  ): Promise<Uint8Array>;
  /**
   * Waits for running calls to finish, then closes all connections. Later
   * calls fail with kind "transport". Calling close again is harmless.
   */
  close(): Promise<void>;
}

/**
 * Creates a target caller with one keep-alive connection pool per origin.
 * Every call is signed with the ZITADEL-Signature and Standard Webhooks
 * headers and checked by the egress guard twice: on the endpoint URL before
 * the call and on the resolved address when connecting.
 *
 * @throws RangeError when a numeric option is not a positive integer.
 */
export function createTargetCaller(options: TargetCallerOptions): TargetCaller {
  const maxResponseBytes = positiveInteger(
    "maxResponseBytes",
    options.maxResponseBytes ?? 1_048_576,
  );
  const maxConcurrent = positiveInteger(
    "maxConcurrentPerTarget",
    options.maxConcurrentPerTarget ?? 50,
  );
  const connectTimeoutMs =
    options.connectTimeoutMs === undefined
      ? undefined
      : positiveInteger("connectTimeoutMs", options.connectTimeoutMs);
  const dispatcher = new Agent({
    connect: { lookup: options.egress.lookup, timeout: connectTimeoutMs },
  });
  const settings = {
    dispatcher,
    maxResponseBytes,
    userAgent: options.userAgent ?? "zitadel-actions/0.1",
  };
  const inFlight = new Map<string, number>();
  // The egress policy never changes, so an endpoint that passed the check
  // passes again; the connect-time lookup still checks every new address.
  const allowedEndpoints = new Set<string>();
  const rememberAllowed = (endpoint: string) => {
    if (allowedEndpoints.size >= MAX_REMEMBERED_ENDPOINTS) {
      allowedEndpoints.clear();
    }
    allowedEndpoints.add(endpoint);
  };
  let closing: Promise<void> | undefined;

  async function call(
    target: TargetEndpoint,
    body: Uint8Array,
    callOptions: TargetRequestOptions = {},
  ): Promise<Uint8Array> {
    if (!Number.isInteger(target.timeoutMs) || target.timeoutMs <= 0) {
      throw new RangeError(
        `target "${target.id}": timeoutMs must be a positive integer number of milliseconds, got ${target.timeoutMs}`,
      );
    }
    const started = performance.now();
    let outcome: TargetCallOutcome = "success";
    let counted = false;
    try {
      if (closing !== undefined) {
        throw new TargetCallError(
          `${describeTarget(target)}: the target caller is closed`,
          { kind: "transport", targetId: target.id },
        );
      }
      const running = inFlight.get(target.id) ?? 0;
      if (running >= maxConcurrent) {
        throw new TargetCallError(
          `${describeTarget(target)}: ${running} calls already in flight, the maximum is ${maxConcurrent}`,
          { kind: "overloaded", targetId: target.id },
        );
      }
      inFlight.set(target.id, running + 1);
      counted = true;
      if (!allowedEndpoints.has(target.endpoint)) {
        checkEgress(options.egress, target);
        rememberAllowed(target.endpoint);
      }
      return await sendTargetRequest(settings, target, body, callOptions);
    } catch (error) {
      outcome = error instanceof TargetCallError ? error.kind : "transport";
      throw error;
    } finally {
      if (counted) {
        const remaining = (inFlight.get(target.id) ?? 1) - 1;
        if (remaining === 0) {
          inFlight.delete(target.id);
        } else {
          inFlight.set(target.id, remaining);
        }
      }
      if (options.metrics !== undefined) {
        const seconds = (performance.now() - started) / 1000;
        recordTargetCall(options.metrics, target.id, outcome, seconds);
      }
    }
  }

  return {
    call,
    close: () => {
      closing ??= dispatcher.close();
      return closing;
    },
  };
}

function checkEgress(egress: EgressPolicy, target: TargetEndpoint): void {
  try {
    egress.checkEndpoint(target.endpoint);
  } catch (error) {
    if (error instanceof EgressDeniedError) {
      throw new TargetCallError(`${describeTarget(target)}: ${error.message}`, {
        kind: "egress-denied",
        targetId: target.id,
        cause: error,
      });
    }
    throw error;
  }
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) {
    throw new RangeError(
      `target caller: ${name} must be a positive integer, got ${value}`,
    );
  }
  return value;
}
