import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { DescService, JsonObject } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  createRouterTransport,
  type Interceptor,
  type ServiceImpl,
} from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { JWK } from "jose";
import { Registry as MetricsRegistry } from "prom-client";
import { DeliveryService } from "../gen/actions/v1/delivery_service_pb.js";
import { Health } from "../gen/grpc/health/v1/health_pb.js";
import { ActionService as ActionServiceV2 } from "../gen/zitadel/action/v2/action_service_pb.js";
import { ActionService as ActionServiceV2beta } from "../gen/zitadel/action/v2beta/action_service_pb.js";
import { asV2betaService, createActionService } from "./api/action-service.js";
import { type Authenticator, createAuth } from "./auth/index.js";
import type { CallerIdentity } from "./caller-context.js";
import type { Config } from "./config.js";
import { ActionsError } from "./errors.js";
import {
  createEventOutbox,
  createFunctionRunner,
  deliveryServicePermissions,
  type EventEmitter,
  type EventOutbox,
  type FunctionRunner,
} from "./events/index.js";
import { executionInterceptor } from "./execution/execution-interceptor.js";
import { loadOrCreateInstanceSigningKey } from "./execution/instance-signing-key.js";
import {
  createPayloadEncoder,
  withPayloadEncoding,
} from "./execution/payload-encoder.js";
import { createRegistry, type Registry } from "./execution/registry.js";
import {
  createRouterSource,
  type RouterSource,
  routedTarget,
} from "./execution/router-source.js";
import {
  createTargetRunner,
  type TargetRunner,
} from "./execution/target-runner.js";
import { withGrpcMessageEncoding } from "./grpc-message.js";
import {
  createHealthService,
  createHealthzHandler,
  createJwksHandler,
  createReflectionServices,
  createRejectedRequestLog,
  createRestGateway,
  type RejectedRequestLog,
  withCors,
  withEarlyResponseReset,
} from "./http/index.js";
import { createDualProtocolServer } from "./http-server.js";
import { createIdGenerator, type IdGenerator } from "./id-generator.js";
import { createLogger, type Logger, loggingInterceptor } from "./logger.js";
import {
  createSecretBox,
  loadOrCreateKeyFile,
  parseMasterKey,
} from "./secret-box.js";
import {
  createExecutionRepository,
  createHostStore,
  createInstanceSigningKeyRepository,
  createPublicKeyRepository,
  createRoutingReader,
  createTargetRepository,
  type Database,
  type HostStore,
  openDatabase,
} from "./storage/index.js";
import {
  createEgressPolicy,
  createTargetCaller,
  createTargetMetrics,
  EgressDeniedError,
  type EgressResolver,
  type TargetCaller,
} from "./target/index.js";

export type { HostMigration, HostStore, SqlValue } from "./storage/index.js";

/**
 * A service of the host application, served next to the ActionService.
 * Create it with hostService(), which checks the implementation against
 * the service's methods.
 */
export interface HostService {
  readonly service: DescService;
  readonly implementation: Partial<ServiceImpl<DescService>>;
}

/** Pairs a service descriptor with its typed implementation. */
export function hostService<S extends DescService>(
  service: S,
  implementation: Partial<ServiceImpl<S>>,
): HostService {
  // ServiceImpl<S> is checked here; the router only needs the pair.
  return {
    service,
    implementation: implementation as Partial<ServiceImpl<DescService>>,
  };
}

/** Services and helpers the server passes to host services. */
export interface HostContext {
  /** SQL access to the service's database, with transactions. */
  store: HostStore;
  /** Generates ZITADEL-style decimal ids that sort by creation time. */
  newId: IdGenerator;
  logger: Logger;
  /**
   * Appends events for event executions. Call emit inside
   * store.transaction, so the event commits or rolls back with the change
   * it describes.
   */
  events: EventEmitter;
  /** Runs function executions, such as preuserinfo. */
  functions: FunctionRunner;
}

/**
 * A plain HTTP route of the host, such as an OIDC userinfo endpoint. The
 * caller authenticates with the same bearer tokens as the RPCs.
 */
export interface HostHttpRoute {
  /** Exact path, e.g. "/oidc/v1/userinfo"; GET and POST are accepted. */
  path: string;
  /** Returns the JSON body of a 200 response for the authenticated caller. */
  handle(caller: CallerIdentity, signal: AbortSignal): Promise<JsonObject>;
}

/** Options of createActionsServer. */
export interface ActionsServerOptions {
  config: Config;
  /**
   * Host services; their unary methods can carry executions. A function
   * receives the host context, for services that store data.
   */
  services?:
    | readonly HostService[]
    | ((host: HostContext) => readonly HostService[]);
  /** Plain HTTP routes of the host, served next to the RPCs. */
  httpRoutes?: (host: HostContext) => readonly HostHttpRoute[];
  /** Function names that function executions may use. */
  functions?: readonly string[];
  /** Event types that event executions may use. */
  eventTypes?: readonly string[];
  /** Logger; by default a pino logger at config.logLevel. */
  logger?: Logger;
  /** Resolver for target host names; by default the system resolver. */
  resolve?: EgressResolver;
  /**
   * Required permission of host methods by full method, for example
   * { "/zitadel.user.v2.UserService/LockUser": "user.write" }. Methods
   * without an entry need only a valid token.
   */
  permissions?: Readonly<Record<string, string>>;
  /**
   * Run request and response executions around RPCs. Default: true. Turning
   * it off gives the bare server that benchmarks compare against.
   */
  executionEngine?: boolean;
}

/** A running or ready-to-start actions server. */
export interface ActionsServer {
  readonly registry: Registry;
  readonly logger: Logger;
  readonly database: Database;
  readonly router: RouterSource;
  readonly runner: TargetRunner;
  readonly metrics: MetricsRegistry;
  /** Event emitter, dispatcher and delivery log. */
  readonly events: EventOutbox;
  /** Starts listening; resolves with the bound address. */
  listen(): Promise<AddressInfo>;
  /**
   * Stops accepting calls, waits for in-flight calls and async target calls
   * up to the configured shutdown timeout, then closes the database. Safe
   * to call twice.
   */
  close(): Promise<void>;
}

/**
 * Assembles the service: opens the database, builds the registry and serves
 * the ActionService (v2 and v2beta) and the host services on one port over
 * gRPC, gRPC-web and Connect. The same port serves gRPC health and
 * reflection, ZITADEL's REST paths, CORS, /metrics and /healthz.
 *
 * Interceptors, outermost first: logging (one line per RPC, which also maps
 * errors to the client's code), authentication and permissions, then
 * executions (request targets, handler,
 * response targets). Validation runs inside the handlers, so it checks the
 * request as request targets left it.
 */
export function createActionsServer(
  options: ActionsServerOptions,
): ActionsServer {
  const { config } = options;
  const logger = options.logger ?? createLogger(config.logLevel);
  // Settings that need no file are checked first, then auth, so that a
  // configuration error fails before the admin token file is written or
  // the database opens.
  const newId = createIdGenerator(config.machineId);
  const givenMasterKey =
    config.masterKey === undefined
      ? undefined
      : parseMasterKey(config.masterKey);
  const auth = createAuth(config, {
    permissions: { ...deliveryServicePermissions, ...options.permissions },
    logger,
  });
  const database = openDatabase(config.databasePath);
  const masterKey =
    givenMasterKey ?? loadOrCreateKeyFile(join(config.dataDir, "master.key"));
  const secretBox = createSecretBox(masterKey);
  const targets = createTargetRepository(database, secretBox);
  const executions = createExecutionRepository(database);
  const publicKeys = createPublicKeyRepository(database);
  const router = createRouterSource(createRoutingReader(database, secretBox));

  const metrics = new MetricsRegistry();
  const egress = createEgressPolicy({
    allow: config.egressAllow,
    resolve: options.resolve,
  });
  // JWT and JWE bodies are signed with the instance key, which is created
  // on the first start and published at /oauth/v2/keys.
  const signingKeys = createInstanceSigningKeyRepository(database, secretBox);
  const signingKey = loadOrCreateInstanceSigningKey(signingKeys, newId);
  const payloadEncoder = createPayloadEncoder({
    signingKey,
    activeKey: (targetId) => publicKeys.activeKey(targetId, Date.now()),
  });
  const caller: TargetCaller = withPayloadEncoding(
    createTargetCaller({
      egress,
      maxResponseBytes: config.maxTargetResponseBytes,
      maxConcurrentPerTarget: config.maxConcurrentCallsPerTarget,
      metrics: createTargetMetrics(metrics),
    }),
    payloadEncoder,
  );
  const runner = createTargetRunner({
    caller,
    logger,
    maxConcurrentAsync: config.maxConcurrentAsyncCalls,
  });

  const events = createEventOutbox({
    database,
    router,
    eventTypes: options.eventTypes ?? [],
    newId,
    instanceId: config.instanceId,
    caller,
    logger,
    loadTargets: (ids) =>
      new Map(
        targets.byIds(ids).map((record) => [record.id, routedTarget(record)]),
      ),
    retrySchedule: config.eventRetrySchedule,
    leaseMs: config.eventLeaseMs,
    pollIntervalMs: config.eventPollIntervalMs,
    concurrency: config.eventConcurrency,
    retentionMs: config.eventRetentionMs,
    pruneIntervalMs: config.eventPruneIntervalMs,
  });
  const host: HostContext = {
    store: createHostStore(database),
    newId,
    logger,
    events: events.emitter,
    functions: createFunctionRunner({
      router,
      runner,
      functions: options.functions ?? [],
    }),
  };
  const hostServices =
    typeof options.services === "function"
      ? options.services(host)
      : (options.services ?? []);
  const registry = createRegistry({
    services: [
      ActionServiceV2,
      ActionServiceV2beta,
      ...hostServices.map((s) => s.service),
    ],
    functions: options.functions,
    eventTypes: options.eventTypes,
  });

  const actionService = createActionService({
    database,
    targets,
    executions,
    publicKeys,
    registry,
    newId,
    maxTargetsPerExecution: config.maxTargetsPerExecution,
    checkEndpoint(endpoint) {
      try {
        egress.checkEndpoint(endpoint);
        return undefined;
      } catch (error) {
        if (error instanceof EgressDeniedError) {
          return error.message;
        }
        throw error;
      }
    },
    onExecutionChanged: (executionId) => router.executionChanged(executionId),
    onTargetChanged: (targetId) => router.targetChanged(targetId),
  });

  // Health, reflection and the delivery log never run executions. The
  // ActionService runs them only when configured, so a broken target on
  // "all" cannot lock operators out.
  const exemptServices = new Set([
    Health.typeName,
    DeliveryService.typeName,
    ...(config.executeManagementApi
      ? []
      : [ActionServiceV2.typeName, ActionServiceV2beta.typeName]),
  ]);
  const interceptors: Interceptor[] = [
    loggingInterceptor(logger),
    auth.interceptor,
  ];
  if (options.executionEngine !== false) {
    interceptors.push(
      executionInterceptor({
        router,
        runner,
        instanceId: config.instanceId,
        exemptServices,
      }),
    );
  }
  const servedServices = [
    ActionServiceV2,
    ActionServiceV2beta,
    ...hostServices.map((hostService) => hostService.service),
  ];
  const health = createHealthService({
    services: servedServices.map((service) => service.typeName),
  });
  const reflection = createReflectionServices([
    ...servedServices,
    DeliveryService,
    Health,
  ]);
  const routes = (connectRouter: ConnectRouter) => {
    connectRouter.service(ActionServiceV2, actionService);
    connectRouter.service(ActionServiceV2beta, asV2betaService(actionService));
    for (const hostService of hostServices) {
      connectRouter.service(hostService.service, hostService.implementation);
    }
    connectRouter.service(DeliveryService, events.service);
    connectRouter.service(health.service, health.implementation);
    for (const served of reflection) {
      connectRouter.service(served.service, served.implementation);
    }
  };
  // REST calls go in-process through a second router with the same routes
  // and interceptors, so they are authenticated, logged and run executions.
  const restGateway = createRestGateway({
    services: [ActionServiceV2, ActionServiceV2beta],
    transport: createRouterTransport(routes, {
      router: { interceptors, readMaxBytes: config.maxRequestBytes },
    }),
    maxBodyBytes: config.maxRequestBytes,
    logger,
  });
  const healthz = createHealthzHandler(health);
  const jwks = createJwksHandler(
    signingKeys.list().map((key) => JSON.parse(key.publicJwk) as JWK),
  );
  const hostRoutes = new Map(
    (options.httpRoutes?.(host) ?? []).map((route) => [route.path, route]),
  );
  const rejected = createRejectedRequestLog(logger);
  const handler = connectNodeAdapter({
    routes,
    interceptors,
    readMaxBytes: config.maxRequestBytes,
    contextValues: rejected.contextValues,
    fallback(request, response) {
      if (
        restGateway(request, response) ||
        healthz(request, response) ||
        jwks(request, response)
      ) {
        return;
      }
      const route = hostRoutes.get((request.url ?? "").split("?")[0] ?? "");
      if (route !== undefined) {
        serveHostRoute(route, auth.authenticate, request, response, logger);
        return;
      }
      serveFallback(request, response, metrics, rejected);
    },
  });
  const http = createDualProtocolServer(
    withEarlyResponseReset(
      withGrpcMessageEncoding(
        withCors(rejected.track(handler), {
          allowedOrigins: config.corsAllowedOrigins,
        }),
      ),
    ),
  );

  let closing: Promise<void> | undefined;
  return {
    registry,
    logger,
    database,
    router,
    runner,
    metrics,
    events,
    async listen() {
      const address = await http.listen(config.port, config.host);
      health.setServing();
      if (config.eventDispatcher) {
        events.dispatcher.start();
      }
      logger.info(
        {
          host: address.address,
          port: address.port,
          database: config.databasePath,
        },
        "server listening",
      );
      return address;
    },
    close() {
      closing ??= (async () => {
        logger.info("server stopping");
        health.setNotServing();
        health.close();
        await http.close(config.shutdownTimeoutMs);
        await events.dispatcher.stop(config.shutdownTimeoutMs);
        await Promise.race([
          runner.drain(),
          new Promise((resolve) =>
            setTimeout(resolve, config.shutdownTimeoutMs).unref(),
          ),
        ]);
        await caller.close();
        database.close();
        logger.info("server stopped");
      })();
      return closing;
    },
  };
}

// Plain HTTP routes next to the RPCs: Prometheus metrics, and 404 for
// everything else.
function serveFallback(
  request: { method?: string; url?: string },
  response: {
    writeHead(status: number, headers: Record<string, string>): unknown;
    end(body: string): unknown;
  },
  metrics: MetricsRegistry,
  rejected: RejectedRequestLog,
): void {
  const path = (request.url ?? "").split("?")[0];
  if (request.method === "GET" && path === "/metrics") {
    metrics.metrics().then(
      (text) => {
        response.writeHead(200, { "content-type": metrics.contentType });
        response.end(text);
      },
      () => {
        response.writeHead(500, { "content-type": "text/plain" });
        response.end("metrics unavailable\n");
      },
    );
    return;
  }
  rejected.notFound(request, 404);
  response.writeHead(404, { "content-type": "text/plain" });
  response.end("not found\n");
}

// Serves a host route with OAuth-style errors, as OIDC endpoints return them:
// 401 for a missing or invalid token or an unknown user, 400 for other
// client errors and 500 for the rest, which is logged.
function serveHostRoute(
  route: HostHttpRoute,
  authenticate: Authenticator,
  request: { method?: string; headers: Record<string, unknown> },
  response: {
    writeHead(status: number, headers: Record<string, string>): unknown;
    end(body: string): unknown;
    once(event: "close", listener: () => void): unknown;
  },
  logger: Logger,
): void {
  const send = (status: number, body: unknown, headers = {}) => {
    response.writeHead(status, {
      "content-type": "application/json",
      "cache-control": "no-store",
      ...headers,
    });
    response.end(JSON.stringify(body));
  };
  if (request.method !== "GET" && request.method !== "POST") {
    send(405, { error: "invalid_request" }, { allow: "GET, POST" });
    return;
  }
  const aborted = new AbortController();
  response.once("close", () => aborted.abort());
  const header = request.headers.authorization;
  authenticate(typeof header === "string" ? header : undefined)
    .then(
      (caller) =>
        route.handle(caller, aborted.signal).then((body) => send(200, body)),
      () =>
        send(
          401,
          { error: "invalid_token", error_description: "access token invalid" },
          { "www-authenticate": 'Bearer error="invalid_token"' },
        ),
    )
    .catch((error: unknown) => {
      const code =
        error instanceof ActionsError
          ? error.code
          : ConnectError.from(error).code;
      if (error instanceof ActionsError && code === Code.NotFound) {
        send(401, {
          error: "invalid_token",
          error_description: "no active user",
        });
      } else if (error instanceof ActionsError && code !== Code.Internal) {
        send(400, {
          error: "invalid_request",
          error_description: error.message,
        });
      } else {
        logger.error({ err: error, path: route.path }, "host route failed");
        send(500, { error: "server_error" });
      }
    });
}
