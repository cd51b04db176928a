import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import {
  createEventOutbox,
  type EmitResult,
  type EventDispatcherOptions,
  type EventInput,
  type EventOutbox,
} from "../../src/events/index.js";
import type { RoutedTarget } from "../../src/execution/router.js";
import {
  createRouterSource,
  type RouterSource,
  routedTarget,
} from "../../src/execution/router-source.js";
import {
  createTargetRunner,
  type TargetRunner,
} from "../../src/execution/target-runner.js";
import { createIdGenerator } from "../../src/id-generator.js";
import type { Logger } from "../../src/logger.js";
import { createSecretBox, loadOrCreateKeyFile } from "../../src/secret-box.js";
import {
  createExecutionRepository,
  createRoutingReader,
  createTargetRepository,
  type Database,
  type DeliveryRecord,
  type EventDeliveryState,
  type ExecutionRepository,
  openDatabase,
  type StoredTargetType,
  type TargetRepository,
} from "../../src/storage/index.js";
import {
  createEgressPolicy,
  createTargetCaller,
  type TargetCaller,
} from "../../src/target/index.js";

/** Event types the harness declares unless a test gives its own. */
export const testEventTypes: readonly string[] = [
  "user.human.added",
  "user.human.changed",
  "user.locked",
  "org.added",
];

/** A log line as pino wrote it. */
export type LogLine = Record<string, unknown> & { msg: string; level: number };

/** Options of createEventHarness. */
export interface EventHarnessOptions
  extends Partial<Omit<EventDispatcherOptions, "queue" | "logger">> {
  /** Existing folder whose actions.db to open; by default a new temp folder. */
  dir?: string;
  eventTypes?: readonly string[];
  /** Machine part of generated ids, so two harnesses on one file never clash. */
  machineId?: number;
}

/** Everything a test needs to emit events and watch their delivery. */
export interface EventHarness {
  dir: string;
  path: string;
  database: Database;
  targets: TargetRepository;
  executions: ExecutionRepository;
  router: RouterSource;
  caller: TargetCaller;
  runner: TargetRunner;
  outbox: EventOutbox;
  logger: Logger;
  /** Every log line, oldest first. */
  logs: LogLine[];
  /** Inserts a target and returns it in the router's form. */
  addTarget(endpoint: string, options?: TargetOptions): RoutedTarget;
  /** Sets the targets of an execution, e.g. "event/user.*", and rebuilds the router. */
  setExecution(id: string, targetIds: string[]): void;
  /** Emits one event in its own transaction. */
  emit(event?: Partial<EventInput>): EmitResult;
  /** Polls the delivery log until the delivery is in one of `states`. */
  waitForState(
    deliveryId: string,
    states: EventDeliveryState[],
    timeoutMs?: number,
  ): Promise<DeliveryRecord>;
  /** Stops the dispatcher, closes the caller and the database. */
  close(options?: { keepFiles?: boolean }): Promise<void>;
}

/** Target fields a test may choose. */
export interface TargetOptions {
  type?: "webhook" | "call" | "async";
  interruptOnError?: boolean;
  timeoutMs?: number;
}

const storedTypes: Record<string, StoredTargetType> = {
  webhook: 0,
  call: 1,
  async: 2,
};

/**
 * Opens a database file in a temp folder and wires the real router, target
 * caller (egress allowed to 127.0.0.0/8), runner and event outbox to it.
 * The dispatcher is created but not started.
 */
export function createEventHarness(
  options: EventHarnessOptions = {},
): EventHarness {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "actions-events-"));
  const path = join(dir, "actions.db");
  const database = openDatabase(path);
  // Harnesses on one folder share the key file, as server replicas do.
  const secretBox = createSecretBox(
    loadOrCreateKeyFile(join(dir, "master.key")),
  );
  const targets = createTargetRepository(database, secretBox);
  const executions = createExecutionRepository(database);
  const router = createRouterSource(createRoutingReader(database, secretBox));
  const logs: LogLine[] = [];
  const logger = pino(
    { level: "debug" },
    { write: (line: string) => logs.push(JSON.parse(line) as LogLine) },
  );
  const caller =
    options.caller ??
    createTargetCaller({
      egress: createEgressPolicy({ allow: ["127.0.0.0/8"] }),
    });
  const runner = createTargetRunner({ caller, logger, maxConcurrentAsync: 16 });
  const newId = createIdGenerator(options.machineId ?? 1);
  const {
    dir: _dir,
    eventTypes,
    machineId: _machineId,
    ...dispatcher
  } = options;
  const outbox = createEventOutbox({
    retrySchedule: [5, 5, 5],
    leaseMs: 10_000,
    pollIntervalMs: 50,
    ...dispatcher,
    database,
    router,
    eventTypes: eventTypes ?? testEventTypes,
    newId,
    instanceId: "instance-1",
    caller,
    logger,
    loadTargets: (ids) =>
      new Map(targets.byIds(ids).map((r) => [r.id, routedTarget(r)])),
  });

  return {
    dir,
    path,
    database,
    targets,
    executions,
    router,
    caller,
    runner,
    outbox,
    logger,
    logs,
    addTarget(endpoint, targetOptions = {}) {
      const now = Date.now();
      const record = {
        id: newId(),
        name: `target-${newId()}`,
        targetType: storedTypes[targetOptions.type ?? "webhook"] ?? 0,
        interruptOnError: targetOptions.interruptOnError ?? false,
        endpoint,
        timeoutMs: targetOptions.timeoutMs ?? 5000,
        payloadType: 0,
        signingKey: randomBytes(24).toString("base64url"),
        creationDate: now,
        changeDate: now,
      };
      targets.insert(record);
      return routedTarget(record);
    },
    setExecution(id, targetIds) {
      executions.set(id, targetIds, Date.now());
      router.rebuild();
    },
    emit(event = {}) {
      return database.transaction(() =>
        outbox.emitter.emit({
          aggregateType: "user",
          aggregateId: "user-1",
          eventType: "user.human.added",
          resourceOwner: "org-1",
          creator: "admin-1",
          payload: { username: "alice" },
          ...event,
        }),
      );
    },
    async waitForState(deliveryId, states, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const record = outbox.log.get(deliveryId);
        if (record !== undefined && states.includes(record.state)) {
          return record;
        }
        if (Date.now() > deadline) {
          throw new Error(
            `delivery ${deliveryId}: expected state ${states.join(" or ")} within ${timeoutMs} ms, it is ${record?.state ?? "missing"}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    async close(closeOptions = {}) {
      await outbox.dispatcher.stop(2000);
      await runner.drain();
      if (options.caller === undefined) {
        await caller.close();
      }
      database.close();
      if (!closeOptions.keepFiles && options.dir === undefined) {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
