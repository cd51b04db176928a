import { create } from "@bufbuild/protobuf";
import { type Timestamp, timestampMs } from "@bufbuild/protobuf/wkt";
import {
  type ActivatePublicKeyRequest,
  type ActivatePublicKeyResponse,
  ActivatePublicKeyResponseSchema,
  type AddPublicKeyRequest,
  type AddPublicKeyResponse,
  AddPublicKeyResponseSchema,
  type DeactivatePublicKeyRequest,
  type DeactivatePublicKeyResponse,
  DeactivatePublicKeyResponseSchema,
  type ListPublicKeysRequest,
  type ListPublicKeysResponse,
  ListPublicKeysResponseSchema,
  type RemovePublicKeyRequest,
  type RemovePublicKeyResponse,
  RemovePublicKeyResponseSchema,
} from "../../gen/zitadel/action/v2/action_service_pb.js";
import {
  type PublicKey,
  PublicKeySchema,
} from "../../gen/zitadel/action/v2/target_pb.js";
import { parsePublicKeyPem } from "../execution/public-key.js";
import type { PublicKeyRecord } from "../storage/index.js";
import { timestampFromDate } from "./converters.js";
import type { ActionServiceDeps } from "./deps.js";
import {
  publicKeyActive,
  publicKeyExpirationInvalid,
  publicKeyExpired,
  publicKeyInvalid,
  publicKeyTargetNotFound,
} from "./errors.js";
import { checkLength, invalidField } from "./validation.js";

const MAX_PUBLIC_KEY_BYTES = 8192;

/** Handlers of the five public key methods of the v2 ActionService. */
export function createPublicKeyHandlers(deps: ActionServiceDeps) {
  const { targets, publicKeys } = deps;
  const now = deps.now ?? Date.now;

  // Looks up the key of an existing target, with ZITADEL's error for a
  // missing target or key.
  const existingKey = (targetId: string, keyId: string): PublicKeyRecord => {
    const key = publicKeys.get(targetId, keyId);
    if (key === undefined) {
      throw publicKeyTargetNotFound("COMMAND-SAF4g", targetId, keyId);
    }
    return key;
  };

  // The change date moves forward on every write, even within one
  // millisecond, as it does for targets.
  const nextChangeDate = (key: PublicKeyRecord) =>
    Math.max(now(), key.changeDate + 1);

  return {
    addPublicKey(request: AddPublicKeyRequest): AddPublicKeyResponse {
      checkLength("AddPublicKeyRequest.TargetId", request.targetId, 1, 200);
      const size = request.publicKey.length;
      if (size < 1 || size > MAX_PUBLIC_KEY_BYTES) {
        throw invalidField(
          "AddPublicKeyRequest.PublicKey",
          `value length must be between 1 and ${MAX_PUBLIC_KEY_BYTES} bytes, inclusive`,
        );
      }
      const date = now();
      let expirationDate: number | undefined;
      if (request.expirationDate !== undefined) {
        checkTimestampRange(
          "AddPublicKeyRequest.ExpirationDate",
          request.expirationDate,
        );
        expirationDate = timestampMs(request.expirationDate);
        // A key that expires now already counts as expired.
        if (expirationDate <= date) {
          throw publicKeyExpirationInvalid(
            new Date(expirationDate).toISOString(),
          );
        }
      }
      const parsed = parsePublicKeyPem(request.publicKey);
      if (!parsed.ok) {
        throw publicKeyInvalid(parsed.reason);
      }
      if (targets.get(request.targetId) === undefined) {
        throw publicKeyTargetNotFound("COMMAND-nd3fsd", request.targetId);
      }

      const keyId = deps.newId();
      publicKeys.insert({
        keyId,
        targetId: request.targetId,
        active: false,
        publicKey: parsed.pem,
        fingerprint: parsed.fingerprint,
        expirationDate,
        creationDate: date,
        changeDate: date,
      });
      return create(AddPublicKeyResponseSchema, {
        keyId,
        creationDate: timestampFromDate(date),
      });
    },

    activatePublicKey(
      request: ActivatePublicKeyRequest,
    ): ActivatePublicKeyResponse {
      checkLength(
        "ActivatePublicKeyRequest.TargetId",
        request.targetId,
        1,
        200,
      );
      checkLength("ActivatePublicKeyRequest.KeyId", request.keyId, 1, 200);
      const key = existingKey(request.targetId, request.keyId);
      if (key.expirationDate !== undefined && key.expirationDate < now()) {
        throw publicKeyExpired(key.keyId);
      }
      if (key.active) {
        return create(ActivatePublicKeyResponseSchema, {
          changeDate: timestampFromDate(key.changeDate),
        });
      }
      const date = nextChangeDate(key);
      publicKeys.activate(key.targetId, key.keyId, date);
      return create(ActivatePublicKeyResponseSchema, {
        changeDate: timestampFromDate(date),
      });
    },

    deactivatePublicKey(
      request: DeactivatePublicKeyRequest,
    ): DeactivatePublicKeyResponse {
      checkLength(
        "DeactivatePublicKeyRequest.TargetId",
        request.targetId,
        1,
        200,
      );
      checkLength("DeactivatePublicKeyRequest.KeyId", request.keyId, 1, 200);
      const key = existingKey(request.targetId, request.keyId);
      if (!key.active) {
        return create(DeactivatePublicKeyResponseSchema, {
          changeDate: timestampFromDate(key.changeDate),
        });
      }
      const date = nextChangeDate(key);
      publicKeys.deactivate(key.targetId, key.keyId, date);
      return create(DeactivatePublicKeyResponseSchema, {
        changeDate: timestampFromDate(date),
      });
    },

    removePublicKey(request: RemovePublicKeyRequest): RemovePublicKeyResponse {
      checkLength("RemovePublicKeyRequest.TargetId", request.targetId, 1, 200);
      checkLength("RemovePublicKeyRequest.KeyId", request.keyId, 1, 200);
      const key = publicKeys.get(request.targetId, request.keyId);
      if (key === undefined) {
        return create(RemovePublicKeyResponseSchema, {});
      }
      if (key.active) {
        throw publicKeyActive(key.keyId);
      }
      publicKeys.delete(key.targetId, key.keyId);
      return create(RemovePublicKeyResponseSchema, {
        deletionDate: timestampFromDate(now()),
      });
    },

    listPublicKeys(request: ListPublicKeysRequest): ListPublicKeysResponse {
      checkLength("ListPublicKeysRequest.TargetId", request.targetId, 1, 200);
      return create(ListPublicKeysResponseSchema, {
        publicKeys: publicKeys.list(request.targetId).map(publicKeyToProto),
      });
    },
  };
}

function publicKeyToProto(record: PublicKeyRecord): PublicKey {
  return create(PublicKeySchema, {
    keyId: record.keyId,
    active: record.active,
    publicKey: new TextEncoder().encode(record.publicKey),
    fingerprint: record.fingerprint,
    expirationDate:
      record.expirationDate === undefined
        ? undefined
        : timestampFromDate(record.expirationDate),
    creationDate: timestampFromDate(record.creationDate),
    changeDate: timestampFromDate(record.changeDate),
  });
}

// Seconds of 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range of
// google.protobuf.Timestamp. A date outside it cannot be written as JSON.
const MIN_TIMESTAMP_SECONDS = -62_135_596_800n;
const MAX_TIMESTAMP_SECONDS = 253_402_300_799n;

function checkTimestampRange(field: string, timestamp: Timestamp): void {
  if (
    timestamp.seconds < MIN_TIMESTAMP_SECONDS ||
    timestamp.seconds > MAX_TIMESTAMP_SECONDS ||
    timestamp.nanos < 0 ||
    timestamp.nanos > 999_999_999
  ) {
    throw invalidField(
      field,
      `value must be a timestamp between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, got ${timestamp.seconds} seconds and ${timestamp.nanos} nanoseconds`,
    );
  }
}
