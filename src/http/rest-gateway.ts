import {
  createRegistry,
  type DescMessage,
  type DescService,
  fromJson,
  type JsonObject,
  type JsonValue,
  type MessageShape,
  mergeFromJson,
  type Registry,
  ScalarType,
  toJson,
} from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type Transport,
  type UnaryResponse,
} from "@connectrpc/connect";
import { file_zitadel_message } from "../../gen/zitadel/message_pb.js";
import type { Logger } from "../logger.js";
import { errorToJson, httpStatusFromCode } from "./rest-errors.js";
import {
  actionServiceRestRoutes,
  type CompiledRoute,
  compileRoutes,
  matchRoute,
  type RestRoute,
  type RouteMatch,
} from "./rest-routes.js";
import type { NodeRequest, NodeResponse, PathHandler } from "./types.js";

/**
 * Request headers the gateway passes on to the RPC. x-forwarded-for gets
 * the client's address appended, as a proxy would add it.
 */
export const restForwardedHeaders: readonly string[] = [
  "authorization",
  "x-zitadel-orgid",
  "x-request-id",
  "x-forwarded-for",
  "origin",
];

/** Options of createRestGateway. */
export interface RestGatewayOptions {
  /**
   * Services to expose, e.g. the v2 and v2beta ActionService. Each one's
   * routes sit under "/" + the last part of its proto package, e.g. /v2.
   */
  services: readonly DescService[];
  /**
   * Transport for the RPC calls. It must reach the server's own handlers
   * through the server's interceptors, so that REST calls are
   * authenticated, logged and run executions like any other RPC.
   */
  transport: Transport;
  /** Routes shared by every service. Defaults to actionServiceRestRoutes. */
  routes?: readonly RestRoute[];
  /** Maximum request body size in bytes. Defaults to 4 MiB. */
  maxBodyBytes?: number;
  /**
   * Message types that error details may carry, for rendering them as
   * JSON. The services' files and zitadel.v1.ErrorDetail are always in.
   */
  registry?: Registry;
  /**
   * Logger for failures of the gateway itself, which the client only sees
   * as an opaque Internal error. RPC errors are left to the interceptors.
   */
  logger?: Logger;
}

/**
 * Creates a handler for the REST paths of `services`, in the manner of
 * ZITADEL's grpc-gateway: the JSON body and path variables become the
 * request message, the RPC is called through `transport`, and the
 * response message is returned as JSON.
 *
 * - JSON is read and written with protojson rules. Unknown body fields
 *   are ignored, and path variables win over body fields of the same name.
 * - Errors are the JSON form of google.rpc.Status, `{ code, message,
 *   details }`, with the HTTP status that google/rpc/code.proto gives the
 *   gRPC code (NotFound 404, InvalidArgument 400 and so on). A body that is
 *   not JSON, or not the request message, is 400 with code 3. A body
 *   over maxBodyBytes is 413 with code 8.
 * - A path that exists under another HTTP method gets 405. Paths that no
 *   route matches are not taken, so the caller's next handler serves them.
 */
export function createRestGateway(options: RestGatewayOptions): PathHandler {
  const routes = compileRoutes(
    options.services,
    options.routes ?? actionServiceRestRoutes,
  );
  const context: GatewayContext = {
    transport: options.transport,
    logger: options.logger,
    maxBodyBytes: options.maxBodyBytes ?? 4 * 1024 * 1024,
    registry: createRegistry(
      file_zitadel_message,
      ...options.services.map((service) => service.file),
      ...(options.registry ? [options.registry] : []),
    ),
  };
  return (request, response) => {
    const path = (request.url ?? "/").split("?")[0] ?? "/";
    let match: ReturnType<typeof matchRoute>;
    try {
      match = matchRoute(routes, request.method ?? "GET", path);
    } catch (error) {
      if (!(error instanceof URIError) || !isGatewayPath(routes, path)) {
        return false;
      }
      sendError(
        response,
        new ConnectError(
          `invalid percent-encoding in path ${path}`,
          Code.InvalidArgument,
        ),
        context.registry,
      );
      return true;
    }
    if (match === undefined) {
      return false;
    }
    if ("allowedMethods" in match) {
      // grpc-gateway sends code Unimplemented here too, with HTTP 501
      // (runtime/mux.go, ServeHTTP). 405 names the problem exactly.
      const allowed = match.allowedMethods.join(", ");
      response.setHeader("allow", allowed);
      sendJson(response, 405, {
        code: Code.Unimplemented,
        message: `method ${request.method} is not allowed on ${path}; use ${allowed}`,
        details: [],
      });
      return true;
    }
    serve(context, match, request, response).catch((error: unknown) => {
      if (error instanceof ConnectError) {
        sendError(response, error, context.registry);
        return;
      }
      context.logger?.error(
        { err: error, method: request.method, path },
        "REST gateway failed",
      );
      sendJson(response, 500, {
        code: Code.Internal,
        message: "internal error",
        details: [],
      });
    });
    return true;
  };
}

interface GatewayContext {
  transport: Transport;
  logger: Logger | undefined;
  maxBodyBytes: number;
  registry: Registry;
}

async function serve(
  context: GatewayContext,
  match: RouteMatch,
  request: NodeRequest,
  response: NodeResponse,
): Promise<void> {
  const { route } = match;
  let input: MessageShape<DescMessage>;
  if (route.bodyIsMessage) {
    const body = await readBody(request, context.maxBodyBytes);
    if (body === undefined) {
      // The rest of the body stays unread, so HTTP/1.1 cannot reuse the
      // connection.
      if (request.httpVersionMajor === 1) {
        response.setHeader("connection", "close");
      }
      sendJson(response, 413, {
        code: Code.ResourceExhausted,
        message: `request body exceeds the limit of ${context.maxBodyBytes} bytes`,
        details: [],
      });
      return;
    }
    input = messageFromBody(route.rpc.input, body);
  } else {
    input = messageFromQuery(route.rpc.input, request.url ?? "");
  }
  setPathVariables(route.rpc.input, input, match.variables);

  const abort = new AbortController();
  response.once("close", () => abort.abort());
  let result: UnaryResponse<DescMessage, DescMessage>;
  try {
    result = await context.transport.unary(
      route.rpc,
      abort.signal,
      undefined,
      forwardedHeaders(request),
      input,
    );
  } catch (error) {
    sendError(response, ConnectError.from(error), context.registry);
    return;
  }
  const json = toJson(route.rpc.output, result.message, {
    registry: context.registry,
  });
  sendJson(response, 200, json, result.header.get("x-request-id"));
}

// Builds the request message from a JSON body. An empty body is the empty
// message.
function messageFromBody<Desc extends DescMessage>(
  schema: Desc,
  body: string,
): MessageShape<Desc> {
  let json: JsonValue = {};
  if (body.trim() !== "") {
    try {
      json = JSON.parse(body) as JsonValue;
    } catch (error) {
      throw new ConnectError(
        `invalid JSON body: ${(error as Error).message}`,
        Code.InvalidArgument,
      );
    }
  }
  try {
    return fromJson(schema, json, { ignoreUnknownFields: true });
  } catch (error) {
    throw new ConnectError(
      `invalid ${schema.typeName} in body: ${(error as Error).message}`,
      Code.InvalidArgument,
    );
  }
}

/**
 * Builds the request message from the query parameters of a route without
 * a body: `?field=value`, with dotted proto or JSON names for nested
 * fields and a repeated key for each list element. Unknown names are
 * ignored.
 */
function messageFromQuery<Desc extends DescMessage>(
  schema: Desc,
  url: string,
): MessageShape<Desc> {
  const query = new URLSearchParams(url.split("?")[1] ?? "");
  const json: JsonObject = {};
  for (const [key, value] of query) {
    addQueryValue(schema, json, key.split("."), value);
  }
  try {
    return fromJson(schema, json, { ignoreUnknownFields: true });
  } catch (error) {
    throw new ConnectError(
      `invalid query parameters for ${schema.typeName}: ${(error as Error).message}`,
      Code.InvalidArgument,
    );
  }
}

function addQueryValue(
  schema: DescMessage,
  target: JsonObject,
  path: readonly string[],
  value: string,
): void {
  const [name, ...rest] = path;
  const field = schema.fields.find(
    (candidate) => candidate.name === name || candidate.jsonName === name,
  );
  if (field === undefined) {
    return;
  }
  if (rest.length > 0) {
    if (field.fieldKind !== "message") {
      return;
    }
    const nested = target[field.jsonName];
    const child: JsonObject =
      typeof nested === "object" && nested !== null && !Array.isArray(nested)
        ? nested
        : {};
    target[field.jsonName] = child;
    addQueryValue(field.message, child, rest, value);
    return;
  }
  const converted = queryScalar(field, value);
  if (field.fieldKind === "list") {
    const list = target[field.jsonName];
    target[field.jsonName] = Array.isArray(list)
      ? [...list, converted]
      : [converted];
  } else {
    target[field.jsonName] = converted;
  }
}

// Query values are text. protojson accepts text for numbers and for
// message types such as Duration, but needs JSON booleans, and enum
// numbers as JSON numbers.
function queryScalar(
  field: DescMessage["fields"][number],
  value: string,
): JsonValue {
  const isBool =
    (field.fieldKind === "scalar" || field.fieldKind === "list") &&
    field.scalar === ScalarType.BOOL;
  if (isBool && (value === "true" || value === "false")) {
    return value === "true";
  }
  const isEnum =
    field.fieldKind === "enum" ||
    (field.fieldKind === "list" && field.listKind === "enum");
  if (isEnum && /^-?\d+$/.test(value)) {
    return Number(value);
  }
  return value;
}

function setPathVariables<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>,
  variables: RouteMatch["variables"],
): void {
  for (const { field, value } of variables) {
    const json: JsonObject = {};
    addQueryValue(schema, json, field, value);
    try {
      mergeFromJson(schema, message, json);
    } catch (error) {
      throw new ConnectError(
        `invalid path variable ${field.join(".")}: ${(error as Error).message}`,
        Code.InvalidArgument,
      );
    }
  }
}

// Returns the body as text, or undefined when it is larger than maxBytes.
// An oversized body is left unread and paused, rather than destroyed, so
// that the 413 response can still be written.
function readBody(
  request: NodeRequest,
  maxBytes: number,
): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      request.off("data", onData);
      request.off("end", onEnd);
      request.off("error", onError);
    };
    const onData = (chunk: Buffer | string) => {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      size += bytes.length;
      if (size > maxBytes) {
        cleanup();
        request.pause();
        resolve(undefined);
        return;
      }
      chunks.push(bytes);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks).toString("utf8"));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    request.on("data", onData);
    request.on("end", onEnd);
    request.on("error", onError);
  });
}

function forwardedHeaders(request: NodeRequest): Headers {
  const headers = new Headers();
  for (const name of restForwardedHeaders) {
    const value = request.headers[name];
    if (typeof value === "string") {
      headers.set(name, value);
    } else if (Array.isArray(value)) {
      headers.set(name, value.join(", "));
    }
  }
  const peer = request.socket?.remoteAddress;
  if (peer !== undefined) {
    const forwardedFor = headers.get("x-forwarded-for");
    headers.set(
      "x-forwarded-for",
      forwardedFor ? `${forwardedFor}, ${peer}` : peer,
    );
  }
  return headers;
}

function sendError(
  response: NodeResponse,
  error: ConnectError,
  registry: Registry,
): void {
  sendJson(
    response,
    httpStatusFromCode(error.code),
    errorToJson(error, registry),
    error.metadata.get("x-request-id"),
  );
}

function sendJson(
  response: NodeResponse,
  status: number,
  body: JsonValue,
  requestId?: string | null,
): void {
  if (response.headersSent) {
    response.end();
    return;
  }
  const headers: Record<string, string> = {
    "content-type": "application/json",
  };
  if (requestId) {
    headers["x-request-id"] = requestId;
  }
  response.writeHead(status, headers);
  response.end(JSON.stringify(body));
}

// True when `path` starts with a version prefix the gateway serves, so a
// malformed path below it gets a JSON error instead of the fallback 404.
function isGatewayPath(
  routes: readonly CompiledRoute[],
  path: string,
): boolean {
  return routes.some((route) => {
    const prefix = route.template.split("/").slice(0, 2).join("/");
    return path.startsWith(`${prefix}/`);
  });
}
