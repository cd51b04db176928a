import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { TimestampSchema, timestampMs } from "@bufbuild/protobuf/wkt";
import {
  CreateTargetRequestSchema,
  SetExecutionRequestSchema,
  UpdateTargetRequestSchema,
} from "../../gen/zitadel/action/v2/action_service_pb.js";
import { createActionService } from "../../src/api/action-service.js";
import { createRegistry } from "../../src/execution/registry.js";
import { createIdGenerator } from "../../src/id-generator.js";
import {
  createExecutionRepository,
  createPublicKeyRepository,
  createTargetRepository,
  type Database,
  openDatabase,
} from "../../src/storage/index.js";

// The handlers run without a server here, so the clock is frozen and
// every call gets the same millisecond.
const FROZEN_MS = Date.UTC(2025, 0, 1);

let database: Database;
let service: ReturnType<typeof createActionService>;

beforeEach(() => {
  database = openDatabase(":memory:");
  const plain = { seal: (text: string) => text, open: (text: string) => text };
  service = createActionService({
    database,
    targets: createTargetRepository(database, plain),
    executions: createExecutionRepository(database),
    publicKeys: createPublicKeyRepository(database),
    registry: createRegistry({ services: [], functions: ["preuserinfo"] }),
    newId: createIdGenerator(1),
    maxTargetsPerExecution: 20,
    now: () => FROZEN_MS,
  });
});

afterEach(() => {
  database.close();
});

function msOf(
  timestamp: MessageInitShape<typeof TimestampSchema> | undefined,
): number {
  return timestampMs(create(TimestampSchema, timestamp ?? {}));
}

async function createTarget(name: string): Promise<string> {
  const created = await service.createTarget(
    create(CreateTargetRequestSchema, {
      name,
      targetType: { case: "restAsync", value: {} },
      timeout: { seconds: 1n },
      endpoint: "https://example.com/hook",
    }),
    undefined as never,
  );
  return created.id ?? "";
}

it("moves a target's change date within one millisecond", async () => {
  const id = await createTarget("frozen");
  const update = (endpoint: string) =>
    service.updateTarget(
      create(UpdateTargetRequestSchema, { id, endpoint }),
      undefined as never,
    );

  const first = await update("https://example.com/1");
  const second = await update("https://example.com/2");

  const firstMs = msOf(first.changeDate);
  const secondMs = msOf(second.changeDate);
  expect(firstMs).toBeGreaterThan(FROZEN_MS);
  expect(secondMs).toBeGreaterThan(firstMs);
});

it("moves an execution's set date within one millisecond", async () => {
  const a = await createTarget("a");
  const b = await createTarget("b");
  const set = (targets: string[]) =>
    service.setExecution(
      create(SetExecutionRequestSchema, {
        condition: {
          conditionType: { case: "function", value: { name: "preuserinfo" } },
        },
        targets,
      }),
      undefined as never,
    );

  const first = await set([a]);
  const second = await set([b]);

  const firstMs = msOf(first.setDate);
  const secondMs = msOf(second.setDate);
  expect(firstMs).toBe(FROZEN_MS);
  expect(secondMs).toBeGreaterThan(firstMs);
});
