import { randomUUID } from "node:crypto";
import { Code, type ConnectError, type Interceptor } from "@connectrpc/connect";
import { type Logger, pino } from "pino";
import { codeName, toConnectError } from "./errors.js";
import { rpcLogStateKey } from "./http/rejected-requests.js";

export type { Logger } from "pino";

/** Creates the service's JSON logger; secrets are never passed to it. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: "zitadel-actions" },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

/**
 * Logs one line per RPC with the procedure, the resulting code, the
 * duration in milliseconds and the request id. The request id comes from
 * the x-request-id header, or is generated, and goes back in the response.
 * Internal errors are logged with their cause, which is never sent to the client.
 */
export function loggingInterceptor(logger: Logger): Interceptor {
  return (next) => async (request) => {
    const state = request.contextValues.get(rpcLogStateKey);
    if (state !== undefined) {
      state.logged = true;
    }
    const started = performance.now();
    const requestId = validRequestId(request.header.get("x-request-id"));
    const line = {
      procedure: `/${request.service.typeName}/${request.method.name}`,
      requestId,
    };
    try {
      const response = await next(request);
      response.header.set("x-request-id", requestId);
      logger.info(
        { ...line, code: "ok", durationMs: elapsed(started) },
        "rpc served",
      );
      return response;
    } catch (error) {
      const connectError = toConnectError(error);
      connectError.metadata.set("x-request-id", requestId);
      const fields = {
        ...line,
        code: codeName(connectError.code),
        durationMs: elapsed(started),
        error: connectError.rawMessage,
      };
      if (
        connectError.code === Code.Internal ||
        connectError.code === Code.Unknown
      ) {
        logger.error({ ...fields, cause: causeOf(connectError) }, "rpc failed");
      } else {
        logger.info(fields, "rpc served");
      }
      throw connectError;
    }
  };
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 1000) / 1000;
}

function causeOf(error: ConnectError): unknown {
  const cause = error.cause;
  if (cause instanceof Error) {
    return { type: cause.name, message: cause.message, stack: cause.stack };
  }
  return cause;
}

// A client-supplied request id is kept only when it is short and printable,
// so it cannot bloat or forge log lines. Otherwise a new one is generated.
function validRequestId(value: string | null): string {
  return value !== null && /^[\x21-\x7e]{1,128}$/.test(value)
    ? value
    : randomUUID();
}

// Code names as the Connect protocol writes them, e.g. invalid_argument.
