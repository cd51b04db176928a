import { randomInt } from "node:crypto";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  UserState,
  UserStateSchema,
} from "../../gen/zitadel/user/v2/user_pb.js";
import { UserService } from "../../gen/zitadel/user/v2/user_service_pb.js";
import { type HostContext, type HostService, hostService } from "../server.js";
import {
  detailsFromUser,
  metadataToProto,
  userFromAddRequest,
  userToProto,
} from "./converters.js";
import {
  invalidField,
  metadataNotFound,
  userIdTaken,
  userNotFound,
  userNotLockable,
  userNotLocked,
  usernameTaken,
} from "./errors.js";
import {
  metadataFiltersCondition,
  resolvePage,
  userOrderBy,
  userQueriesCondition,
} from "./list-query.js";
import {
  creatorOf,
  humanAddedPayload,
  metadataRemovedEvents,
  metadataSetEvents,
  userEvent,
  userEventSinkFor,
} from "./user-events.js";
import type { UserRecord } from "./user-schema.js";
import { userStoreFor } from "./user-store.js";
import {
  checkLength,
  checkMetadata,
  checkUserId,
  MAX_NAME_RUNES,
  validateAddHumanUser,
} from "./validation.js";

const CODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const CODE_LENGTH = 6;

/**
 * Creates the sample zitadel.user.v2.UserService: a subset of ZITADEL's
 * user API that stores human users and their metadata in the host store,
 * so that executions can be tried on real RPCs. Creating it applies the
 * sample's migrations.
 *
 * Every write emits ZITADEL's events for it in the same transaction:
 * user.human.added (and user.metadata.set per initial entry),
 * user.locked, user.unlocked, user.removed, and user.metadata.set or
 * user.metadata.removed per key. Their creator is the authenticated
 * caller. A write that fails emits nothing. Declare sampleEventTypes as
 * the server's eventTypes; without them the events are skipped (see
 * userEventSinkFor).
 *
 * Passwords, IdP links and TOTP secrets are accepted and discarded.
 * Verification codes are returned when the request chooses return_code,
 * but are not stored, because the subset has no RPC that verifies them.
 * ListUsers sorts by creation date unless sorting_column names another
 * column, and ListUserMetadata sorts by key. Both sort descending unless
 * the request sets asc.
 */
export function createSampleUserService(host: HostContext): HostService {
  const users = userStoreFor(host.store);
  const emitAll = userEventSinkFor(host);

  const requireUser = (userId: string): UserRecord => {
    const user = users.findUser(userId);
    if (user === undefined) {
      throw userNotFound(userId);
    }
    return user;
  };

  const implementation: ServiceImpl<typeof UserService> = {
    addHumanUser(request, context) {
      validateAddHumanUser(request);
      const user = userFromAddRequest(
        request,
        request.userId ?? host.newId(),
        Date.now(),
      );
      users.transaction(() => {
        if (users.findUser(user.id) !== undefined) {
          throw userIdTaken(user.id);
        }
        if (users.usernameExists(user.username)) {
          throw usernameTaken(user.username);
        }
        users.insertUser(user, request.metadata);
        const creator = creatorOf(context);
        emitAll([
          userEvent("user.human.added", user, creator, humanAddedPayload(user)),
          ...metadataSetEvents(user, request.metadata, creator),
        ]);
      });
      const returnCode = (choice: { case?: string } | undefined) =>
        choice?.case === "returnCode" ? verificationCode() : undefined;
      return {
        userId: user.id,
        details: detailsFromUser(user),
        emailCode: returnCode(request.email?.verification),
        phoneCode: returnCode(request.phone?.verification),
      };
    },

    getUserByID(request) {
      checkUserId("GetUserByIDRequest.UserId", request.userId);
      const user = requireUser(request.userId);
      return { details: detailsFromUser(user), user: userToProto(user) };
    },

    listUsers(request) {
      const query = request.query;
      const page = resolvePage(
        query?.offset ?? 0n,
        query?.limit ?? 0,
        query?.asc ?? false,
      );
      const filter = userQueriesCondition(request.queries);
      const orderBy = userOrderBy(request.sortingColumn, page.ascending);
      const result = users.listUsers(filter, orderBy, page);
      return {
        details: {
          totalResult: BigInt(result.total),
          timestamp: timestampFromMs(Date.now()),
        },
        sortingColumn: request.sortingColumn,
        result: result.items.map(userToProto),
      };
    },

    lockUser(request, context) {
      checkUserId("LockUserRequest.UserId", request.userId);
      const user = users.transaction(() => {
        const user = requireUser(request.userId);
        // As in ZITADEL, only active and initial users can be locked.
        if (
          user.state !== UserState.ACTIVE &&
          user.state !== UserState.INITIAL
        ) {
          throw userNotLockable(user.id, stateName(user.state));
        }
        const locked = users.setState(user.id, UserState.LOCKED, Date.now());
        emitAll([userEvent("user.locked", locked, creatorOf(context))]);
        return locked;
      });
      return { details: detailsFromUser(user) };
    },

    unlockUser(request, context) {
      checkUserId("UnlockUserRequest.UserId", request.userId);
      const user = users.transaction(() => {
        const user = requireUser(request.userId);
        if (user.state !== UserState.LOCKED) {
          throw userNotLocked(user.id, stateName(user.state));
        }
        const unlocked = users.setState(user.id, UserState.ACTIVE, Date.now());
        emitAll([userEvent("user.unlocked", unlocked, creatorOf(context))]);
        return unlocked;
      });
      return { details: detailsFromUser(user) };
    },

    deleteUser(request, context) {
      checkUserId("DeleteUserRequest.UserId", request.userId);
      const user = users.transaction(() => {
        requireUser(request.userId);
        const removed = users.deleteUser(request.userId, Date.now());
        emitAll([userEvent("user.removed", removed, creatorOf(context))]);
        return removed;
      });
      return { details: detailsFromUser(user) };
    },

    setUserMetadata(request, context) {
      checkUserId("SetUserMetadataRequest.UserId", request.userId);
      if (request.metadata.length === 0) {
        throw invalidField(
          "SetUserMetadataRequest.Metadata",
          "value must contain at least 1 item(s)",
        );
      }
      checkMetadata("SetUserMetadataRequest.Metadata", request.metadata);
      const date = Date.now();
      users.transaction(() => {
        requireUser(request.userId);
        const user = users.setMetadata(request.userId, request.metadata, date);
        emitAll(metadataSetEvents(user, request.metadata, creatorOf(context)));
      });
      return { setDate: timestampFromMs(date) };
    },

    listUserMetadata(request) {
      checkUserId("ListUserMetadataRequest.UserId", request.userId);
      const pagination = request.pagination;
      const page = resolvePage(
        pagination?.offset ?? 0n,
        pagination?.limit ?? 0,
        pagination?.asc ?? false,
      );
      const filter = metadataFiltersCondition(request.filters);
      const result = users.transaction(() => {
        requireUser(request.userId);
        return users.listMetadata(request.userId, filter, page);
      });
      return {
        pagination: {
          totalResult: BigInt(result.total),
          appliedLimit: BigInt(page.limit),
        },
        metadata: result.items.map(metadataToProto),
      };
    },

    deleteUserMetadata(request, context) {
      const prefix = "DeleteUserMetadataRequest";
      checkUserId(`${prefix}.UserId`, request.userId);
      if (request.keys.length === 0) {
        throw invalidField(
          `${prefix}.Keys`,
          "value must contain at least 1 item(s)",
        );
      }
      request.keys.forEach((key, index) => {
        checkLength(`${prefix}.Keys[${index}]`, key, 1, MAX_NAME_RUNES);
      });
      const date = Date.now();
      users.transaction(() => {
        requireUser(request.userId);
        // As in ZITADEL, one unknown key fails the whole request.
        const [missing] = users.missingMetadataKeys(
          request.userId,
          request.keys,
        );
        if (missing !== undefined) {
          throw metadataNotFound(request.userId, missing);
        }
        const user = users.deleteMetadata(request.userId, request.keys, date);
        emitAll(metadataRemovedEvents(user, request.keys, creatorOf(context)));
      });
      return { deletionDate: timestampFromMs(date) };
    },
  };

  return hostService(UserService, implementation);
}

function verificationCode(): string {
  let code = "";
  for (let i = 0; i < CODE_LENGTH; i++) {
    code += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  }
  return code;
}

function stateName(state: UserState): string {
  return UserStateSchema.value[state]?.name ?? `state ${state}`;
}
