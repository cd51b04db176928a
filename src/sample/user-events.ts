import type { JsonObject } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { callerKey } from "../caller-context.js";
import { type EventInput, InvalidEventError } from "../events/index.js";
import type { HostContext } from "../server.js";
import type { UserRecord } from "./user-schema.js";
import type { MetadataEntry } from "./validation.js";

/** Aggregate type of every event of the sample, as in ZITADEL. */
export const USER_AGGREGATE_TYPE = "user";

/** Emits events of the sample inside the caller's transaction. */
export type UserEventSink = (events: readonly EventInput[]) => void;

const sinksByEmitter = new WeakMap<object, UserEventSink>();

/**
 * Returns the function that emits the sample's events through
 * host.events. There is one per emitter, so the UserService and
 * buildUserInfo share it. An event that the emitter rejects with
 * InvalidEventError is skipped and logged once per type. For these
 * events that means the server's eventTypes do not declare the type, and
 * then no execution can name it either, so the event had no target. This
 * lets the sample run on servers that offer no event executions.
 */
export function userEventSinkFor(
  host: Pick<HostContext, "events" | "logger">,
): UserEventSink {
  const existing = sinksByEmitter.get(host.events);
  if (existing !== undefined) {
    return existing;
  }
  const warned = new Set<string>();
  const sink: UserEventSink = (events) => {
    for (const event of events) {
      try {
        host.events.emit(event);
      } catch (error) {
        if (!(error instanceof InvalidEventError)) {
          throw error;
        }
        if (!warned.has(event.eventType)) {
          warned.add(event.eventType);
          host.logger.warn(
            { eventType: event.eventType, err: error },
            "sample UserService skips an event it cannot emit; pass sampleEventTypes as the server's eventTypes to emit it",
          );
        }
      }
    }
  };
  sinksByEmitter.set(host.events, sink);
  return sink;
}

/**
 * Returns the id of the authenticated caller of an RPC, which events
 * record as their creator, or "" when authentication stored no caller.
 */
export function creatorOf(context: HandlerContext): string {
  return context.values.get(callerKey)?.userId ?? "";
}

/**
 * Builds an event of a user. The payload defaults to an empty object.
 * user.locked, user.unlocked and user.removed use it, because ZITADEL
 * stores no data for them and the emitter requires a JSON object.
 */
export function userEvent(
  eventType: string,
  user: UserRecord,
  creator: string,
  payload: JsonObject = {},
): EventInput {
  return {
    aggregateType: USER_AGGREGATE_TYPE,
    aggregateId: user.id,
    eventType,
    resourceOwner: user.resourceOwner,
    creator,
    payload,
  };
}

/**
 * Builds the payload of user.human.added with the JSON keys of ZITADEL's
 * HumanAddedEvent. Empty strings and an unspecified gender are left out,
 * as Go's omitempty does. preferredLanguage is "und" when unset, because
 * Go's language.Tag is a struct, which omitempty never drops.
 *
 * NOTE: ZITADEL also stores the password hash and the address; the sample
 * discards passwords and has no address, so both are absent.
 */
export function humanAddedPayload(user: UserRecord): JsonObject {
  const payload: JsonObject = { userName: user.username };
  setIfPresent(payload, "firstName", user.givenName);
  setIfPresent(payload, "lastName", user.familyName);
  setIfPresent(payload, "nickName", user.nickName ?? "");
  setIfPresent(payload, "displayName", user.displayName);
  payload.preferredLanguage = user.preferredLanguage ?? "und";
  if (user.gender !== null && user.gender !== 0) {
    payload.gender = user.gender;
  }
  setIfPresent(payload, "email", user.email);
  setIfPresent(payload, "phone", user.phone ?? "");
  return payload;
}

/**
 * Builds the user.metadata.set events of a write, one per entry in
 * request order, as ZITADEL emits them. The value is standard base64,
 * because Go encodes a []byte field that way.
 */
export function metadataSetEvents(
  user: UserRecord,
  entries: readonly MetadataEntry[],
  creator: string,
): EventInput[] {
  return entries.map((entry) =>
    userEvent("user.metadata.set", user, creator, {
      key: entry.key,
      value: Buffer.from(entry.value).toString("base64"),
    }),
  );
}

/** Builds the user.metadata.removed events of a write, one per key. */
export function metadataRemovedEvents(
  user: UserRecord,
  keys: readonly string[],
  creator: string,
): EventInput[] {
  return keys.map((key) =>
    userEvent("user.metadata.removed", user, creator, { key }),
  );
}

function setIfPresent(payload: JsonObject, key: string, value: string): void {
  if (value !== "") {
    payload[key] = value;
  }
}
