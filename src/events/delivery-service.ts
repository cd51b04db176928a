import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  DeliveryService,
  GetDeliveryResponseSchema,
  ListDeliveriesResponseSchema,
  RedeliverDeliveryResponseSchema,
  RedeliverExhaustedResponseSchema,
} from "../../gen/actions/v1/delivery_service_pb.js";
import { resolvePage } from "../api/pagination.js";
import type { EventDeliveryLog } from "../storage/index.js";
import {
  attemptToProto,
  deliveryFiltersFromProto,
  deliveryToProto,
} from "./delivery-converters.js";
import {
  deliveryIdMissing,
  deliveryInProgress,
  deliveryNotFound,
} from "./delivery-errors.js";

/**
 * Required permission of each DeliveryService method by full method, for
 * the auth interceptor's permission map: reading the log takes
 * action.execution.read, redelivering takes action.execution.write.
 */
export const deliveryServicePermissions: Readonly<Record<string, string>> =
  Object.fromEntries(
    DeliveryService.methods.map((method) => [
      `/${DeliveryService.typeName}/${method.name}`,
      method.name.startsWith("Redeliver")
        ? "action.execution.write"
        : "action.execution.read",
    ]),
  );

/** Dependencies of the DeliveryService handlers. */
export interface DeliveryServiceDeps {
  log: EventDeliveryLog;
  /** Called after a redelivery; the server passes the dispatcher's wake(). */
  onRedeliver?: () => void;
  /** Clock in Unix milliseconds. Default: Date.now. */
  now?: () => number;
}

/** Implements actions.v1.DeliveryService over the delivery log. */
export function createDeliveryService(
  deps: DeliveryServiceDeps,
): ServiceImpl<typeof DeliveryService> {
  const now = deps.now ?? Date.now;
  return {
    listDeliveries(request) {
      const page = resolvePage(request.pagination);
      const filters = deliveryFiltersFromProto(request.filters);
      const { total, deliveries } = deps.log.list({ ...page, ...filters });
      return create(ListDeliveriesResponseSchema, {
        pagination: {
          totalResult: BigInt(total),
          appliedLimit: BigInt(page.limit),
        },
        deliveries: deliveries.map(deliveryToProto),
      });
    },
    getDelivery(request) {
      if (request.id === "") {
        throw deliveryIdMissing("id");
      }
      const record = deps.log.get(request.id);
      if (record === undefined) {
        throw deliveryNotFound(request.id);
      }
      return create(GetDeliveryResponseSchema, {
        delivery: deliveryToProto(record),
        attempts: deps.log.attempts(request.id).map(attemptToProto),
      });
    },
    redeliverDelivery(request) {
      if (request.id === "") {
        throw deliveryIdMissing("id");
      }
      const date = now();
      const outcome = deps.log.redeliver(request.id, date);
      switch (outcome.result) {
        case "not-found":
          throw deliveryNotFound(request.id);
        case "in-progress":
          throw deliveryInProgress(request.id, outcome.state);
        case "redelivered":
          deps.onRedeliver?.();
          return create(RedeliverDeliveryResponseSchema, {
            changeDate: timestampFromMs(date),
          });
      }
    },
    redeliverExhausted(request) {
      if (request.targetId === "") {
        throw deliveryIdMissing("target_id");
      }
      const date = now();
      const count = deps.log.redeliverExhausted(request.targetId, date);
      if (count > 0) {
        deps.onRedeliver?.();
      }
      return create(RedeliverExhaustedResponseSchema, {
        redeliveredCount: BigInt(count),
        changeDate: timestampFromMs(date),
      });
    },
  };
}
