import type { Client } from "@connectrpc/connect";
import { ActionService as ActionServiceV2 } from "../../gen/zitadel/action/v2/action_service_pb.js";
import { ActionService as ActionServiceV2beta } from "../../gen/zitadel/action/v2beta/action_service_pb.js";
import { clientFor, type TransportName } from "./clients.js";

/** An ActionService client of either version, typed as v2. */
export type ActionClient = Client<typeof ActionServiceV2>;

export type ApiVersion = "v2" | "v2beta";

/** One API version over one client transport. */
export interface ApiCase {
  version: ApiVersion;
  transport: TransportName;
}

/**
 * Creates an ActionService client for the version and transport. A v2beta
 * client is typed as v2 because the two packages have the same messages,
 * fields and enum numbers; only the type names differ.
 */
export function actionClient(
  version: ApiVersion,
  transport: TransportName,
  baseUrl: string,
): ActionClient {
  if (version === "v2") {
    return clientFor(ActionServiceV2, transport, baseUrl);
  }
  return clientFor(
    ActionServiceV2beta,
    transport,
    baseUrl,
  ) as unknown as ActionClient;
}

/** Resolves after `ms` milliseconds, so that stored dates differ. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
