import { UserState } from "../../gen/zitadel/user/v2/user_pb.js";
import type { HostStore } from "../server.js";
import type { Page } from "./list-query.js";
import type { SqlCondition } from "./text-condition.js";
import {
  type MetadataRecord,
  metadataSelectList,
  sampleMigrations,
  type UserRecord,
  type UserRow,
  userFromRow,
  userInsert,
  userSelectList,
} from "./user-schema.js";
import type { MetadataEntry } from "./validation.js";

/** One page of a list and the number of matches on all pages. */
export interface ListResult<T> {
  items: T[];
  total: number;
}

/** SQL access to the sample's users and their metadata. */
export type UserStore = ReturnType<typeof createUserStore>;

const storesByHostStore = new WeakMap<HostStore, UserStore>();

/**
 * Returns the user store of a host store, creating it and applying the
 * migrations on the first call, so that the UserService and buildUserInfo
 * share one store.
 */
export function userStoreFor(store: HostStore): UserStore {
  let users = storesByHostStore.get(store);
  if (users === undefined) {
    users = createUserStore(store);
    storesByHostStore.set(store, users);
  }
  return users;
}

/** Creates the user store and applies its migrations. */
export function createUserStore(store: HostStore) {
  store.migrate(sampleMigrations);

  const findUser = (userId: string): UserRecord | undefined => {
    const row = store.get<UserRow>(
      `select ${userSelectList} from sample_users where id = ?`,
      userId,
    );
    return row === undefined ? undefined : userFromRow(row);
  };

  // Counts one change of a user, optionally sets its state, and returns
  // the user as stored. Callers check in the same transaction that the
  // user exists.
  const changeUser = (
    userId: string,
    date: number,
    state?: UserState,
  ): UserRecord => {
    store.run(
      `update sample_users
        set sequence = sequence + 1, change_date = ?, state = coalesce(?, state)
        where id = ?`,
      date,
      state ?? null,
      userId,
    );
    const user = findUser(userId);
    if (user === undefined) {
      throw new Error(`sample user store: user ${userId} is missing`);
    }
    return user;
  };

  return {
    /** Runs `fn` in one transaction. `fn` must be synchronous. */
    transaction: <T>(fn: () => T): T => store.transaction(fn),
    findUser,
    /** Reports whether a user has the username, ignoring case. */
    usernameExists: (username: string): boolean =>
      store.get(
        "select 1 from sample_users where lower(username) = lower(?)",
        username,
      ) !== undefined,
    insertUser(user: UserRecord, metadata: readonly MetadataEntry[]): void {
      const insert = userInsert(user);
      store.run(insert.sql, ...insert.params);
      upsertMetadata(store, user.id, metadata, user.creationDate);
    },
    /** Sets the state of a user and counts the change. */
    setState: (userId: string, state: UserState, date: number) =>
      changeUser(userId, date, state),
    /**
     * Removes a user and its metadata. Returns the user as it was at
     * deletion: state USER_STATE_DELETED, with the deletion counted.
     */
    deleteUser(userId: string, date: number): UserRecord {
      const user = changeUser(userId, date, UserState.DELETED);
      store.run("delete from sample_user_metadata where user_id = ?", userId);
      store.run("delete from sample_users where id = ?", userId);
      return user;
    },
    listUsers(
      filter: SqlCondition,
      orderBy: string,
      page: Page,
    ): ListResult<UserRecord> {
      const where = filter.sql;
      const rows = store.all<UserRow>(
        `select ${userSelectList} from sample_users where ${where}
          order by ${orderBy} limit ? offset ?`,
        ...filter.params,
        page.limit,
        page.offset,
      );
      const count = store.get<{ total: number }>(
        `select count(*) as total from sample_users where ${where}`,
        ...filter.params,
      );
      return { items: rows.map(userFromRow), total: count?.total ?? 0 };
    },
    /** Inserts or replaces metadata entries and counts one user change. */
    setMetadata(
      userId: string,
      entries: readonly MetadataEntry[],
      date: number,
    ): UserRecord {
      upsertMetadata(store, userId, entries, date);
      return changeUser(userId, date);
    },
    /** Returns the metadata keys of `keys` that the user does not have. */
    missingMetadataKeys: (userId: string, keys: readonly string[]): string[] =>
      keys.filter(
        (key) =>
          store.get(
            "select 1 from sample_user_metadata where user_id = ? and key = ?",
            userId,
            key,
          ) === undefined,
      ),
    /** Deletes metadata entries and counts one user change. */
    deleteMetadata(
      userId: string,
      keys: readonly string[],
      date: number,
    ): UserRecord {
      store.run(
        `delete from sample_user_metadata
          where user_id = ? and key in (select value from json_each(?))`,
        userId,
        JSON.stringify(keys),
      );
      return changeUser(userId, date);
    },
    /** Returns every metadata entry of the user, sorted by key. */
    allMetadata: (userId: string): MetadataRecord[] =>
      store
        .all<MetadataRecord>(
          `select ${metadataSelectList} from sample_user_metadata
            where user_id = ? order by key asc`,
          userId,
        )
        .map((row) => ({ ...row, value: new Uint8Array(row.value) })),
    listMetadata(
      userId: string,
      filter: SqlCondition,
      page: Page,
    ): ListResult<MetadataRecord> {
      const where = `user_id = ? and (${filter.sql})`;
      const direction = page.ascending ? "asc" : "desc";
      const rows = store.all<MetadataRecord>(
        `select ${metadataSelectList} from sample_user_metadata where ${where}
          order by key ${direction} limit ? offset ?`,
        userId,
        ...filter.params,
        page.limit,
        page.offset,
      );
      const count = store.get<{ total: number }>(
        `select count(*) as total from sample_user_metadata where ${where}`,
        userId,
        ...filter.params,
      );
      return {
        items: rows.map((row) => ({
          ...row,
          value: new Uint8Array(row.value),
        })),
        total: count?.total ?? 0,
      };
    },
  };
}

function upsertMetadata(
  store: HostStore,
  userId: string,
  entries: readonly MetadataEntry[],
  date: number,
): void {
  for (const entry of entries) {
    store.run(
      `insert into sample_user_metadata
          (user_id, key, value, creation_date, change_date)
        values (?, ?, ?, ?, ?)
        on conflict (user_id, key)
        do update set value = excluded.value, change_date = excluded.change_date`,
      userId,
      entry.key,
      Buffer.from(entry.value),
      date,
      date,
    );
  }
}
