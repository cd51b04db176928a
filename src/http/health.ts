import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../gen/grpc/health/v1/health_pb.js";
import { rejectUnlessRead } from "./read-only.js";
import type { NodeRequest, NodeResponse, PathHandler } from "./types.js";

export { ServingStatus };

/** Options of createHealthService. */
export interface HealthServiceOptions {
  /**
   * Fully-qualified names of the served services, e.g.
   * zitadel.action.v2.ActionService. Each reports the server's status,
   * and other names are unknown. The empty name means the whole server
   * and is always known.
   */
  services?: readonly string[];
}

/** The grpc.health.v1.Health service and the switch that drives it. */
export interface HealthService {
  service: typeof Health;
  implementation: ServiceImpl<typeof Health>;
  /** The current status of the server, NOT_SERVING until setServing. */
  status(): ServingStatus;
  /** Reports SERVING, e.g. once the database is open. */
  setServing(): void;
  /** Reports NOT_SERVING, e.g. when shutdown starts. */
  setNotServing(): void;
  /**
   * Ends every open Watch stream with status OK, so that graceful
   * shutdown does not wait for them. Call it after setNotServing, which
   * the watchers receive first. Watch calls that start later return at
   * once after sending the current status.
   */
  close(): void;
}

/**
 * Creates the gRPC health service (grpc.health.v1). Every known service
 * has the status of the whole server, which starts as NOT_SERVING. Check
 * returns NOT_FOUND for an unknown service. Watch sends the current status
 * and then every change until the client cancels or close is called. For
 * an unknown service it sends SERVICE_UNKNOWN and keeps the stream open,
 * as the health protocol requires.
 */
export function createHealthService(
  options: HealthServiceOptions = {},
): HealthService {
  const known = new Set(["", ...(options.services ?? [])]);
  let status = ServingStatus.NOT_SERVING;
  let closed = false;
  let changed = createSignal();

  const update = (next: ServingStatus) => {
    if (next !== status) {
      status = next;
      changed.fire();
      changed = createSignal();
    }
  };

  const implementation: ServiceImpl<typeof Health> = {
    check(request) {
      if (!known.has(request.service)) {
        throw new ConnectError(
          `unknown service: ${request.service}`,
          Code.NotFound,
        );
      }
      return { status };
    },
    async *watch(request, context) {
      const isKnown = known.has(request.service);
      let sent: ServingStatus | undefined;
      while (!context.signal.aborted) {
        const current = isKnown ? status : ServingStatus.SERVICE_UNKNOWN;
        if (current !== sent) {
          sent = current;
          yield { status: current };
        }
        if (closed) {
          return;
        }
        await waitFor(changed, context.signal);
      }
    },
  };

  return {
    service: Health,
    implementation,
    status: () => status,
    setServing: () => update(ServingStatus.SERVING),
    setNotServing: () => update(ServingStatus.NOT_SERVING),
    close() {
      closed = true;
      changed.fire();
      changed = createSignal();
    },
  };
}

/**
 * Serves `GET /healthz` (and HEAD) as plain HTTP for probes that cannot
 * speak gRPC: 200 "ok" while the server is SERVING, 503 otherwise.
 */
export function createHealthzHandler(health: HealthService): PathHandler {
  return (request: NodeRequest, response: NodeResponse) => {
    const path = (request.url ?? "").split("?")[0];
    if (path !== "/healthz") {
      return false;
    }
    if (rejectUnlessRead(request, response)) {
      return true;
    }
    const serving = health.status() === ServingStatus.SERVING;
    response.writeHead(serving ? 200 : 503, {
      "content-type": "text/plain",
      "cache-control": "no-store",
    });
    response.end(serving ? "ok\n" : "not serving\n");
    return true;
  };
}

/** A one-shot notification, replaced by a new one after each change. */
interface Signal {
  promise: Promise<void>;
  fire(): void;
}

function createSignal(): Signal {
  let fire = () => {};
  const promise = new Promise<void>((resolve) => {
    fire = resolve;
  });
  return { promise, fire };
}

// Resolves when the status changes, close is called or the client goes
// away, whichever comes first.
async function waitFor(changed: Signal, abort: AbortSignal): Promise<void> {
  let onAbort = () => {};
  const aborted = new Promise<void>((resolve) => {
    onAbort = resolve;
    abort.addEventListener("abort", onAbort, { once: true });
  });
  try {
    await Promise.race([changed.promise, aborted]);
  } finally {
    abort.removeEventListener("abort", onAbort);
  }
}
