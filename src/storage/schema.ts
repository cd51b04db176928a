import { sql } from "drizzle-orm";
import {
  index,
  integer,
  primaryKey,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";

/**
 * Targets: HTTP endpoints that executions call. Dates are Unix
 * milliseconds; the signing key is stored encrypted (AES-256-GCM).
 */
export const targets = sqliteTable(
  "targets",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull().unique(),
    targetType: integer("target_type").notNull(),
    interruptOnError: integer("interrupt_on_error", { mode: "boolean" })
      .notNull()
      .default(false),
    endpoint: text("endpoint").notNull(),
    timeoutMs: integer("timeout_ms").notNull(),
    payloadType: integer("payload_type").notNull().default(0),
    signingKey: text("signing_key").notNull(),
    creationDate: integer("creation_date").notNull(),
    changeDate: integer("change_date").notNull(),
  },
  (table) => [
    index("targets_creation_date_idx").on(table.creationDate),
    index("targets_change_date_idx").on(table.changeDate),
  ],
);

/**
 * Executions, keyed by their condition in ZITADEL's form, for example
 * `request/zitadel.user.v2.UserService/AddHumanUser` or `event/user.*`.
 */
export const executions = sqliteTable("executions", {
  id: text("id").primaryKey(),
  creationDate: integer("creation_date").notNull(),
  changeDate: integer("change_date").notNull(),
});

/** Ordered targets of an execution; deleting a target removes its rows. */
export const executionTargets = sqliteTable(
  "execution_targets",
  {
    executionId: text("execution_id")
      .notNull()
      .references(() => executions.id, { onDelete: "cascade" }),
    position: integer("position").notNull(),
    targetId: text("target_id")
      .notNull()
      .references(() => targets.id, { onDelete: "cascade" }),
  },
  (table) => [
    primaryKey({ columns: [table.executionId, table.position] }),
    index("execution_targets_target_id_idx").on(table.targetId),
  ],
);

/**
 * Public keys of targets, which PAYLOAD_TYPE_JWE bodies are encrypted to.
 * The partial unique index keeps at most one active key per target.
 */
export const targetPublicKeys = sqliteTable(
  "target_public_keys",
  {
    keyId: text("key_id").primaryKey(),
    targetId: text("target_id")
      .notNull()
      .references(() => targets.id, { onDelete: "cascade" }),
    active: integer("active", { mode: "boolean" }).notNull().default(false),
    /** PEM text of the PKIX key. */
    publicKey: text("public_key").notNull(),
    fingerprint: text("fingerprint").notNull(),
    /** Unix milliseconds; null when the key never expires. */
    expirationDate: integer("expiration_date"),
    creationDate: integer("creation_date").notNull(),
    changeDate: integer("change_date").notNull(),
  },
  (table) => [
    index("target_public_keys_target_id_idx").on(table.targetId),
    uniqueIndex("target_public_keys_active_idx")
      .on(table.targetId)
      .where(sql`${table.active} = 1`),
  ],
);

/**
 * Key pairs that sign PAYLOAD_TYPE_JWT bodies. The private key is a PKCS#8
 * PEM, stored encrypted (AES-256-GCM); the public key is a JWK.
 */
export const instanceSigningKeys = sqliteTable("instance_signing_keys", {
  keyId: text("key_id").primaryKey(),
  algorithm: text("algorithm").notNull(),
  privateKey: text("private_key").notNull(),
  publicJwk: text("public_jwk").notNull(),
  creationDate: integer("creation_date").notNull(),
});
