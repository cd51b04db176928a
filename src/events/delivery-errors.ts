import { Code } from "@connectrpc/connect";
import { ActionsError } from "../errors.js";

// Factories for the errors of actions.v1.DeliveryService. The ids are
// stable, so clients and logs can search for them.

export function deliveryNotFound(id: string): ActionsError {
  return new ActionsError(
    Code.NotFound,
    "DELIVERY-4n8qz",
    "Errors.Delivery.NotFound",
    `Delivery not found: no delivery has the id "${id}"`,
  );
}

export function deliveryIdMissing(field: string): ActionsError {
  return new ActionsError(
    Code.InvalidArgument,
    "DELIVERY-2m6xw",
    "Errors.Delivery.Invalid",
    `Delivery request is invalid: ${field} must not be empty`,
  );
}

export function deliveryInProgress(id: string, state: string): ActionsError {
  return new ActionsError(
    Code.FailedPrecondition,
    "DELIVERY-7c1rk",
    "Errors.Delivery.InProgress",
    `Delivery is still in progress: delivery "${id}" is ${state}; redeliver it once it is delivered or exhausted`,
  );
}

export function deliveryFilterInvalid(detail: string): ActionsError {
  return new ActionsError(
    Code.InvalidArgument,
    "DELIVERY-9f3tb",
    "List.Query.Invalid",
    `Query is invalid: ${detail}`,
  );
}
