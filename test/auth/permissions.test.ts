import { ActionService as ActionServiceV2 } from "../../gen/zitadel/action/v2/action_service_pb.js";
import { ActionService as ActionServiceV2beta } from "../../gen/zitadel/action/v2beta/action_service_pb.js";
import {
  actionServicePermissions,
  createPermissionPolicy,
  PermissionTableError,
} from "../../src/auth/index.js";

const contract: [string, string][] = [
  ["CreateTarget", "action.target.write"],
  ["UpdateTarget", "action.target.write"],
  ["DeleteTarget", "action.target.delete"],
  ["GetTarget", "action.target.read"],
  ["ListTargets", "action.target.read"],
  ["SetExecution", "action.execution.write"],
  ["ListExecutions", "action.execution.read"],
  ["ListExecutionFunctions", "authenticated"],
  ["ListExecutionMethods", "authenticated"],
  ["ListExecutionServices", "authenticated"],
];

const publicKeyContract: [string, string][] = [
  ["AddPublicKey", "action.target.write"],
  ["ActivatePublicKey", "action.target.write"],
  ["DeactivatePublicKey", "action.target.write"],
  ["RemovePublicKey", "action.target.write"],
  ["ListPublicKeys", "action.target.read"],
];

describe("actionServicePermissions", () => {
  it.each(
    ["v2", "v2beta"].flatMap((version) =>
      contract.map(([method, permission]) => [version, method, permission]),
    ),
  )("maps %s %s to %s", (version, method, permission) => {
    const fullMethod = `/zitadel.action.${version}.ActionService/${method}`;
    expect(actionServicePermissions.get(fullMethod)).toBe(permission);
  });

  it.each(publicKeyContract)("maps v2 %s to %s", (method, permission) => {
    const fullMethod = `/zitadel.action.v2.ActionService/${method}`;
    expect(actionServicePermissions.get(fullMethod)).toBe(permission);
  });

  it("has no public key methods in v2beta", () => {
    const v2beta = [...actionServicePermissions.keys()].filter((key) =>
      key.startsWith("/zitadel.action.v2beta."),
    );
    expect(v2beta).toHaveLength(contract.length);
  });

  it.each([ActionServiceV2, ActionServiceV2beta])(
    "covers every method of $typeName",
    (service) => {
      for (const method of service.methods) {
        const fullMethod = `/${service.typeName}/${method.name}`;
        expect([fullMethod, actionServicePermissions.has(fullMethod)]).toEqual([
          fullMethod,
          true,
        ]);
      }
    },
  );
});

describe("createPermissionPolicy", () => {
  const policy = createPermissionPolicy({
    "/zitadel.user.v2.UserService/LockUser": "user.write",
    "/zitadel.user.v2.UserService/GetUserByID": "authenticated",
  });

  it.each([
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
  ])("needs no token for %s", (service) => {
    expect(policy.requirementFor(service, "Check")).toEqual({
      kind: "public",
    });
  });

  it("requires the table's permission", () => {
    expect(
      policy.requirementFor("zitadel.action.v2beta.ActionService", "GetTarget"),
    ).toEqual({ kind: "permission", permission: "action.target.read" });
  });

  it("requires only a token for discovery", () => {
    expect(
      policy.requirementFor(
        "zitadel.action.v2.ActionService",
        "ListExecutionMethods",
      ),
    ).toEqual({ kind: "authenticated" });
  });

  it("rejects an ActionService method missing from the table", () => {
    expect(
      policy.requirementFor("zitadel.action.v2.ActionService", "DropAll"),
    ).toEqual({ kind: "unmapped" });
  });

  it("requires a registered host permission", () => {
    expect(
      policy.requirementFor("zitadel.user.v2.UserService", "LockUser"),
    ).toEqual({ kind: "permission", permission: "user.write" });
  });

  it("accepts authenticated as a host entry", () => {
    expect(
      policy.requirementFor("zitadel.user.v2.UserService", "GetUserByID"),
    ).toEqual({ kind: "authenticated" });
  });

  it("requires only a token for other host methods", () => {
    expect(
      policy.requirementFor("zitadel.user.v2.UserService", "UnlockUser"),
    ).toEqual({ kind: "authenticated" });
  });

  it("lists every permission it can require", () => {
    expect([...policy.knownPermissions].sort()).toEqual([
      "action.execution.read",
      "action.execution.write",
      "action.target.delete",
      "action.target.read",
      "action.target.write",
      "user.write",
    ]);
  });

  it.each([
    ["a key without slash", { "acme.Svc/Do": "x" }, /use the full method/],
    ["a key without method", { "/acme.Svc": "x" }, /use the full method/],
    [
      "an ActionService key",
      { "/zitadel.action.v2.ActionService/GetTarget": "authenticated" },
      /permissions are fixed/,
    ],
    [
      "a public service key",
      { "/grpc.health.v1.Health/Check": "health.read" },
      /served without a token/,
    ],
    ["an empty permission", { "/acme.Svc/Do": "" }, /invalid permission ""/],
    ["a permission with spaces", { "/acme.Svc/Do": "a b" }, /invalid/],
  ])("rejects %s", (_name, table, message) => {
    expect(() => createPermissionPolicy(table)).toThrow(PermissionTableError);
    expect(() => createPermissionPolicy(table)).toThrow(message);
  });
});
