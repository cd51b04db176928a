import { cors } from "@connectrpc/connect";
import type { NodeHandler, NodeRequest, NodeResponse } from "./types.js";

/** Options of withCors. */
export interface CorsOptions {
  /**
   * Origins that browser scripts may call from, e.g.
   * https://console.example.com. "*" allows every origin, and one "*"
   * inside an entry matches any text there, e.g. https://*.example.com.
   * An empty list allows none.
   */
  allowedOrigins: readonly string[];
  /** Seconds a browser may cache a preflight result. Defaults to 7200. */
  maxAgeSeconds?: number;
}

/**
 * Request methods browsers may use: Connect's POST and GET, plus PUT and
 * DELETE for the REST paths.
 */
export const corsAllowedMethods: readonly string[] = [
  ...new Set([...cors.allowedMethods, "PUT", "DELETE"]),
];

/**
 * Request headers browsers may send: what Connect, gRPC-web and gRPC
 * need, plus the bearer token, ZITADEL's organization header and the
 * request id.
 */
export const corsAllowedHeaders: readonly string[] = [
  ...cors.allowedHeaders,
  "Authorization",
  "X-Zitadel-Orgid",
  "X-Request-Id",
];

/** Response headers browser scripts may read, including the request id. */
export const corsExposedHeaders: readonly string[] = [
  ...cors.exposedHeaders,
  "X-Request-Id",
];

/**
 * Wraps `handler` so that browsers on allowed origins may call it.
 *
 * - A preflight (OPTIONS with Origin and Access-Control-Request-Method)
 *   gets 204. For an allowed origin it carries the allowed methods and
 *   headers. For any other origin it carries no CORS headers, so the
 *   browser blocks the call.
 * - Every other request goes to `handler`. From an allowed origin, its
 *   response carries Access-Control-Allow-Origin and the exposed headers.
 *
 * No Access-Control-Allow-Credentials header is sent: clients send tokens
 * in the Authorization header, not in cookies.
 */
export function withCors(
  handler: NodeHandler,
  options: CorsOptions,
): NodeHandler {
  const matchOrigin = createOriginMatcher(options.allowedOrigins);
  const maxAge = String(options.maxAgeSeconds ?? 7200);
  return (request: NodeRequest, response: NodeResponse) => {
    const origin = headerValue(request, "origin");
    const allowOrigin = origin === undefined ? undefined : matchOrigin(origin);
    if (isPreflight(request)) {
      const headers: Record<string, string> = {
        vary: "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
      };
      if (allowOrigin !== undefined) {
        headers["access-control-allow-origin"] = allowOrigin;
        headers["access-control-allow-methods"] = corsAllowedMethods.join(", ");
        headers["access-control-allow-headers"] = corsAllowedHeaders.join(", ");
        headers["access-control-max-age"] = maxAge;
      }
      response.writeHead(204, headers);
      response.end();
      return;
    }
    if (origin !== undefined) {
      response.setHeader("vary", "Origin");
    }
    if (allowOrigin !== undefined) {
      response.setHeader("access-control-allow-origin", allowOrigin);
      response.setHeader(
        "access-control-expose-headers",
        corsExposedHeaders.join(", "),
      );
    }
    handler(request, response);
  };
}

/**
 * Returns a function that maps a request's Origin to the value of
 * Access-Control-Allow-Origin, or undefined when the origin is not allowed.
 * Origins compare case-insensitively, as scheme and host do.
 */
export function createOriginMatcher(
  allowedOrigins: readonly string[],
): (origin: string) => string | undefined {
  const patterns = allowedOrigins.map((entry) => entry.trim().toLowerCase());
  if (patterns.includes("*")) {
    return () => "*";
  }
  const exact = new Set(patterns.filter((entry) => !entry.includes("*")));
  const wildcards = patterns
    .filter((entry) => entry.includes("*"))
    .map((entry) => {
      const star = entry.indexOf("*");
      return { prefix: entry.slice(0, star), suffix: entry.slice(star + 1) };
    });
  return (origin) => {
    const normalized = origin.toLowerCase();
    if (exact.has(normalized)) {
      return origin;
    }
    const matches = wildcards.some(
      ({ prefix, suffix }) =>
        normalized.length >= prefix.length + suffix.length &&
        normalized.startsWith(prefix) &&
        normalized.endsWith(suffix),
    );
    return matches ? origin : undefined;
  };
}

function isPreflight(request: NodeRequest): boolean {
  return (
    request.method === "OPTIONS" &&
    headerValue(request, "origin") !== undefined &&
    headerValue(request, "access-control-request-method") !== undefined
  );
}

function headerValue(request: NodeRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
