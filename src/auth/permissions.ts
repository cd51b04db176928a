/**
 * The permissions of ZITADEL's ActionService. ZITADEL's IAM_OWNER role
 * grants all five, IAM_OWNER_VIEWER only the two read permissions.
 */
export const ActionPermission = {
  targetWrite: "action.target.write",
  targetDelete: "action.target.delete",
  targetRead: "action.target.read",
  executionWrite: "action.execution.write",
  executionRead: "action.execution.read",
} as const;

/** The five action permissions, which a static token without a list gets. */
export const adminPermissions: readonly string[] =
  Object.values(ActionPermission);

/** The permissions of ZITADEL's IAM_OWNER_VIEWER role. */
export const viewerPermissions: readonly string[] = [
  ActionPermission.targetRead,
  ActionPermission.executionRead,
];

/** The requirement value that any valid token satisfies. */
export const AUTHENTICATED = "authenticated";

const actionServices = [
  "zitadel.action.v2.ActionService",
  "zitadel.action.v2beta.ActionService",
] as const;

// The `auth_option.permission` of each baseline RPC, in proto order.
const baselineMethods: Record<string, string> = {
  CreateTarget: ActionPermission.targetWrite,
  UpdateTarget: ActionPermission.targetWrite,
  DeleteTarget: ActionPermission.targetDelete,
  GetTarget: ActionPermission.targetRead,
  ListTargets: ActionPermission.targetRead,
  SetExecution: ActionPermission.executionWrite,
  ListExecutions: ActionPermission.executionRead,
  ListExecutionFunctions: AUTHENTICATED,
  ListExecutionMethods: AUTHENTICATED,
  ListExecutionServices: AUTHENTICATED,
};

// Later upstream additions that exist in v2 only.
const publicKeyMethods: Record<string, string> = {
  AddPublicKey: ActionPermission.targetWrite,
  ActivatePublicKey: ActionPermission.targetWrite,
  DeactivatePublicKey: ActionPermission.targetWrite,
  RemovePublicKey: ActionPermission.targetWrite,
  ListPublicKeys: ActionPermission.targetRead,
};

/**
 * The required permission of every ActionService RPC, by full method
 * (`/zitadel.action.v2.ActionService/CreateTarget`), for v2 and v2beta.
 */
export const actionServicePermissions: ReadonlyMap<string, string> = new Map([
  ...actionServices.flatMap((service) =>
    Object.entries(baselineMethods).map(
      ([method, permission]) => [`/${service}/${method}`, permission] as const,
    ),
  ),
  ...Object.entries(publicKeyMethods).map(
    ([method, permission]) =>
      [`/${actionServices[0]}/${method}`, permission] as const,
  ),
]);

/** Services that every caller may use without a token. */
export const publicServices: ReadonlySet<string> = new Set([
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
]);

/** The condition a caller must meet to call one method. */
export type Requirement =
  /** No token at all, for health checks and reflection. */
  | { kind: "public" }
  /** Any valid token. */
  | { kind: "authenticated" }
  /** A valid token whose permissions include `permission`. */
  | { kind: "permission"; permission: string }
  /**
   * An ActionService method without an entry in the table, which is
   * rejected for every caller until the table lists it.
   */
  | { kind: "unmapped" };

/** Looks up the requirement of each method. */
export interface PermissionPolicy {
  requirementFor(serviceTypeName: string, methodName: string): Requirement;
  /** Every permission the policy can require, for admin identities. */
  readonly knownPermissions: ReadonlySet<string>;
}

/** A host permission table that cannot be used. */
export class PermissionTableError extends Error {
  override readonly name = "PermissionTableError";
}

const FULL_METHOD = /^\/[A-Za-z_][A-Za-z0-9_.]*\/[A-Za-z_][A-Za-z0-9_]*$/;
const PERMISSION = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/**
 * Creates the policy: the ActionService table above, no token for
 * `publicServices`, and for every other service any valid token, unless
 * `hostPermissions` names a permission for the method.
 *
 * @param hostPermissions required permission by full method, e.g.
 *   `{ "/zitadel.user.v2.UserService/LockUser": "user.write" }`; the value
 *   "authenticated" means any valid token.
 * @throws PermissionTableError for a malformed key or value, or a key of
 *   the ActionService or of a public service, whose rules are fixed.
 */
export function createPermissionPolicy(
  hostPermissions: Readonly<Record<string, string>> = {},
): PermissionPolicy {
  const table = new Map(actionServicePermissions);
  for (const [fullMethod, permission] of Object.entries(hostPermissions)) {
    checkHostEntry(fullMethod, permission);
    table.set(fullMethod, permission);
  }
  const knownPermissions = new Set(
    [...table.values()].filter((permission) => permission !== AUTHENTICATED),
  );
  const actionServiceNames: ReadonlySet<string> = new Set(actionServices);

  return {
    knownPermissions,
    requirementFor(serviceTypeName, methodName) {
      if (publicServices.has(serviceTypeName)) {
        return { kind: "public" };
      }
      const permission = table.get(`/${serviceTypeName}/${methodName}`);
      if (permission === undefined) {
        return actionServiceNames.has(serviceTypeName)
          ? { kind: "unmapped" }
          : { kind: "authenticated" };
      }
      return permission === AUTHENTICATED
        ? { kind: "authenticated" }
        : { kind: "permission", permission };
    },
  };
}

function checkHostEntry(fullMethod: string, permission: string): void {
  if (!FULL_METHOD.test(fullMethod)) {
    throw new PermissionTableError(
      `invalid permission table key "${fullMethod}": use the full method, e.g. /zitadel.user.v2.UserService/LockUser`,
    );
  }
  const service = fullMethod.slice(1, fullMethod.lastIndexOf("/"));
  if ((actionServices as readonly string[]).includes(service)) {
    throw new PermissionTableError(
      `invalid permission table key "${fullMethod}": the ActionService permissions are fixed; remove the entry`,
    );
  }
  if (publicServices.has(service)) {
    throw new PermissionTableError(
      `invalid permission table key "${fullMethod}": ${service} is served without a token; remove the entry`,
    );
  }
  if (!PERMISSION.test(permission)) {
    throw new PermissionTableError(
      `invalid permission "${permission}" for ${fullMethod}: use letters, digits, "_", "." and "-", e.g. user.write, or "authenticated"`,
    );
  }
}
