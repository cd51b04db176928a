import { randomBytes } from "node:crypto";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  createRouterTransport,
  type Interceptor,
} from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { ActionService as ActionServiceV2 } from "../../gen/zitadel/action/v2/action_service_pb.js";
import { ActionService as ActionServiceV2beta } from "../../gen/zitadel/action/v2beta/action_service_pb.js";
import {
  asV2betaService,
  createActionService,
} from "../../src/api/action-service.js";
import { createRegistry } from "../../src/execution/registry.js";
import {
  createHealthService,
  createHealthzHandler,
  createReflectionServices,
  createRestGateway,
  type HealthService,
  withCors,
} from "../../src/http/index.js";
import { createDualProtocolServer } from "../../src/http-server.js";
import { createIdGenerator } from "../../src/id-generator.js";
import { createLogger, loggingInterceptor } from "../../src/logger.js";
import { createSecretBox } from "../../src/secret-box.js";
import {
  createExecutionRepository,
  createPublicKeyRepository,
  createTargetRepository,
  openDatabase,
} from "../../src/storage/index.js";

/** The procedure and request headers of one RPC, as an interceptor saw them. */
export interface RecordedCall {
  procedure: string;
  authorization: string | null;
  orgId: string | null;
  requestId: string | null;
  forwardedFor: string | null;
  origin: string | null;
}

/** A server built from the src/http modules, as server.ts assembles them. */
export interface HttpTestServer {
  baseUrl: string;
  port: number;
  health: HealthService;
  /** Every RPC that passed the interceptors, REST calls included. */
  calls: RecordedCall[];
  stop(): Promise<void>;
}

/** The authorization value that the test interceptor rejects. */
export const rejectedToken = "Bearer rejected";

/** Options of startHttpTestServer. */
export interface HttpTestServerOptions {
  allowedOrigins?: readonly string[];
  /** Leaves the health status at NOT_SERVING after start. */
  notServing?: boolean;
}

/**
 * Starts the ActionService (v2 and v2beta) on an in-memory database with
 * reflection, health, CORS, /healthz and the REST gateway, on 127.0.0.1
 * and a free port. The REST gateway calls through a router transport with
 * the same interceptors as the RPC handlers: the logging interceptor and a
 * recording one that rejects the token in `rejectedToken`.
 */
export async function startHttpTestServer(
  options: HttpTestServerOptions = {},
): Promise<HttpTestServer> {
  const database = openDatabase(":memory:");
  const targets = createTargetRepository(
    database,
    createSecretBox(randomBytes(32)),
  );
  const executions = createExecutionRepository(database);
  const registry = createRegistry({
    services: [ActionServiceV2, ActionServiceV2beta],
    functions: ["preuserinfo"],
  });
  const actionService = createActionService({
    database,
    targets,
    executions,
    publicKeys: createPublicKeyRepository(database),
    registry,
    newId: createIdGenerator(1),
    maxTargetsPerExecution: 20,
  });

  const calls: RecordedCall[] = [];
  const recorder: Interceptor = (next) => async (request) => {
    const header = request.header;
    calls.push({
      procedure: `/${request.service.typeName}/${request.method.name}`,
      authorization: header.get("authorization"),
      orgId: header.get("x-zitadel-orgid"),
      requestId: header.get("x-request-id"),
      forwardedFor: header.get("x-forwarded-for"),
      origin: header.get("origin"),
    });
    if (header.get("authorization") === rejectedToken) {
      throw new ConnectError("token rejected", Code.Unauthenticated);
    }
    return next(request);
  };
  const interceptors = [loggingInterceptor(createLogger("silent")), recorder];

  const health = createHealthService({
    services: [ActionServiceV2.typeName, ActionServiceV2beta.typeName],
  });
  const reflection = createReflectionServices([
    ActionServiceV2,
    ActionServiceV2beta,
    Health,
  ]);
  const routes = (router: ConnectRouter) => {
    router.service(ActionServiceV2, actionService);
    router.service(ActionServiceV2beta, asV2betaService(actionService));
    router.service(health.service, health.implementation);
    for (const served of reflection) {
      router.service(served.service, served.implementation);
    }
  };
  const restGateway = createRestGateway({
    services: [ActionServiceV2, ActionServiceV2beta],
    transport: createRouterTransport(routes, { router: { interceptors } }),
  });
  const healthz = createHealthzHandler(health);
  const handler = connectNodeAdapter({
    routes,
    interceptors,
    fallback(request, response) {
      if (restGateway(request, response) || healthz(request, response)) {
        return;
      }
      response.writeHead(404, { "content-type": "text/plain" });
      response.end("not found\n");
    },
  });
  const http = createDualProtocolServer(
    withCors(handler, { allowedOrigins: options.allowedOrigins ?? [] }),
  );
  const address = await http.listen(0, "127.0.0.1");
  if (!options.notServing) {
    health.setServing();
  }
  return {
    baseUrl: `http://127.0.0.1:${address.port}`,
    port: address.port,
    health,
    calls,
    async stop() {
      health.setNotServing();
      health.close();
      await http.close(2000);
      database.close();
    },
  };
}
