import type {
  DescMessage,
  DescMethodUnary,
  DescService,
} from "@bufbuild/protobuf";

/** One REST mapping of an RPC, as a google.api.http rule declares it. */
export interface RestRoute {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /**
   * Path below the version prefix. A `{field}` segment binds one path
   * segment to the request field with that proto name. A dotted name such
   * as `{parent.id}` sets a field of a nested message.
   */
  path: string;
  /** RPC name as written in the proto, e.g. UpdateTarget. */
  rpc: string;
  /**
   * "*" parses the JSON body into the request message. Without it the
   * body is ignored and query parameters set request fields instead.
   */
  body?: "*";
  /**
   * Full name of the only service that has the RPC, e.g.
   * zitadel.action.v2.ActionService. Other services skip the route.
   */
  onlyIn?: string;
}

const ACTION_SERVICE_V2 = "zitadel.action.v2.ActionService";

/**
 * The REST paths of zitadel.action.v2.ActionService and its v2beta twin,
 * from the google.api.http options of ZITADEL's action_service.proto.
 * The gateway puts /v2 or /v2beta in front.
 */
export const actionServiceRestRoutes: readonly RestRoute[] = [
  { method: "POST", path: "/actions/targets", rpc: "CreateTarget", body: "*" },
  {
    method: "POST",
    path: "/actions/targets/{id}",
    rpc: "UpdateTarget",
    body: "*",
  },
  { method: "DELETE", path: "/actions/targets/{id}", rpc: "DeleteTarget" },
  { method: "GET", path: "/actions/targets/{id}", rpc: "GetTarget" },
  {
    method: "POST",
    path: "/actions/targets/search",
    rpc: "ListTargets",
    body: "*",
  },
  {
    method: "PUT",
    path: "/actions/executions",
    rpc: "SetExecution",
    body: "*",
  },
  {
    method: "POST",
    path: "/actions/executions/search",
    rpc: "ListExecutions",
    body: "*",
  },
  {
    method: "GET",
    path: "/actions/executions/functions",
    rpc: "ListExecutionFunctions",
  },
  {
    method: "GET",
    path: "/actions/executions/methods",
    rpc: "ListExecutionMethods",
  },
  {
    method: "GET",
    path: "/actions/executions/services",
    rpc: "ListExecutionServices",
  },
  // The public key methods exist only in v2.
  {
    method: "POST",
    path: "/actions/targets/{target_id}/publickeys",
    rpc: "AddPublicKey",
    body: "*",
    onlyIn: ACTION_SERVICE_V2,
  },
  {
    method: "POST",
    path: "/actions/targets/{target_id}/publickeys/{key_id}/activate",
    rpc: "ActivatePublicKey",
    onlyIn: ACTION_SERVICE_V2,
  },
  {
    method: "POST",
    path: "/actions/targets/{target_id}/publickeys/{key_id}/deactivate",
    rpc: "DeactivatePublicKey",
    onlyIn: ACTION_SERVICE_V2,
  },
  {
    method: "DELETE",
    path: "/actions/targets/{target_id}/publickeys/{key_id}",
    rpc: "RemovePublicKey",
    onlyIn: ACTION_SERVICE_V2,
  },
  {
    method: "POST",
    path: "/actions/targets/{target_id}/publickeys/search",
    rpc: "ListPublicKeys",
    body: "*",
    onlyIn: ACTION_SERVICE_V2,
  },
];

/** A path segment: fixed text, or a request field to bind. */
type Segment = { literal: string } | { field: string[] };

/** A route bound to a service, ready to match request paths. */
export interface CompiledRoute {
  httpMethod: RestRoute["method"];
  /** Full path template with the version prefix, for messages. */
  template: string;
  segments: readonly Segment[];
  rpc: DescMethodUnary;
  bodyIsMessage: boolean;
}

/** A route that matched, with the path variables it bound. */
export interface RouteMatch {
  route: CompiledRoute;
  /** Field path (proto names) and the decoded segment text. */
  variables: Array<{ field: string[]; value: string }>;
}

/**
 * Binds `routes` to each service under the prefix "/" + the last part of
 * its proto package, e.g. /v2 for zitadel.action.v2. Throws when a route
 * names an RPC the service does not have or one that is not unary, or a
 * path variable that is not a field of the request.
 */
export function compileRoutes(
  services: readonly DescService[],
  routes: readonly RestRoute[],
): CompiledRoute[] {
  const compiled: CompiledRoute[] = [];
  for (const service of services) {
    const prefix = `/${versionOf(service)}`;
    for (const route of routes) {
      if (route.onlyIn !== undefined && route.onlyIn !== service.typeName) {
        continue;
      }
      const rpc = service.methods.find((method) => method.name === route.rpc);
      if (rpc === undefined || rpc.methodKind !== "unary") {
        throw new Error(
          `REST route ${route.method} ${route.path}: ${service.typeName} has no unary RPC ${route.rpc}`,
        );
      }
      const template = prefix + route.path;
      const segments = parseTemplate(template);
      for (const segment of segments) {
        if ("field" in segment && !hasFieldPath(rpc.input, segment.field)) {
          throw new Error(
            `REST route ${route.method} ${template}: ${rpc.input.typeName} has no field ${segment.field.join(".")}`,
          );
        }
      }
      compiled.push({
        httpMethod: route.method,
        template,
        segments,
        rpc: rpc as DescMethodUnary,
        bodyIsMessage: route.body === "*",
      });
    }
  }
  // A fixed segment wins over a variable, so POST .../targets/search is
  // ListTargets, not UpdateTarget of a target with id "search". ZITADEL's
  // grpc-gateway gets the same result because its mux tries the latest
  // registered pattern first (runtime/mux.go, Handle), and ListTargets is
  // registered after UpdateTarget.
  return compiled.sort((a, b) => literalCount(b) - literalCount(a));
}

/** A path that routes serve, but only under other HTTP methods. */
export interface MethodMismatch {
  allowedMethods: string[];
}

/**
 * Finds the route for a request path. Returns the match, a MethodMismatch
 * when only the HTTP method differs, or undefined when no path matches.
 * Throws URIError when a path segment has an invalid percent-encoding.
 */
export function matchRoute(
  routes: readonly CompiledRoute[],
  httpMethod: string,
  path: string,
): RouteMatch | MethodMismatch | undefined {
  const parts = path.split("/");
  const allowedMethods = new Set<string>();
  for (const route of routes) {
    const variables = matchSegments(route.segments, parts);
    if (variables === undefined) {
      continue;
    }
    if (route.httpMethod !== httpMethod) {
      allowedMethods.add(route.httpMethod);
      continue;
    }
    return { route, variables };
  }
  return allowedMethods.size > 0
    ? { allowedMethods: [...allowedMethods].sort() }
    : undefined;
}

function matchSegments(
  segments: readonly Segment[],
  parts: readonly string[],
): RouteMatch["variables"] | undefined {
  if (segments.length !== parts.length) {
    return undefined;
  }
  const variables: RouteMatch["variables"] = [];
  for (const [i, segment] of segments.entries()) {
    const part = parts[i] ?? "";
    if ("literal" in segment) {
      if (segment.literal !== part) {
        return undefined;
      }
    } else {
      if (part === "") {
        return undefined;
      }
      variables.push({ field: segment.field, value: decodeURIComponent(part) });
    }
  }
  return variables;
}

function parseTemplate(template: string): Segment[] {
  return template.split("/").map((part) => {
    const variable = /^\{([a-z_][a-z0-9_.]*)\}$/i.exec(part);
    return variable?.[1] !== undefined
      ? { field: variable[1].split(".") }
      : { literal: part };
  });
}

function hasFieldPath(schema: DescMessage, path: readonly string[]): boolean {
  const [name, ...rest] = path;
  const field = schema.fields.find((candidate) => candidate.name === name);
  if (field === undefined) {
    return false;
  }
  if (rest.length === 0) {
    return field.fieldKind === "scalar" || field.fieldKind === "enum";
  }
  return field.fieldKind === "message" && hasFieldPath(field.message, rest);
}

function literalCount(route: CompiledRoute): number {
  return route.segments.filter((segment) => "literal" in segment).length;
}

function versionOf(service: DescService): string {
  const packageName = service.file.proto.package;
  return packageName.slice(packageName.lastIndexOf(".") + 1);
}
