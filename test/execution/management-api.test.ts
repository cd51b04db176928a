import { Code } from "@connectrpc/connect";
import { ActionService as ActionServiceV2beta } from "../../gen/zitadel/action/v2beta/action_service_pb.js";
import { clientFor } from "../support/clients.js";
import { rpcError } from "../support/rpc-error.js";
import {
  allCondition,
  type Engine,
  executionFailed,
  startEngine,
} from "./engine-fixture.js";

// ActionService methods are exempt from executions unless
// config.executeManagementApi is true, so a broken target cannot lock the
// operator out of the API that would fix it.

describe("management API, default config", () => {
  let engine: Engine;

  beforeAll(async () => {
    engine = await startEngine();
  });

  afterAll(async () => {
    await engine.stop();
  });

  it("request all skips the ActionService", async () => {
    const stub = await engine.stub({ respondWith: { status: 500 } });
    const target = await engine.createTarget({
      kind: "webhook",
      endpoint: stub.url,
      interrupt: true,
    });
    await engine.setExecution(allCondition("request"), [target.id]);
    await engine.setExecution(allCondition("response"), [target.id]);
    const beta = clientFor(ActionServiceV2beta, "grpc", engine.server.baseUrl);

    const listed = await engine.actions.listTargets({});
    const betaListed = await beta.listTargets({});
    const userError = await rpcError(
      engine.users().addHumanUser({ username: "ada" }),
    );

    expect(listed.targets).toHaveLength(1);
    expect(betaListed.targets).toHaveLength(1);
    expect(userError.code).toBe(Code.FailedPrecondition);
    expect(stub.requests).toHaveLength(1);
    expect(stub.requests[0]?.json).toMatchObject({
      fullMethod: "/zitadel.user.v2.UserService/AddHumanUser",
    });
  });
});

describe("management API, executeManagementApi", () => {
  let engine: Engine;

  beforeAll(async () => {
    engine = await startEngine({ config: { executeManagementApi: true } });
  });

  afterAll(async () => {
    await engine.stop();
  });

  it("request all fires for the ActionService", async () => {
    const stub = await engine.stub();
    const target = await engine.createTarget({
      kind: "webhook",
      endpoint: stub.url,
      interrupt: true,
    });
    await engine.setExecution(allCondition("request"), [target.id]);
    const beta = clientFor(ActionServiceV2beta, "grpc", engine.server.baseUrl);

    await engine.actions.listTargets({});
    await beta.getTarget({ id: target.id });

    expect(stub.requests.map((request) => request.json)).toMatchObject([
      { fullMethod: "/zitadel.action.v2.ActionService/ListTargets" },
      {
        fullMethod: "/zitadel.action.v2beta.ActionService/GetTarget",
        request: { id: target.id },
      },
    ]);
  });

  it("failing target blocks the ActionService", async () => {
    const stub = await engine.stub({ respondWith: { status: 500 } });
    const target = await engine.createTarget({
      kind: "webhook",
      endpoint: stub.url,
      interrupt: true,
    });

    // The call that sets the execution resolved its executions before it
    // ran, so it succeeds; the next call runs the new response execution.
    await engine.actions.setExecution({
      condition: allCondition("response"),
      targets: [target.id],
    });
    const error = await rpcError(engine.actions.listTargets({}));

    expect(error.code).toBe(Code.FailedPrecondition);
    expect(error.message).toBe(executionFailed);
    expect(stub.requests).toHaveLength(1);
    expect(stub.requests[0]?.json).toMatchObject({
      fullMethod: "/zitadel.action.v2.ActionService/ListTargets",
    });
  });
});
