import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  ActionService as ActionServiceV2,
  CreateTargetRequestSchema,
  DeleteTargetRequestSchema,
  SetExecutionRequestSchema,
  UpdateTargetRequestSchema,
} from "../../gen/zitadel/action/v2/action_service_pb.js";
import type { ConditionSchema } from "../../gen/zitadel/action/v2/execution_pb.js";
import { ActionService as ActionServiceV2beta } from "../../gen/zitadel/action/v2beta/action_service_pb.js";
import { createActionService } from "../../src/api/action-service.js";
import { ActionsError } from "../../src/errors.js";
import { createRegistry } from "../../src/execution/registry.js";
import type { Router } from "../../src/execution/router.js";
import {
  createRouterSource,
  type RouterSource,
} from "../../src/execution/router-source.js";
import { createIdGenerator } from "../../src/id-generator.js";
import { createSecretBox } from "../../src/secret-box.js";
import {
  createExecutionRepository,
  createPublicKeyRepository,
  createRoutingReader,
  createTargetRepository,
  type Database,
  openDatabase,
} from "../../src/storage/index.js";

// The router source under test follows each write through the handlers'
// callbacks. After every step, a new source over the same database builds
// a router from scratch, and the two must return the same targets for
// every lookup.

type Condition = MessageInitShape<typeof ConditionSchema>;

const v2 = ActionServiceV2.typeName;
const v2beta = ActionServiceV2beta.typeName;
const services = [v2, v2beta];
const methods = [
  `/${v2}/CreateTarget`,
  `/${v2}/SetExecution`,
  `/${v2beta}/CreateTarget`,
  `/${v2beta}/ListTargets`,
];
const eventTypes = [
  "user.human.added",
  "user.human.changed",
  "user.locked",
  "org.added",
];
const eventGroups = ["user", "user.human", "org"];
// More executions than the minimum number of changes at which a derived
// router merges them into a new base, so the random sequences cross merges.
const functions = Array.from({ length: 40 }, (_, i) => `function-${i}`);

const conditions: Condition[] = [
  ...(["request", "response"] as const).flatMap((kind) => [
    ...methods.map((value) => rpcCondition(kind, { case: "method", value })),
    ...services.map((value) => rpcCondition(kind, { case: "service", value })),
    rpcCondition(kind, { case: "all", value: true }),
  ]),
  ...eventTypes.map((value) => eventCondition({ case: "event", value })),
  ...eventGroups.map((value) => eventCondition({ case: "group", value })),
  eventCondition({ case: "all", value: true }),
  ...functions.map(functionCondition),
];

// Lookups also cover names that no execution names directly, so they
// resolve through a broader execution or to none.
const lookupMethods = [
  ...methods,
  `/${v2}/GetTarget`,
  `/${v2beta}/DeleteTarget`,
  "/other.v1.OtherService/Call",
];
const lookupEvents = [
  ...eventTypes,
  "user.human.removed",
  "user.machine.added",
  "session.added",
];
const lookupFunctions = [...functions, "function-missing"];

interface Fixture {
  database: Database;
  service: ReturnType<typeof createActionService>;
  /** Updated by the handlers' callbacks. */
  incremental: RouterSource;
  /**
   * Builds a router from storage through a new reader and source, so no
   * decrypted key or entry carries over from earlier steps.
   */
  rebuilt(): Router;
  close(): void;
}

let fixture: Fixture;

beforeEach(() => {
  fixture = openFixture();
});

afterEach(() => {
  fixture.close();
});

describe("router updates", () => {
  it.each([1, 2, 3, 4])("match a full rebuild, seed %i", async (seed) => {
    const random = seededRandom(seed);
    const pick = <T>(values: readonly T[]): T =>
      values[Math.floor(random() * values.length)] as T;
    const live: string[] = [];
    const deleted: string[] = [];
    const counts = { set: 0, rejected: 0, update: 0, delete: 0 };
    let targetNumber = 0;

    const addTarget = async () => {
      targetNumber++;
      const id = await createTarget(`target-${targetNumber}`);
      live.push(id);
      return `create ${id}`;
    };

    const setRandomExecution = async () => {
      const condition = pick(conditions);
      const unused = [...live];
      const targetIds: string[] = [];
      for (let n = Math.floor(random() * 4); n > 0; n--) {
        targetIds.push(...unused.splice(random() * unused.length, 1));
      }
      // Some lists name a deleted target or one target twice, which the
      // handler rejects.
      const rejectRoll = random();
      if (rejectRoll < 0.08 && deleted.length > 0) {
        targetIds.push(pick(deleted));
      } else if (rejectRoll < 0.12 && targetIds.length > 0) {
        targetIds.push(pick(targetIds));
      }
      try {
        await fixture.service.setExecution(
          create(SetExecutionRequestSchema, {
            condition,
            targets: targetIds,
          }),
          undefined as never,
        );
        counts.set++;
      } catch (error) {
        if (!(error instanceof ActionsError)) {
          throw error;
        }
        counts.rejected++;
      }
      return `set ${JSON.stringify(condition.conditionType)} to [${targetIds.join(", ")}]`;
    };

    const updateRandomTarget = async () => {
      const id = pick(live);
      const randomSuffix = () => Math.floor(random() * 1e6);
      const [change, request] = pick<
        [string, MessageInitShape<typeof UpdateTargetRequestSchema>]
      >([
        ["endpoint", { id, endpoint: `https://example.com/${randomSuffix()}` }],
        [
          "timeout",
          { id, timeout: { seconds: BigInt(1 + Math.floor(random() * 9)) } },
        ],
        [
          "type call",
          {
            id,
            targetType: { case: "restCall", value: { interruptOnError: true } },
          },
        ],
        [
          "type webhook",
          {
            id,
            targetType: {
              case: "restWebhook",
              value: { interruptOnError: random() < 0.5 },
            },
          },
        ],
        ["type async", { id, targetType: { case: "restAsync", value: {} } }],
        ["key", { id, expirationSigningKey: { seconds: 0n, nanos: 0 } }],
        ["name", { id, name: `renamed-${randomSuffix()}` }],
      ]);
      await fixture.service.updateTarget(
        create(UpdateTargetRequestSchema, request),
        undefined as never,
      );
      counts.update++;
      return `update ${change} of ${id}`;
    };

    const deleteRandomTarget = async () => {
      const id = pick(live);
      await fixture.service.deleteTarget(
        create(DeleteTargetRequestSchema, { id }),
        undefined as never,
      );
      live.splice(live.indexOf(id), 1);
      deleted.push(id);
      counts.delete++;
      return `delete ${id}`;
    };

    for (let i = 0; i < 5; i++) {
      await addTarget();
    }
    for (let step = 1; step <= 300; step++) {
      const roll = random();
      let action: string;
      if (live.length < 3 || (roll < 0.1 && live.length < 12)) {
        action = await addTarget();
      } else if (roll < 0.6) {
        action = await setRandomExecution();
      } else if (roll < 0.88) {
        action = await updateRandomTarget();
      } else {
        action = await deleteRandomTarget();
      }

      const label = `step ${step}: ${action}`;
      expect({ label, ...lookups(fixture.incremental.current()) }).toEqual({
        label,
        ...lookups(fixture.rebuilt()),
      });
    }

    // Each kind of write ran often enough for the comparison to mean
    // something.
    expect(counts.set).toBeGreaterThan(80);
    expect(counts.rejected).toBeGreaterThan(0);
    expect(counts.update).toBeGreaterThan(40);
    expect(counts.delete).toBeGreaterThan(10);
    expect(fixture.incremental.current().size).toBeGreaterThan(0);
  });

  it("delete uncovers a broader execution", async () => {
    const broad = await createTarget("broad");
    const narrow = await createTarget("narrow");
    const other = await createTarget("other");
    const method = `/${v2}/CreateTarget`;
    await setExecution(
      rpcCondition("request", { case: "service", value: v2 }),
      [broad],
    );
    await setExecution(
      rpcCondition("request", { case: "method", value: method }),
      [narrow],
    );
    await setExecution(eventCondition({ case: "group", value: "user" }), [
      other,
      narrow,
      broad,
    ]);
    const router = fixture.incremental;
    expect(ids(router.current().requestTargets(method))).toEqual([narrow]);

    await fixture.service.deleteTarget(
      create(DeleteTargetRequestSchema, { id: narrow }),
      undefined as never,
    );

    expect(ids(router.current().requestTargets(method))).toEqual([broad]);
    expect(ids(router.current().eventTargets("user.locked"))).toEqual([
      other,
      broad,
    ]);
    expect(lookups(router.current())).toEqual(lookups(fixture.rebuilt()));
  });

  it("keeps an old snapshot unchanged", async () => {
    const first = await createTarget("first");
    const second = await createTarget("second");
    await setExecution(rpcCondition("response", { case: "all", value: true }), [
      first,
    ]);
    await setExecution(
      eventCondition({ case: "event", value: "user.locked" }),
      [first, second],
    );
    for (const name of functions) {
      await setExecution(functionCondition(name), [second]);
    }
    const expected = lookups(fixture.rebuilt());
    const snapshot = fixture.incremental.current();

    // More changes than the merge limit, so the snapshot outlives a merge
    // of the changes into a new base.
    for (const name of functions) {
      await setExecution(functionCondition(name), [first]);
    }
    await setExecution(
      rpcCondition("response", { case: "all", value: true }),
      [],
    );
    await fixture.service.updateTarget(
      create(UpdateTargetRequestSchema, {
        id: first,
        endpoint: "https://example.com/moved",
        expirationSigningKey: { seconds: 0n, nanos: 0 },
      }),
      undefined as never,
    );
    await fixture.service.deleteTarget(
      create(DeleteTargetRequestSchema, { id: second }),
      undefined as never,
    );

    expect(fixture.incremental.current()).not.toBe(snapshot);
    expect(lookups(snapshot)).toEqual(expected);
    expect(snapshot.eventTargets("user.locked")[0]?.endpoint).toBe(
      "https://example.com/first",
    );
    expect(lookups(fixture.incremental.current())).toEqual(
      lookups(fixture.rebuilt()),
    );
  });
});

function openFixture(): Fixture {
  const dir = mkdtempSync(join(tmpdir(), "actions-router-"));
  const database = openDatabase(join(dir, "actions.db"));
  const secretBox = createSecretBox(randomBytes(32));
  const incremental = createRouterSource(
    createRoutingReader(database, secretBox),
  );
  const service = createActionService({
    database,
    targets: createTargetRepository(database, secretBox),
    executions: createExecutionRepository(database),
    publicKeys: createPublicKeyRepository(database),
    registry: createRegistry({
      services: [ActionServiceV2, ActionServiceV2beta],
      functions,
      eventTypes,
    }),
    newId: createIdGenerator(1),
    maxTargetsPerExecution: 20,
    onExecutionChanged: (id) => incremental.executionChanged(id),
    onTargetChanged: (id) => incremental.targetChanged(id),
  });
  return {
    database,
    service,
    incremental,
    rebuilt: () =>
      createRouterSource(createRoutingReader(database, secretBox)).current(),
    close() {
      database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function createTarget(name: string): Promise<string> {
  const created = await fixture.service.createTarget(
    create(CreateTargetRequestSchema, {
      name,
      targetType: { case: "restWebhook", value: {} },
      timeout: { seconds: 5n },
      endpoint: `https://example.com/${name}`,
    }),
    undefined as never,
  );
  if (created.id === undefined) {
    throw new Error(`CreateTarget returned no id for target ${name}`);
  }
  return created.id;
}

async function setExecution(
  condition: Condition,
  targets: string[],
): Promise<void> {
  await fixture.service.setExecution(
    create(SetExecutionRequestSchema, { condition, targets }),
    undefined as never,
  );
}

// Every lookup the router offers, for every name the tests use.
function lookups(router: Router): Record<string, unknown> {
  const result: Record<string, unknown> = { size: router.size };
  for (const method of lookupMethods) {
    result[`request ${method}`] = router.requestTargets(method);
    result[`response ${method}`] = router.responseTargets(method);
  }
  for (const eventType of lookupEvents) {
    result[`event ${eventType}`] = router.eventTargets(eventType);
  }
  for (const name of lookupFunctions) {
    result[`function ${name}`] = router.functionTargets(name);
  }
  return result;
}

function ids(targets: readonly { id: string }[]): string[] {
  return targets.map((target) => target.id);
}

function rpcCondition(
  kind: "request" | "response",
  condition:
    | { case: "method" | "service"; value: string }
    | { case: "all"; value: boolean },
): Condition {
  return { conditionType: { case: kind, value: { condition } } };
}

function eventCondition(
  condition:
    | { case: "event" | "group"; value: string }
    | { case: "all"; value: boolean },
): Condition {
  return { conditionType: { case: "event", value: { condition } } };
}

function functionCondition(name: string): Condition {
  return { conditionType: { case: "function", value: { name } } };
}

// mulberry32: a small seeded generator, so every run replays the same
// sequence of writes.
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
