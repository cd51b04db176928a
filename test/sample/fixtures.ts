import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import {
  type AddHumanUserRequest,
  type AddHumanUserRequestSchema,
  UserService,
} from "../../gen/zitadel/user/v2/user_service_pb.js";
import {
  createSampleUserService,
  sampleEventTypes,
  sampleFunctions,
} from "../../src/sample/index.js";
import { clientFor, type TransportName } from "../support/clients.js";
import {
  startTestServer,
  type TestServer,
  type TestServerOptions,
} from "../support/start-server.js";

/** Transports that every sample test runs through. */
export const sampleTransports = ["connect-json-h1", "grpc"] as const;

/** A UserService client. */
export type UserClient = Client<typeof UserService>;

/** An AddHumanUserRequest as a plain object, which spreading keeps. */
export type AddHumanUserInit = Exclude<
  MessageInitShape<typeof AddHumanUserRequestSchema>,
  AddHumanUserRequest
>;

/**
 * Starts a test server that serves the sample UserService and declares
 * its event types and functions.
 */
export function startSampleServer(
  options: TestServerOptions = {},
): Promise<TestServer> {
  return startTestServer({
    eventTypes: sampleEventTypes,
    functions: sampleFunctions,
    ...options,
    services: (host) => [createSampleUserService(host)],
  });
}

/** Creates a UserService client for a running server. */
export function userClient(
  server: TestServer,
  transport: TransportName,
): UserClient {
  return clientFor(UserService, transport, server.baseUrl);
}

let counter = 0;

/** Returns a name that no other call in this test process returns. */
export function uniqueName(prefix: string): string {
  counter++;
  return `${prefix}-${counter}`;
}

/**
 * Returns a valid AddHumanUserRequest with a unique username and email.
 * Each field of `overrides` replaces a whole top-level field.
 */
export function humanRequest(
  overrides: Partial<AddHumanUserInit> = {},
): AddHumanUserInit {
  const name = uniqueName("user");
  return {
    username: name,
    profile: { givenName: "Ada", familyName: "Lovelace" },
    email: { email: `${name}@example.com` },
    ...overrides,
  };
}
