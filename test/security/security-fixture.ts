import { type AddressInfo, createServer } from "node:net";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { pino } from "pino";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { ServerReflection } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import type { CreateTargetRequestSchema } from "../../gen/zitadel/action/v2/action_service_pb.js";
import type { ConditionSchema } from "../../gen/zitadel/action/v2/execution_pb.js";
import type { AddHumanUserRequestSchema } from "../../gen/zitadel/user/v2/user_service_pb.js";
import { createLogger, type Logger } from "../../src/logger.js";
import { createSampleUserService } from "../../src/sample/index.js";
import type { HostService } from "../../src/server.js";
import {
  startTestServer,
  type TestServer,
  type TestServerOptions,
} from "../support/start-server.js";

/** Static admin token of the security servers: 40 characters. */
export const ADMIN_TOKEN = "security-admin-token-0123456789abcdefghij";

/** Static token with the two read permissions: 41 characters. */
export const VIEWER_TOKEN = "security-viewer-token-0123456789abcdefghij";

/** The `authTokens` config entries of ADMIN_TOKEN and VIEWER_TOKEN. */
export const adminAndViewerTokens: readonly string[] = [
  `admin:${ADMIN_TOKEN}`,
  `viewer:${VIEWER_TOKEN}:action.target.read+action.execution.read`,
];

/** The message a failed target call gives the client. */
export const executionFailed = "Execution failed (EXEC-dra6yamk98)";

export const addHumanUser = "/zitadel.user.v2.UserService/AddHumanUser";
export const getUserByID = "/zitadel.user.v2.UserService/GetUserByID";

/** Returns the authorization header that carries `token`. */
export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** Returns the host services option that serves the sample UserService. */
export function sampleUserService(): (
  host: Parameters<typeof createSampleUserService>[0],
) => HostService[] {
  return (host) => [createSampleUserService(host)];
}

/**
 * Starts a test server with the sample UserService. Unless `options`
 * overrides them, ADMIN_TOKEN and VIEWER_TOKEN are its only static tokens
 * and the logger is silent.
 */
export function startSecurityServer(
  options: TestServerOptions = {},
): Promise<TestServer> {
  return startTestServer({
    services: sampleUserService(),
    logger: createLogger("silent"),
    ...options,
    config: { authTokens: [...adminAndViewerTokens], ...options.config },
  });
}

export type TargetKind = "webhook" | "call" | "async";

let targetCount = 0;

/**
 * Returns a CreateTargetRequest with a name unique in this test process and
 * a 5 s timeout.
 */
export function targetRequest(
  endpoint: string,
  kind: TargetKind = "webhook",
  interruptOnError = false,
): MessageInitShape<typeof CreateTargetRequestSchema> {
  targetCount += 1;
  return {
    name: `security-target-${targetCount}`,
    endpoint,
    timeout: { seconds: 5n },
    targetType: targetTypeOf(kind, interruptOnError),
  };
}

function targetTypeOf(
  kind: TargetKind,
  interruptOnError: boolean,
): MessageInitShape<typeof CreateTargetRequestSchema>["targetType"] {
  switch (kind) {
    case "webhook":
      return { case: "restWebhook", value: { interruptOnError } };
    case "call":
      return { case: "restCall", value: { interruptOnError } };
    case "async":
      return { case: "restAsync", value: {} };
  }
}

/** Condition of the request execution of one method. */
export function requestCondition(
  fullMethod: string,
): MessageInitShape<typeof ConditionSchema> {
  return {
    conditionType: {
      case: "request",
      value: { condition: { case: "method", value: fullMethod } },
    },
  };
}

let userCount = 0;

/** Returns a valid AddHumanUserRequest with a unique username. */
export function humanUser(): MessageInitShape<
  typeof AddHumanUserRequestSchema
> {
  userCount += 1;
  const username = `security-user-${userCount}`;
  return {
    username,
    profile: { givenName: "Ada", familyName: "Lovelace" },
    email: { email: `${username}@example.com` },
  };
}

/** Returns a loopback port with no listener, for an unreachable target. */
export async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const address = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return address.port;
}

/** A promise that a test resolves later, to hold a stub reply. */
export interface Gate {
  promise: Promise<void>;
  open(): void;
}

export function createGate(): Gate {
  let open = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** A trace-level logger whose JSON lines stay in memory. */
export interface CapturedLogs {
  logger: Logger;
  /** Every line written so far, joined. */
  text(): string;
  /** Every line written so far, parsed. */
  lines(): Record<string, unknown>[];
  /** The parsed lines whose msg equals `message`. */
  linesWithMessage(message: string): Record<string, unknown>[];
}

/** Creates a pino logger at level trace that writes into memory. */
export function captureLogs(): CapturedLogs {
  const chunks: string[] = [];
  const destination = {
    write(chunk: string) {
      chunks.push(chunk);
    },
  };
  // The options of createLogger, with a destination in memory.
  const logger = pino(
    {
      level: "trace",
      base: { service: "zitadel-actions" },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
  const lines = () =>
    chunks
      .join("")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    logger,
    text: () => chunks.join(""),
    lines,
    linesWithMessage: (message) =>
      lines().filter((line) => line.msg === message),
  };
}

/**
 * Runs `call` without a token against a fresh server. Returns "unwired"
 * when the server returns Unimplemented or NotFound, so that a suite can
 * mark the cases of a service as todo until the server serves it.
 */
export async function probeService(
  call: (baseUrl: string) => Promise<unknown>,
): Promise<"served" | "unwired" | "failing"> {
  const server = await startSecurityServer();
  try {
    await call(server.baseUrl);
    return "served";
  } catch (error) {
    const code = ConnectError.from(error).code;
    return code === Code.Unimplemented || code === Code.NotFound
      ? "unwired"
      : "failing";
  } finally {
    await server.stop();
  }
}

/** Calls grpc.health.v1.Health/Check without a token. */
export function checkHealth(baseUrl: string) {
  const client = createClient(Health, createGrpcTransport({ baseUrl }));
  return client.check({});
}

/**
 * Lists the services through grpc.reflection.v1.ServerReflection without a
 * token and returns their names.
 */
export async function listServicesByReflection(
  baseUrl: string,
): Promise<string[]> {
  const client = createClient(
    ServerReflection,
    createGrpcTransport({ baseUrl }),
  );
  async function* requests() {
    yield { messageRequest: { case: "listServices", value: "" } } as const;
  }
  const names: string[] = [];
  for await (const response of client.serverReflectionInfo(requests())) {
    if (response.messageResponse.case === "listServicesResponse") {
      names.push(
        ...response.messageResponse.value.service.map((entry) => entry.name),
      );
    }
  }
  return names;
}
