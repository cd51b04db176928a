import type { ServiceImpl } from "@connectrpc/connect";
import type { ActionService as ActionServiceV2 } from "../../gen/zitadel/action/v2/action_service_pb.js";
import type { ActionService as ActionServiceV2beta } from "../../gen/zitadel/action/v2beta/action_service_pb.js";
import type { ActionServiceDeps } from "./deps.js";
import { createExecutionHandlers } from "./execution-handlers.js";
import { createPublicKeyHandlers } from "./public-key-handlers.js";
import { createTargetHandlers } from "./target-handlers.js";

/** Implements zitadel.action.v2.ActionService over the repositories. */
export function createActionService(
  deps: ActionServiceDeps,
): ServiceImpl<typeof ActionServiceV2> {
  return {
    ...createTargetHandlers(deps),
    ...createExecutionHandlers(deps),
    ...createPublicKeyHandlers(deps),
  };
}

/**
 * Serves zitadel.action.v2beta.ActionService with the v2 implementation.
 * The two versions differ only in package names, so every message has the
 * same fields and numbers. The public key methods exist only in v2, so
 * the v2beta service never routes to them. Connect re-creates each response with the
 * v2beta schema before it is serialized.
 */
export function asV2betaService(
  service: ServiceImpl<typeof ActionServiceV2>,
): ServiceImpl<typeof ActionServiceV2beta> {
  return service as unknown as ServiceImpl<typeof ActionServiceV2beta>;
}
