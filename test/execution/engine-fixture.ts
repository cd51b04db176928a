import { createServer } from "node:net";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { DurationSchema } from "@bufbuild/protobuf/wkt";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import {
  ActionService,
  type CreateTargetRequestSchema,
} from "../../gen/zitadel/action/v2/action_service_pb.js";
import type { ConditionSchema } from "../../gen/zitadel/action/v2/execution_pb.js";
import {
  type AddHumanUserRequest,
  AddHumanUserResponseSchema,
  type DeleteUserRequest,
  type GetUserByIDRequest,
  GetUserByIDResponseSchema,
  UserService,
} from "../../gen/zitadel/user/v2/user_service_pb.js";
import type { Config } from "../../src/config.js";
import { type HostService, hostService } from "../../src/server.js";
import type { EgressResolver } from "../../src/target/index.js";
import {
  clientFor,
  closeGrpcJsClients,
  type TransportName,
} from "../support/clients.js";
import {
  authHeader,
  startTestServer,
  type TestServer,
} from "../support/start-server.js";
import {
  type StubTarget,
  type StubTargetOptions,
  startStubTarget,
} from "../support/stub-target.js";

export const userService = "zitadel.user.v2.UserService";
export const addHumanUser = `/${userService}/AddHumanUser`;
export const getUserByID = `/${userService}/GetUserByID`;
export const deleteUser = `/${userService}/DeleteUser`;

/** Message of the error that the test host's DeleteUser always throws. */
export const deleteUserError = "user not found: the test host deletes nobody";

/** User id that makes the test host's GetUserByID wait for the client to abort. */
export const waitForAbortUserId = "wait-for-abort";

/** Message the client receives when an interrupting target call fails. */
export const executionFailed = "Execution failed (EXEC-dra6yamk98)";

export type TargetKind = "webhook" | "call" | "async";
export type Phase = "request" | "response";

/** A request the test host's handler received. */
export interface HandledCall {
  method: string;
  request: AddHumanUserRequest | GetUserByIDRequest | DeleteUserRequest;
}

/** Fields of a target that a test creates through the ActionService. */
export interface TargetSpec {
  kind: TargetKind;
  endpoint: string;
  /** interrupt_on_error of a webhook or call target. Default: false. */
  interrupt?: boolean;
  /** Target timeout in ms. Default: 5000. */
  timeoutMs?: number;
  /** Default: a unique name. */
  name?: string;
}

/** A target as CreateTarget returned it. */
export interface CreatedTarget {
  id: string;
  signingKey: string;
}

/** A server with the in-test UserService host, its clients and its stubs. */
export interface Engine {
  server: TestServer;
  actions: Client<typeof ActionService>;
  /** Requests the host handlers received, oldest first. */
  handled: HandledCall[];
  /**
   * Creates a UserService client, connect-json-h1 unless named, that sends
   * the test admin token and `headers`.
   */
  users(
    transport?: TransportName,
    headers?: Record<string, string>,
  ): Client<typeof UserService>;
  /** Starts a stub target that stop() closes. */
  stub(options?: StubTargetOptions): Promise<StubTarget>;
  createTarget(spec: TargetSpec): Promise<CreatedTarget>;
  /** Sets the targets of the execution of `condition`. */
  setExecution(
    condition: MessageInitShape<typeof ConditionSchema>,
    targetIds: string[],
  ): Promise<void>;
  /** Resolves when every async target call in flight has finished. */
  drainAsync(): Promise<void>;
  /** Returns the value of actions_target_calls_total for a target and outcome. */
  targetCalls(targetId: string, outcome: string): Promise<number>;
  /**
   * Clears every execution set through setExecution, closes the stubs, waits
   * for async calls and empties `handled`, so the next test starts
   * with no executions. Targets stay, under unique names.
   */
  reset(): Promise<void>;
  /** Closes the stubs, the clients and the server. */
  stop(): Promise<void>;
}

/** Options of startEngine. */
export interface EngineOptions {
  /** Config overrides; egressAllow defaults to ["127.0.0.0/8"]. */
  config?: Partial<Config>;
  resolve?: EgressResolver;
}

/**
 * Starts a server whose UserService is implemented in the test.
 * AddHumanUser returns `id-<username>` with fixed details: sequence 7,
 * change date 2023-11-14T22:13:20.005Z and resource owner org-1.
 * GetUserByID returns the user id as resource owner, or waits for the
 * client to abort when the id is waitForAbortUserId. DeleteUser always
 * fails with NotFound.
 */
export async function startEngine(
  options: EngineOptions = {},
): Promise<Engine> {
  const handled: HandledCall[] = [];
  const stubs: StubTarget[] = [];
  const server = await startTestServer({
    config: { egressAllow: ["127.0.0.0/8"], ...options.config },
    resolve: options.resolve,
    services: [userServiceHost(handled)],
  });
  const actions = clientFor(ActionService, "connect-json-h1", server.baseUrl);
  const conditions = new Map<
    string,
    MessageInitShape<typeof ConditionSchema>
  >();
  let targetCount = 0;

  // Stubs close first: that ends async calls still waiting on them, so
  // neither a reset nor the server's shutdown waits for their timeouts.
  const closeStubs = async () => {
    await Promise.all(stubs.splice(0).map((stub) => stub.close()));
    await server.server.runner.drain();
  };

  return {
    server,
    actions,
    handled,
    users: (transport = "connect-json-h1", headers = {}) =>
      clientFor(UserService, transport, server.baseUrl, {
        ...authHeader,
        ...headers,
      }),
    async stub(stubOptions) {
      const stub = await startStubTarget(stubOptions);
      stubs.push(stub);
      return stub;
    },
    async createTarget(spec) {
      targetCount += 1;
      const response = await actions.createTarget({
        name: spec.name ?? `target-${targetCount}`,
        targetType: targetTypeOf(spec),
        timeout: durationOf(spec.timeoutMs ?? 5000),
        endpoint: spec.endpoint,
      });
      return { id: response.id, signingKey: response.signingKey };
    },
    async setExecution(condition, targetIds) {
      await actions.setExecution({ condition, targets: targetIds });
      conditions.set(JSON.stringify(condition), condition);
    },
    drainAsync: () => server.server.runner.drain(),
    async targetCalls(targetId, outcome) {
      const response = await fetch(`${server.baseUrl}/metrics`);
      return counterValue(await response.text(), targetId, outcome);
    },
    async reset() {
      await closeStubs();
      for (const condition of conditions.values()) {
        await actions.setExecution({ condition, targets: [] });
      }
      conditions.clear();
      handled.length = 0;
      closeGrpcJsClients();
    },
    async stop() {
      await closeStubs();
      closeGrpcJsClients();
      await server.stop();
    },
  };
}

/** Condition of a method execution, e.g. for /zitadel.user.v2.UserService/AddHumanUser. */
export function methodCondition(
  phase: Phase,
  fullMethod: string,
): MessageInitShape<typeof ConditionSchema> {
  return {
    conditionType: {
      case: phase,
      value: { condition: { case: "method", value: fullMethod } },
    },
  };
}

/** Condition of a service execution, e.g. for zitadel.user.v2.UserService. */
export function serviceCondition(
  phase: Phase,
  service: string,
): MessageInitShape<typeof ConditionSchema> {
  return {
    conditionType: {
      case: phase,
      value: { condition: { case: "service", value: service } },
    },
  };
}

/** Condition of the execution for every method. */
export function allCondition(
  phase: Phase,
): MessageInitShape<typeof ConditionSchema> {
  return {
    conditionType: {
      case: phase,
      value: { condition: { case: "all", value: true } },
    },
  };
}

/** Returns a loopback port with no listener, for unreachable targets. */
export async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  if (address === null || typeof address === "string") {
    throw new Error("closedPort: the probe server has no TCP address");
  }
  return address.port;
}

/** A promise with its resolve function, to hold a stub reply until released. */
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

/**
 * Hides connect-node's console.error report of a handler result that it
 * could not write because the client had already closed the stream, which
 * tests that abort calls cause on purpose. Other output passes through.
 * Returns the function that restores console.error.
 */
export function hideClosedStreamReports(): () => void {
  const original = console.error;
  console.error = (...args: unknown[]) => {
    const [text, reason] = args;
    const closedStream =
      String(text).startsWith("handler for rpc ") &&
      reason instanceof Error &&
      /stream (was|has been) destroyed/.test(reason.message);
    if (!closedStream) {
      original(...args);
    }
  };
  return () => {
    console.error = original;
  };
}

/**
 * Polls `condition` every 20 ms until it returns true, and fails after
 * `timeoutMs` (default 5000) with `description` in the message. It waits
 * for effects that the server causes in the background.
 */
export async function waitFor(
  description: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(
        `waitFor: ${description} did not happen within ${timeoutMs} ms`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Parses one sample of actions_target_calls_total; 0 when it is absent. */
export function counterValue(
  metrics: string,
  targetId: string,
  outcome: string,
): number {
  for (const line of metrics.split("\n")) {
    if (
      line.startsWith("actions_target_calls_total{") &&
      line.includes(`target_id="${targetId}"`) &&
      line.includes(`outcome="${outcome}"`)
    ) {
      return Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return 0;
}

function userServiceHost(handled: HandledCall[]): HostService {
  return hostService(UserService, {
    addHumanUser(request) {
      handled.push({ method: "AddHumanUser", request });
      return create(AddHumanUserResponseSchema, {
        userId: `id-${request.username ?? ""}`,
        details: {
          sequence: 7n,
          changeDate: { seconds: 1_700_000_000n, nanos: 5_000_000 },
          resourceOwner: "org-1",
        },
      });
    },
    async getUserByID(request, context) {
      handled.push({ method: "GetUserByID", request });
      if (request.userId === waitForAbortUserId) {
        await new Promise<void>((resolve) => {
          if (context.signal.aborted) {
            resolve();
          }
          context.signal.addEventListener("abort", () => resolve());
        });
        throw new ConnectError("the client aborted", Code.Canceled);
      }
      return create(GetUserByIDResponseSchema, {
        details: { resourceOwner: request.userId },
      });
    },
    deleteUser(request) {
      handled.push({ method: "DeleteUser", request });
      throw new ConnectError(deleteUserError, Code.NotFound);
    },
  });
}

function targetTypeOf(
  spec: TargetSpec,
): MessageInitShape<typeof CreateTargetRequestSchema>["targetType"] {
  const interruptOnError = spec.interrupt ?? false;
  switch (spec.kind) {
    case "webhook":
      return { case: "restWebhook", value: { interruptOnError } };
    case "call":
      return { case: "restCall", value: { interruptOnError } };
    case "async":
      return { case: "restAsync", value: {} };
  }
}

function durationOf(ms: number): MessageInitShape<typeof DurationSchema> {
  return {
    seconds: BigInt(Math.floor(ms / 1000)),
    nanos: (ms % 1000) * 1_000_000,
  };
}
