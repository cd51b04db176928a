import type { Client } from "@connectrpc/connect";
import {
  DeliveryService,
  DeliveryState,
  type GetDeliveryResponse,
} from "../../gen/actions/v1/delivery_service_pb.js";
import { ActionService } from "../../gen/zitadel/action/v2/action_service_pb.js";
import { UserService } from "../../gen/zitadel/user/v2/user_service_pb.js";
import type { Config } from "../../src/config.js";
import {
  createSampleUserService,
  sampleEventTypes,
  sampleFunctions,
} from "../../src/sample/index.js";
import type { HostContext } from "../../src/server.js";
import { clientFor } from "../support/clients.js";
import { startTestServer, type TestServer } from "../support/start-server.js";

/** Retry schedule of the e2e servers: three retries within 5 ms each. */
export const E2E_RETRY_SCHEDULE: readonly number[] = [5, 5, 5];

/** Instance id that the e2e servers send as instanceID. */
export const E2E_INSTANCE_ID = "instance-e2e";

/** Connect clients of the three services the e2e tests call. */
export interface E2eClients {
  users: Client<typeof UserService>;
  deliveries: Client<typeof DeliveryService>;
  actions: Client<typeof ActionService>;
}

/** A running server with the sample, its host context and clients. */
export interface E2eServer extends E2eClients {
  test: TestServer;
  /** The host context the server passed to the sample UserService. */
  host: HostContext;
}

/**
 * Starts a real server with the sample UserService, its event types and
 * functions, loopback egress and E2E_RETRY_SCHEDULE. `config` overrides
 * any of these settings.
 */
export async function startE2eServer(
  config: Partial<Config> = {},
): Promise<E2eServer> {
  let captured: HostContext | undefined;
  const test = await startTestServer({
    services: (host) => {
      captured = host;
      return [createSampleUserService(host)];
    },
    eventTypes: sampleEventTypes,
    functions: sampleFunctions,
    config: {
      egressAllow: ["127.0.0.0/8"],
      eventRetrySchedule: E2E_RETRY_SCHEDULE,
      instanceId: E2E_INSTANCE_ID,
      ...config,
    },
  });
  if (captured === undefined) {
    throw new Error("the server did not call the services factory");
  }
  return { test, host: captured, ...e2eClients(test.baseUrl) };
}

/** Creates Connect clients (JSON over HTTP/1.1) with the test admin token. */
export function e2eClients(
  baseUrl: string,
  headers?: Record<string, string>,
): E2eClients {
  return {
    users: clientFor(UserService, "connect-json-h1", baseUrl, headers),
    deliveries: clientFor(DeliveryService, "connect-json-h1", baseUrl, headers),
    actions: clientFor(ActionService, "connect-json-h1", baseUrl, headers),
  };
}

/** Kind of target to create, as ZITADEL's target types name it. */
export type TargetKind = "restWebhook" | "restCall" | "restAsync";

/** Options of createTarget. */
export interface TargetOptions {
  kind?: TargetKind;
  interruptOnError?: boolean;
  /** Timeout of the target, in seconds. Default: 5. */
  timeoutSeconds?: number;
}

let targetCounter = 0;

/** Creates a target through the ActionService and returns its id. */
export async function createTarget(
  actions: Client<typeof ActionService>,
  endpoint: string,
  options: TargetOptions = {},
): Promise<string> {
  targetCounter++;
  const kind = options.kind ?? "restWebhook";
  const interruptOnError = options.interruptOnError ?? false;
  const created = await actions.createTarget({
    name: `e2e-target-${targetCounter}`,
    endpoint,
    timeout: { seconds: BigInt(options.timeoutSeconds ?? 5) },
    targetType:
      kind === "restAsync"
        ? { case: kind, value: {} }
        : { case: kind, value: { interruptOnError } },
  });
  return created.id;
}

/**
 * An event condition: one event type, a group such as "user.human", or
 * all events.
 */
export type EventCondition =
  | { event: string }
  | { group: string }
  | { all: true };

/** Sets the targets of an event execution through the ActionService. */
export async function setEventExecution(
  actions: Client<typeof ActionService>,
  condition: EventCondition,
  targetIds: string[],
): Promise<void> {
  const eventCondition =
    "event" in condition
      ? { case: "event" as const, value: condition.event }
      : "group" in condition
        ? { case: "group" as const, value: condition.group }
        : { case: "all" as const, value: true };
  await actions.setExecution({
    condition: {
      conditionType: { case: "event", value: { condition: eventCondition } },
    },
    targets: targetIds,
  });
}

/** Sets the targets of the execution function/<name>. */
export async function setFunctionExecution(
  actions: Client<typeof ActionService>,
  name: string,
  targetIds: string[],
): Promise<void> {
  await actions.setExecution({
    condition: { conditionType: { case: "function", value: { name } } },
    targets: targetIds,
  });
}

/** Returns the ids of the deliveries that include a target, oldest first. */
export async function deliveryIdsOfTarget(
  deliveries: Client<typeof DeliveryService>,
  targetId: string,
): Promise<string[]> {
  const listed = await deliveries.listDeliveries({
    pagination: { asc: true },
    filters: [{ filter: { case: "targetIdFilter", value: { id: targetId } } }],
  });
  return listed.deliveries.map((delivery) => delivery.id);
}

/**
 * Polls GetDelivery every 20 ms until the delivery is in one of `states`.
 * Rejects after `timeoutMs`, which bounds the wait and asserts nothing.
 */
export async function waitForDelivery(
  deliveries: Client<typeof DeliveryService>,
  id: string,
  states: DeliveryState[],
  timeoutMs = 15_000,
): Promise<GetDeliveryResponse> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await deliveries.getDelivery({ id });
    const state = response.delivery?.state ?? DeliveryState.UNSPECIFIED;
    if (states.includes(state)) {
      return response;
    }
    if (Date.now() > deadline) {
      const expected = states.map((s) => DeliveryState[s]).join(" or ");
      throw new Error(
        `delivery ${id} is ${DeliveryState[state]} after ${timeoutMs} ms, expected ${expected}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

let userCounter = 0;

/** Returns an AddHumanUserRequest with a unique username and email. */
export function humanUser(overrides: { userId?: string; orgId?: string } = {}) {
  userCounter++;
  const username = `e2e-user-${userCounter}-${process.pid}`;
  return {
    userId: overrides.userId,
    username,
    organization:
      overrides.orgId === undefined
        ? undefined
        : { org: { case: "orgId" as const, value: overrides.orgId } },
    profile: { givenName: "Grace", familyName: "Hopper" },
    email: { email: `${username}@example.com` },
  };
}
