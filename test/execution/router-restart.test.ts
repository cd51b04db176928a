import { Code, ConnectError } from "@connectrpc/connect";
import { ActionService } from "../../gen/zitadel/action/v2/action_service_pb.js";
import { UserService } from "../../gen/zitadel/user/v2/user_service_pb.js";
import { createSampleUserService } from "../../src/sample/index.js";
import { clientFor } from "../support/clients.js";
import {
  authHeader,
  startTestServer,
  type TestServer,
} from "../support/start-server.js";
import { type StubTarget, startStubTarget } from "../support/stub-target.js";

// Drives SetExecution, CreateTarget, UpdateTarget and DeleteTarget through
// the public API of a running server. After every write, a second server
// that starts fresh on the same database must call the same targets, in
// the same order, for the same RPCs.

const userService = "zitadel.user.v2.UserService";

type Phase = "request" | "response";

// Builds a SetExecution condition for a method, a service or all.
function condition(
  phase: Phase,
  scope: "method" | "service" | "all",
  value?: string,
) {
  const inner =
    scope === "all"
      ? { case: "all" as const, value: true }
      : { case: scope, value: value ?? "" };
  return { conditionType: { case: phase, value: { condition: inner } } };
}

const conditions = (["request", "response"] as const).flatMap((phase) => [
  condition(phase, "method", `/${userService}/ListUsers`),
  condition(phase, "method", `/${userService}/GetUserByID`),
  condition(phase, "service", userService),
  condition(phase, "all"),
]);

function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

async function startServer(dataDir?: string): Promise<TestServer> {
  return startTestServer({
    config: {
      egressAllow: ["127.0.0.0/8"],
      ...(dataDir === undefined ? {} : { dataDir }),
    },
    services: (host) => [createSampleUserService(host)],
  });
}

// Paths of the target calls that ListUsers and GetUserByID make, in order.
async function calledPaths(
  server: TestServer,
  stub: StubTarget,
): Promise<string[]> {
  const users = clientFor(
    UserService,
    "connect-json-h1",
    server.baseUrl,
    authHeader,
  );
  const before = stub.requests.length;
  await users.listUsers({});
  const afterList = stub.requests.length;
  await users.getUserByID({ userId: "missing" }).catch((error: unknown) => {
    if (!(error instanceof ConnectError) || error.code !== Code.NotFound) {
      throw error;
    }
  });
  const list = stub.requests.slice(before, afterList).map((r) => r.path);
  const get = stub.requests.slice(afterList).map((r) => r.path);
  return [`ListUsers: ${list.join(" ")}`, `GetUserByID: ${get.join(" ")}`];
}

let live: TestServer;
let stub: StubTarget;

beforeAll(async () => {
  stub = await startStubTarget();
  live = await startServer();
});

afterAll(async () => {
  await live.stop();
  await stub.close();
});

describe("router after writes", () => {
  it.each([1, 2, 3, 4, 5, 6])("matches restart, seed %i", async (seed) => {
    const random = seededRandom(seed * 7919);
    const pick = <T>(values: readonly T[]): T =>
      values[Math.floor(random() * values.length)] as T;
    const actions = clientFor(
      ActionService,
      "connect-json-h1",
      live.baseUrl,
      authHeader,
    );
    const targets: { id: string; name: string; version: number }[] = [];
    let created = 0;
    const log: string[] = [];
    let routed = 0;

    const createTarget = async () => {
      created += 1;
      const name = `s${seed}-t${created}`;
      const response = await actions.createTarget({
        name,
        targetType: { case: "restWebhook", value: { interruptOnError: false } },
        timeout: { seconds: 2n },
        endpoint: `${stub.url}/${name}/v0`,
      });
      targets.push({ id: response.id, name, version: 0 });
      log.push(`create ${name}`);
    };
    for (let i = 0; i < 4; i++) {
      await createTarget();
    }

    for (let step = 0; step < 60; step++) {
      const roll = random();
      if (roll < 0.5 && targets.length > 0) {
        const count = Math.floor(random() * 3);
        const chosen = new Set<string>();
        for (let i = 0; i < count; i++) {
          chosen.add(pick(targets).id);
        }
        const target = pick(conditions);
        await actions.setExecution({ condition: target, targets: [...chosen] });
        const names = [...chosen].map(
          (id) => targets.find((t) => t.id === id)?.name,
        );
        log.push(
          `set ${JSON.stringify(target.conditionType)} [${names.join(",")}]`,
        );
      } else if (roll < 0.7 && targets.length > 0) {
        const target = pick(targets);
        target.version += 1;
        await actions.updateTarget({
          id: target.id,
          endpoint: `${stub.url}/${target.name}/v${target.version}`,
        });
        log.push(`update ${target.name} v${target.version}`);
      } else if (roll < 0.85 && targets.length > 0) {
        const target = pick(targets);
        await actions.deleteTarget({ id: target.id });
        targets.splice(targets.indexOf(target), 1);
        log.push(`delete ${target.name}`);
      } else {
        await createTarget();
      }

      const fromLive = await calledPaths(live, stub);
      if (fromLive.some((line) => line.includes("/v"))) {
        routed += 1;
      }
      const fresh = await startServer(live.dataDir);
      try {
        const fromFresh = await calledPaths(fresh, stub);
        if (JSON.stringify(fromLive) !== JSON.stringify(fromFresh)) {
          throw new Error(
            `step ${step}: live ${JSON.stringify(fromLive)} != restarted ${JSON.stringify(fromFresh)}\n${log.join("\n")}`,
          );
        }
      } finally {
        await fresh.stop({ keepData: true });
      }
    }

    // A run where no RPC called a target would prove nothing.
    expect(routed).toBeGreaterThan(20);
    expect(log.some((entry) => entry.startsWith("delete"))).toBe(true);

    // Clear every execution so the next seed starts from none.
    for (const target of conditions) {
      await actions.setExecution({ condition: target, targets: [] });
    }
  });
});
