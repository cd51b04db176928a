import type { StoredEvent } from "../storage/index.js";

/** Value of the payload's `version` key, as ZITADEL sends it. */
export const EVENT_PAYLOAD_VERSION = "v2";

/**
 * Encodes the body that event targets receive, with ZITADEL's keys in
 * ZITADEL's order:
 * aggregateID, aggregateType, resourceOwner, instanceID, version, sequence,
 * event_type, created_at, userID and event_payload. Empty strings are left
 * out, as Go's `omitempty` does. `created_at` is RFC 3339 in UTC with
 * milliseconds, e.g. 2025-01-02T03:04:05.678Z; ZITADEL uses the server's
 * local offset and trims trailing zeros, which parsers treat alike.
 */
export function encodeEventPayload(event: StoredEvent): Uint8Array {
  const head: Record<string, string | number> = {};
  setIfPresent(head, "aggregateID", event.aggregateId);
  setIfPresent(head, "aggregateType", event.aggregateType);
  setIfPresent(head, "resourceOwner", event.resourceOwner);
  setIfPresent(head, "instanceID", event.instanceId);
  head.version = EVENT_PAYLOAD_VERSION;
  head.sequence = event.sequence;
  setIfPresent(head, "event_type", event.eventType);
  head.created_at = new Date(event.creationDate).toISOString();
  setIfPresent(head, "userID", event.creator);
  // The stored payload is already compact JSON of an object, so it is
  // spliced in as it is instead of being parsed and serialized again.
  const prefix = JSON.stringify(head).slice(0, -1);
  return Buffer.from(`${prefix},"event_payload":${event.payload}}`);
}

function setIfPresent(
  target: Record<string, string | number>,
  key: string,
  value: string,
): void {
  if (value !== "") {
    target[key] = value;
  }
}
