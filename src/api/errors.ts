import { Code } from "@connectrpc/connect";
import { ActionsError } from "../errors.js";

// Factories for the errors of the ActionService, with ZITADEL's message
// keys. The ids are stable, so clients and logs can search for them.

export function targetNotFound(id: string): ActionsError {
  return new ActionsError(
    Code.NotFound,
    "QUERY-hj5oaniyrz",
    "Errors.Target.NotFound",
    `Target not found: no target has the id "${id}"`,
  );
}

export function targetNameTaken(name: string): ActionsError {
  return new ActionsError(
    Code.AlreadyExists,
    "COMMAND-8a4jf",
    "Errors.Target.AlreadyExists",
    `Target already exists: the name "${name}" is taken, choose another`,
  );
}

export function targetNameMissing(field: string): ActionsError {
  return new ActionsError(
    Code.InvalidArgument,
    "COMMAND-ddqbm9",
    "Errors.Target.Invalid",
    `Target is invalid: ${field} must contain a character other than whitespace`,
  );
}

export function targetTimeoutMissing(): ActionsError {
  return new ActionsError(
    Code.InvalidArgument,
    "COMMAND-39f35d8",
    "Errors.Target.NoTimeout",
    "Target has no timeout: set timeout to more than 0s and at most 270s",
  );
}

export function targetEndpointInvalid(reason: string): ActionsError {
  return new ActionsError(
    Code.InvalidArgument,
    "COMMAND-1r2k6",
    "Errors.Target.InvalidURL",
    `Target has an invalid URL: endpoint ${reason}`,
  );
}

export function targetEndpointDenied(
  endpoint: string,
  reason: string,
): ActionsError {
  return new ActionsError(
    Code.InvalidArgument,
    "COMMAND-2k9ad",
    "Errors.Endpoint.Denied",
    `Endpoint is not allowed: endpoint "${endpoint}" is rejected by the egress policy (${reason}); the allow-list is set with ACTIONS_EGRESS_ALLOW`,
  );
}

export function publicKeyInvalid(reason: string): ActionsError {
  return new ActionsError(
    Code.InvalidArgument,
    "ErrPublicKeyFormat",
    "Errors.Target.InvalidPublicKey",
    `Public key is invalid: ${reason}; give the PEM of a PKIX ("PUBLIC KEY") RSA key or EC key on P-256, P-384 or P-521`,
  );
}

export function publicKeyExpirationInvalid(expiration: string): ActionsError {
  return new ActionsError(
    Code.InvalidArgument,
    "ErrExpirationDateBeforeNow",
    "Errors.Target.InvalidExpirationDate",
    `Expiration date is invalid: ${expiration} is in the past; give a future date or leave it unset`,
  );
}

/**
 * Creates the error for a missing target or key in the public key
 * methods. ZITADEL reports it as FailedPrecondition, not NotFound.
 */
export function publicKeyTargetNotFound(
  id: string,
  targetId: string,
  keyId?: string,
): ActionsError {
  return new ActionsError(
    Code.FailedPrecondition,
    id,
    "Errors.Target.NotFound",
    keyId === undefined
      ? `Target not found: no target has the id "${targetId}"`
      : `Target not found: target "${targetId}" has no public key "${keyId}"`,
  );
}

export function publicKeyExpired(keyId: string): ActionsError {
  return new ActionsError(
    Code.FailedPrecondition,
    "COMMAND-SAF4g",
    "Errors.Target.PublicKeyExpired",
    `Public key has expired: key "${keyId}" cannot be activated; add a new key`,
  );
}

export function publicKeyActive(keyId: string): ActionsError {
  return new ActionsError(
    Code.FailedPrecondition,
    "ErrPublicKeyDeleteActiveKey",
    "Errors.Target.PublicKeyActive",
    `Public key is active: deactivate key "${keyId}" before removing it`,
  );
}

export function limitExceeded(limit: number, max: number): ActionsError {
  return new ActionsError(
    Code.InvalidArgument,
    "QUERY-4M0fs",
    "Errors.Query.LimitExceeded",
    `Limit exceeded: pagination limit ${limit} is over the maximum of ${max}`,
  );
}

export function listQueryInvalid(): ActionsError {
  return new ActionsError(
    Code.InvalidArgument,
    "QUERY-4kf8s",
    "List.Query.Invalid",
    "Query is invalid: every filter must set one of its cases",
  );
}

export function executionTargetEmpty(): ActionsError {
  return new ActionsError(
    Code.InvalidArgument,
    "COMMAND-5kd0s",
    "Errors.Execution.Invalid",
    "Execution is invalid: a target id is empty",
  );
}

export function executionTargetsNotFound(): ActionsError {
  return new ActionsError(
    Code.NotFound,
    "COMMAND-17dxk",
    "Errors.Target.NotFound",
    "Target not found: every target id must exist and appear only once",
  );
}

export function executionTooManyTargets(
  count: number,
  max: number,
): ActionsError {
  return new ActionsError(
    Code.InvalidArgument,
    "COMMAND-9tr3a",
    "Errors.Execution.TooManyTargets",
    `Execution has too many targets: ${count} given, at most ${max} are allowed`,
  );
}
