import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { Gender, UserState } from "../../gen/zitadel/user/v2/user_pb.js";
import {
  type FunctionResult,
  functionLogClaim,
  type MetadataEntry,
} from "../events/index.js";
import type { HostContext } from "../server.js";
import { userNotFound } from "./errors.js";
import { metadataSetEvents, userEventSinkFor } from "./user-events.js";
import type { MetadataRecord, UserRecord } from "./user-schema.js";
import { type UserStore, userStoreFor } from "./user-store.js";
import { isValidMetadataEntry } from "./validation.js";

/** Name of the function that runs while userinfo is built. */
export const PREUSERINFO_FUNCTION = "preuserinfo";

/** Per-call options of buildUserInfo. */
export interface UserInfoOptions {
  /**
   * Signal of the userinfo request. When it aborts, the preuserinfo call
   * in flight is cancelled and buildUserInfo rejects.
   */
  signal?: AbortSignal;
  /**
   * User id recorded as the creator of the user.metadata.set events that
   * set_user_metadata causes. Default: the user's own id, because a
   * userinfo request carries the user's own access token.
   */
  creator?: string;
}

// Go's zero time.Time, which encoding/json writes for unset dates.
const GO_ZERO_TIME = "0001-01-01T00:00:00Z";

// ZITADEL's domain.UserState numbers, which differ from the API's
// UserState from INITIAL on: the domain has SUSPEND = 5 and INITIAL = 6.
const domainUserStates: Record<UserState, number> = {
  [UserState.UNSPECIFIED]: 0,
  [UserState.ACTIVE]: 1,
  [UserState.INACTIVE]: 2,
  [UserState.DELETED]: 3,
  [UserState.LOCKED]: 4,
  [UserState.INITIAL]: 6,
};
const DOMAIN_USER_TYPE_HUMAN = 1;

const genderClaims: Partial<Record<Gender, string>> = {
  [Gender.FEMALE]: "female",
  [Gender.MALE]: "male",
  [Gender.DIVERSE]: "diverse",
};

/**
 * Builds the OIDC userinfo claims of a user and runs the preuserinfo
 * function on them, as ZITADEL does for its userinfo endpoint.
 *
 * The claims are those of the scopes openid, profile, email and phone.
 * They are sub, name, given_name, family_name, nickname, gender, locale,
 * updated_at, preferred_username, email, email_verified, phone_number and
 * phone_number_verified, and empty ones are left out. Targets receive
 * `{"function":"function/preuserinfo","userinfo":…,"user":…,
 * "user_metadata":[…],"org":{"id":…}}` with ZITADEL's snake_case keys.
 * Their response is applied in ZITADEL's order:
 *
 * 1. set_user_metadata is written in one transaction, with one
 *    user.metadata.set event per entry. An entry with an empty or too
 *    long key or value is skipped and logged.
 * 2. append_claims are added unless the key is reserved
 *    (urn:zitadel:iam…) or exists. An existing key is logged.
 * 3. The log entries, then append_log_claims, go to the claim
 *    `urn:zitadel:iam:action:function/preuserinfo:log`.
 *
 * @throws ActionsError NotFound when the user does not exist, and the
 *   errors of FunctionRunner.runFunction, such as FailedPrecondition when
 *   a call target with interrupt_on_error responds with invalid JSON.
 */
export async function buildUserInfo(
  host: HostContext,
  userId: string,
  options: UserInfoOptions = {},
): Promise<JsonObject> {
  const users = userStoreFor(host.store);
  const user = users.findUser(userId);
  if (user === undefined) {
    throw userNotFound(userId);
  }
  const userinfo = userInfoClaims(user);
  const result = await host.functions.runFunction(
    PREUSERINFO_FUNCTION,
    functionPayload(user, users.allMetadata(userId), userinfo),
    { signal: options.signal },
  );
  const metadataLogs = setFunctionMetadata(
    host,
    users,
    userId,
    result.metadata,
    options.creator ?? userId,
  );
  return mergeFunctionResult(userinfo, result, metadataLogs);
}

/** Builds the standard claims of a user, in the order ZITADEL sends them. */
export function userInfoClaims(user: UserRecord): JsonObject {
  const claims: JsonObject = { sub: user.id };
  setIfPresent(claims, "name", user.displayName);
  setIfPresent(claims, "given_name", user.givenName);
  setIfPresent(claims, "family_name", user.familyName);
  setIfPresent(claims, "nickname", user.nickName ?? "");
  setIfPresent(claims, "gender", genderClaims[user.gender ?? 0] ?? "");
  setIfPresent(claims, "locale", user.preferredLanguage ?? "");
  claims.updated_at = Math.floor(user.changeDate / 1000);
  setIfPresent(claims, "preferred_username", user.username);
  setIfPresent(claims, "email", user.email);
  claims.email_verified = user.emailVerified;
  if (user.phone !== null && user.phone !== "") {
    claims.phone_number = user.phone;
    claims.phone_number_verified = user.phoneVerified;
  }
  return claims;
}

/**
 * Builds the preuserinfo payload without the function key, which the
 * runner adds. Keys follow ZITADEL's ContextInfo: userinfo, user,
 * user_metadata (left out when empty) and org. The sample has no
 * organizations, so org carries only the resource owner's id.
 */
function functionPayload(
  user: UserRecord,
  metadata: readonly MetadataRecord[],
  userinfo: JsonObject,
): JsonObject {
  const payload: JsonObject = { userinfo, user: functionUser(user) };
  if (metadata.length > 0) {
    payload.user_metadata = metadata.map((entry) =>
      functionMetadata(user, entry),
    );
  }
  payload.org = { id: user.resourceOwner };
  return payload;
}

// ZITADEL's query.User as Go's encoding/json writes it: empty strings,
// false and 0 are left out, while dates and the language tag are structs,
// which omitempty keeps.
function functionUser(user: UserRecord): JsonObject {
  const human: JsonObject = {};
  setIfPresent(human, "first_name", user.givenName);
  setIfPresent(human, "last_name", user.familyName);
  setIfPresent(human, "nick_name", user.nickName ?? "");
  setIfPresent(human, "display_name", user.displayName);
  human.preferred_language = user.preferredLanguage ?? "und";
  if (user.gender !== null && user.gender !== Gender.UNSPECIFIED) {
    human.gender = user.gender;
  }
  setIfPresent(human, "email", user.email);
  if (user.emailVerified) {
    human.is_email_verified = true;
  }
  setIfPresent(human, "phone", user.phone ?? "");
  if (user.phoneVerified) {
    human.is_phone_verified = true;
  }
  human.password_changed = GO_ZERO_TIME;
  human.mfa_init_skipped = GO_ZERO_TIME;

  return {
    id: user.id,
    creation_date: new Date(user.creationDate).toISOString(),
    change_date: new Date(user.changeDate).toISOString(),
    resource_owner: user.resourceOwner,
    sequence: user.sequence,
    state: domainUserStates[user.state],
    type: DOMAIN_USER_TYPE_HUMAN,
    username: user.username,
    login_names: [user.username],
    preferred_login_name: user.username,
    human,
  };
}

// ZITADEL's query.UserMetadata. The sample keeps no sequence per entry,
// so sequence is left out as Go leaves out 0.
function functionMetadata(user: UserRecord, entry: MetadataRecord): JsonObject {
  return {
    creation_date: new Date(entry.creationDate).toISOString(),
    change_date: new Date(entry.changeDate).toISOString(),
    resource_owner: user.resourceOwner,
    key: entry.key,
    value: Buffer.from(entry.value).toString("base64"),
  };
}

// Writes the valid entries in one transaction and returns, in entry
// order, one log entry per entry that was not set, worded as ZITADEL
// words it.
function setFunctionMetadata(
  host: HostContext,
  users: UserStore,
  userId: string,
  entries: readonly MetadataEntry[],
  creator: string,
): string[] {
  const valid = entries.filter(isValidMetadataEntry);
  let written = false;
  if (valid.length > 0) {
    written = users.transaction(() => {
      // The user may have been deleted while the targets ran.
      if (users.findUser(userId) === undefined) {
        return false;
      }
      const user = users.setMetadata(userId, valid, Date.now());
      userEventSinkFor(host)(metadataSetEvents(user, valid, creator));
      return true;
    });
  }
  return entries
    .filter((entry) => !written || !isValidMetadataEntry(entry))
    .map(
      (entry) => `failed to set user metadata key ${JSON.stringify(entry.key)}`,
    );
}

function mergeFunctionResult(
  userinfo: JsonObject,
  result: FunctionResult,
  metadataLogs: readonly string[],
): JsonObject {
  const claims: JsonObject = { ...userinfo };
  for (const claim of result.claims) {
    claims[claim.key] = claim.value;
  }
  const logs: JsonValue[] = [...metadataLogs, ...result.logClaims];
  if (logs.length > 0) {
    claims[functionLogClaim(PREUSERINFO_FUNCTION)] = logs;
  }
  return claims;
}

function setIfPresent(target: JsonObject, key: string, value: string): void {
  if (value !== "") {
    target[key] = value;
  }
}
