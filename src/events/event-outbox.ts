import type { ServiceImpl } from "@connectrpc/connect";
import type { DeliveryService } from "../../gen/actions/v1/delivery_service_pb.js";
import type { Router } from "../execution/router.js";
import type { IdGenerator } from "../id-generator.js";
import {
  createEventDeliveryLog,
  createEventDeliveryQueue,
  createEventRepository,
  type Database,
  type EventDeliveryLog,
} from "../storage/index.js";
import { createDeliveryService } from "./delivery-service.js";
import {
  createEventDispatcher,
  type EventDispatcher,
  type EventDispatcherOptions,
} from "./event-dispatcher.js";
import { createEventEmitter, type EventEmitter } from "./event-emitter.js";

/** Options of createEventOutbox: the dispatcher's options and the emitter's. */
export interface EventOutboxOptions
  extends Omit<EventDispatcherOptions, "queue"> {
  /** The service's database; emits must run in its transactions. */
  database: Database;
  /** Source of the current router; only `current()` is used. */
  router: { current(): Router };
  /** Event types host code may emit, the same list as the registry's. */
  eventTypes: readonly string[];
  newId: IdGenerator;
  /** Instance id sent as instanceID; empty leaves it out. Default: "". */
  instanceId?: string;
}

/** The parts of durable event delivery, wired to each other. */
export interface EventOutbox {
  /** For host code: emit inside a transaction. */
  emitter: EventEmitter;
  /** Start it with the server and stop it before the database closes. */
  dispatcher: EventDispatcher;
  log: EventDeliveryLog;
  /** The actions.v1.DeliveryService implementation. */
  service: ServiceImpl<typeof DeliveryService>;
}

/**
 * Creates the emitter, the dispatcher, the delivery log and the
 * DeliveryService over one database. An emit that creates a delivery, and
 * every redelivery, wakes the dispatcher, so delivery starts without
 * waiting for the poll interval. The dispatcher is not started.
 */
export function createEventOutbox(options: EventOutboxOptions): EventOutbox {
  const { database, router, eventTypes, newId, instanceId, ...rest } = options;
  const dispatcher = createEventDispatcher({
    ...rest,
    queue: createEventDeliveryQueue(database),
  });
  const emitter = createEventEmitter({
    repository: createEventRepository(database),
    router,
    eventTypes,
    newId,
    instanceId,
    now: options.now,
    onDelivery: () => dispatcher.wake(),
  });
  const log = createEventDeliveryLog(database);
  const service = createDeliveryService({
    log,
    now: options.now,
    onRedeliver: () => dispatcher.wake(),
  });
  return { emitter, dispatcher, log, service };
}
