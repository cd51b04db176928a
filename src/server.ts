import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { DescService } from "@bufbuild/protobuf";
import type {
  ConnectRouter,
  Interceptor,
  ServiceImpl,
} from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { ActionService as ActionServiceV2 } from "../gen/zitadel/action/v2/action_service_pb.js";
import { ActionService as ActionServiceV2beta } from "../gen/zitadel/action/v2beta/action_service_pb.js";
import { asV2betaService, createActionService } from "./api/action-service.js";
import type { Config } from "./config.js";
import { createRegistry, type Registry } from "./execution/registry.js";
import { createDualProtocolServer } from "./http-server.js";
import { createIdGenerator } from "./id-generator.js";
import { createLogger, type Logger, loggingInterceptor } from "./logger.js";
import {
  createSecretBox,
  loadOrCreateKeyFile,
  parseMasterKey,
} from "./secret-box.js";
import {
  createExecutionRepository,
  createTargetRepository,
  type Database,
  openDatabase,
} from "./storage/index.js";

/** A service of the host application, served next to the ActionService. */
export interface HostService<S extends DescService = DescService> {
  service: S;
  implementation: Partial<ServiceImpl<S>>;
}

/** Options of createActionsServer. */
export interface ActionsServerOptions {
  config: Config;
  /** Host services; their unary methods can carry executions. */
  services?: readonly HostService[];
  /** Function names that function executions may use. */
  functions?: readonly string[];
  /** Event types that event executions may use. */
  eventTypes?: readonly string[];
  /** Logger; by default a pino logger at config.logLevel. */
  logger?: Logger;
}

/** A running or ready-to-start actions server. */
export interface ActionsServer {
  readonly registry: Registry;
  readonly logger: Logger;
  readonly database: Database;
  /** Starts listening; resolves with the bound address. */
  listen(): Promise<AddressInfo>;
  /**
   * Stops accepting calls, waits for in-flight calls up to the configured
   * shutdown timeout, then closes the database. Safe to call twice.
   */
  close(): Promise<void>;
}

/**
 * Assembles the service: opens the database, builds the registry and serves
 * the ActionService (v2 and v2beta) and the host services on one port over
 * gRPC, gRPC-web and Connect.
 *
 * Interceptors, outermost first: logging (one line per RPC, and the error
 * mapping to the client's code), then the handler. Validation runs inside
 * the handlers, so it sees the request as request targets left it.
 */
export function createActionsServer(
  options: ActionsServerOptions,
): ActionsServer {
  const { config } = options;
  const logger = options.logger ?? createLogger(config.logLevel);
  const database = openDatabase(config.databasePath);
  const masterKey =
    config.masterKey === undefined
      ? loadOrCreateKeyFile(join(config.dataDir, "master.key"))
      : parseMasterKey(config.masterKey);
  const secretBox = createSecretBox(masterKey);
  const targets = createTargetRepository(database, secretBox);
  const executions = createExecutionRepository(database);

  const hostServices = options.services ?? [];
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
    registry,
    newId: createIdGenerator(config.machineId),
    maxTargetsPerExecution: config.maxTargetsPerExecution,
  });

  const interceptors: Interceptor[] = [loggingInterceptor(logger)];
  const routes = (router: ConnectRouter) => {
    router.service(ActionServiceV2, actionService);
    router.service(ActionServiceV2beta, asV2betaService(actionService));
    for (const host of hostServices) {
      router.service(host.service, host.implementation);
    }
  };
  const handler = connectNodeAdapter({
    routes,
    interceptors,
    readMaxBytes: config.maxRequestBytes,
  });
  const http = createDualProtocolServer(handler);

  let closing: Promise<void> | undefined;
  return {
    registry,
    logger,
    database,
    async listen() {
      const address = await http.listen(config.port, config.host);
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
        await http.close(config.shutdownTimeoutMs);
        database.close();
        logger.info("server stopped");
      })();
      return closing;
    },
  };
}
