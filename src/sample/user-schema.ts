import type { Gender, UserState } from "../../gen/zitadel/user/v2/user_pb.js";
import type { HostMigration, SqlValue } from "../server.js";

/** A stored user. Dates are Unix milliseconds. */
export interface UserRecord {
  id: string;
  /** Id of the organization that owns the user. */
  resourceOwner: string;
  username: string;
  state: UserState;
  givenName: string;
  familyName: string;
  nickName: string | null;
  displayName: string;
  preferredLanguage: string | null;
  gender: Gender | null;
  email: string;
  emailVerified: boolean;
  phone: string | null;
  phoneVerified: boolean;
  /** Number of changes so far, starting at 1 for the creation. */
  sequence: number;
  creationDate: number;
  changeDate: number;
}

/** A stored metadata entry of a user. Dates are Unix milliseconds. */
export interface MetadataRecord {
  key: string;
  value: Uint8Array;
  creationDate: number;
  changeDate: number;
}

/**
 * Tables of the sample. Usernames are unique ignoring case, as ZITADEL's
 * lowercased unique constraints are. DeleteUser removes the rows, so a
 * deleted user's id and username can be used again, as in ZITADEL.
 */
export const sampleMigrations: readonly HostMigration[] = [
  {
    name: "sample_0001_users",
    sql: `
      create table sample_users (
        id text primary key,
        resource_owner text not null,
        username text not null,
        state integer not null,
        given_name text not null,
        family_name text not null,
        nick_name text,
        display_name text not null,
        preferred_language text,
        gender integer,
        email text not null,
        email_verified integer not null,
        phone text,
        phone_verified integer not null,
        sequence integer not null,
        creation_date integer not null,
        change_date integer not null
      );
      create unique index sample_users_username_idx
        on sample_users (lower(username));
      create table sample_user_metadata (
        user_id text not null references sample_users (id),
        key text not null,
        value blob not null,
        creation_date integer not null,
        change_date integer not null,
        primary key (user_id, key)
      );
    `,
  },
];

// Column of sample_users for each field of UserRecord.
const userColumns: Record<keyof UserRecord, string> = {
  id: "id",
  resourceOwner: "resource_owner",
  username: "username",
  state: "state",
  givenName: "given_name",
  familyName: "family_name",
  nickName: "nick_name",
  displayName: "display_name",
  preferredLanguage: "preferred_language",
  gender: "gender",
  email: "email",
  emailVerified: "email_verified",
  phone: "phone",
  phoneVerified: "phone_verified",
  sequence: "sequence",
  creationDate: "creation_date",
  changeDate: "change_date",
};
const userFields = Object.keys(userColumns) as (keyof UserRecord)[];

/** Select list of sample_users whose rows userFromRow converts. */
export const userSelectList = userFields
  .map((field) => `${userColumns[field]} as ${field}`)
  .join(", ");

/** Select list of sample_user_metadata that yields MetadataRecord rows. */
export const metadataSelectList =
  "key, value, creation_date as creationDate, change_date as changeDate";

/** A row selected with userSelectList. */
export type UserRow = Omit<UserRecord, "emailVerified" | "phoneVerified"> & {
  emailVerified: number;
  phoneVerified: number;
};

/** Converts a row selected with userSelectList to a UserRecord. */
export function userFromRow(row: UserRow): UserRecord {
  return {
    ...row,
    emailVerified: row.emailVerified === 1,
    phoneVerified: row.phoneVerified === 1,
  };
}

/** Builds the insert statement of a user and its parameters. */
export function userInsert(user: UserRecord): {
  sql: string;
  params: SqlValue[];
} {
  const columns = userFields.map((field) => userColumns[field]);
  const placeholders = userFields.map(() => "?");
  return {
    sql: `insert into sample_users (${columns.join(", ")})
      values (${placeholders.join(", ")})`,
    params: userFields.map((field) => {
      const value = user[field];
      return typeof value === "boolean" ? Number(value) : value;
    }),
  };
}
