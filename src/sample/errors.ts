import { Code } from "@connectrpc/connect";
import { ActionsError } from "../errors.js";

// Factories for the errors of the sample UserService. The keys are
// ZITADEL's message keys. The ids belong to this service and stay
// stable, so clients and logs can search for them.

/** Raises InvalidArgument with a protoc-gen-validate style message. */
export function invalidField(field: string, reason: string): ActionsError {
  return new ActionsError(
    Code.InvalidArgument,
    "VALIDATION-pgv01",
    "Errors.Invalid",
    `invalid ${field}: ${reason}`,
  );
}

export function userNotFound(userId: string): ActionsError {
  return new ActionsError(
    Code.NotFound,
    "USER-4kq8v",
    "Errors.User.NotFound",
    `User not found: no user has the id "${userId}"`,
  );
}

// NOTE: ZITADEL raises FailedPrecondition (COMMAND-k2unb) for a taken
// user id. This service uses AlreadyExists, like for a taken username.
export function userIdTaken(userId: string): ActionsError {
  return new ActionsError(
    Code.AlreadyExists,
    "USER-9dk2m",
    "Errors.User.AlreadyExisting",
    `User already exists: the id "${userId}" is taken, choose another or leave user_id unset`,
  );
}

export function usernameTaken(username: string): ActionsError {
  return new ActionsError(
    Code.AlreadyExists,
    "USER-2mv8s",
    "Errors.User.AlreadyExists",
    `User already exists: the username "${username}" is taken (usernames ignore case), choose another`,
  );
}

export function emailInvalid(email: string): ActionsError {
  return new ActionsError(
    Code.InvalidArgument,
    "USER-7fj3x",
    "Errors.User.Email.Invalid",
    `Email is invalid: "${email}" is not an address like name@example.com`,
  );
}

export function profileNameBlank(field: string): ActionsError {
  return new ActionsError(
    Code.InvalidArgument,
    "USER-1qd7r",
    "Errors.User.Profile.Invalid",
    `Profile is invalid: ${field} contains only white space, give a name`,
  );
}

/** `state` is the name of the user's state, e.g. USER_STATE_LOCKED. */
export function userNotLockable(userId: string, state: string): ActionsError {
  return new ActionsError(
    Code.FailedPrecondition,
    "USER-3nc8w",
    "Errors.User.ShouldBeActiveOrInitial",
    `User cannot be locked: user "${userId}" is ${state}, and only active or initial users can be locked`,
  );
}

/** `state` is the name of the user's state, e.g. USER_STATE_ACTIVE. */
export function userNotLocked(userId: string, state: string): ActionsError {
  return new ActionsError(
    Code.FailedPrecondition,
    "USER-5vb1q",
    "Errors.User.NotLocked",
    `User is not locked: user "${userId}" is ${state}, and only locked users can be unlocked`,
  );
}

export function metadataNotFound(userId: string, key: string): ActionsError {
  return new ActionsError(
    Code.NotFound,
    "USER-8sk2d",
    "Errors.Metadata.KeyNotExisting",
    `Metadata not found: user "${userId}" has no metadata key "${key}", so nothing was deleted`,
  );
}

export function limitExceeded(limit: number, max: number): ActionsError {
  return new ActionsError(
    Code.InvalidArgument,
    "QUERY-4M0fs",
    "Errors.Query.LimitExceeded",
    `Limit exceeded: limit ${limit} is over the maximum of ${max}`,
  );
}

export function searchQueryInvalid(reason: string): ActionsError {
  return new ActionsError(
    Code.InvalidArgument,
    "USER-6hq2z",
    "List.Query.Invalid",
    `Query is invalid: ${reason}`,
  );
}
