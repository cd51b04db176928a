import { and, asc, eq, gt, isNull, or } from "drizzle-orm";
import type { Database } from "./database.js";
import { instanceSigningKeys, targetPublicKeys } from "./schema.js";
import type { SecretCodec } from "./target-repository.js";

/** A public key of a target. */
export interface PublicKeyRecord {
  keyId: string;
  targetId: string;
  active: boolean;
  /** PEM text of the PKIX key. */
  publicKey: string;
  fingerprint: string;
  /** Unix milliseconds; undefined when the key never expires. */
  expirationDate: number | undefined;
  /** Unix milliseconds. */
  creationDate: number;
  /** Unix milliseconds. */
  changeDate: number;
}

/** Reads and writes the public keys of targets. Every method is synchronous. */
export interface PublicKeyRepository {
  insert(key: PublicKeyRecord): void;
  /** Returns the key when it belongs to the target. */
  get(targetId: string, keyId: string): PublicKeyRecord | undefined;
  /** Every key of the target, oldest first. */
  list(targetId: string): PublicKeyRecord[];
  /**
   * Makes the key the only active key of its target in one transaction, so
   * the key that was active before becomes inactive at `changeDate`.
   */
  activate(targetId: string, keyId: string, changeDate: number): void;
  deactivate(targetId: string, keyId: string, changeDate: number): void;
  /** Deletes the key; false when it was absent. */
  delete(targetId: string, keyId: string): boolean;
  /**
   * The active key of the target that has not expired at `now`.
   *
   * NOTE: An expired active key counts as missing. Whether ZITADEL still
   * encrypts to it is not confirmed.
   */
  activeKey(targetId: string, now: number): PublicKeyRecord | undefined;
}

/** Creates the public key repository. */
export function createPublicKeyRepository(
  database: Database,
): PublicKeyRepository {
  const { db } = database;
  const toRecord = (
    row: typeof targetPublicKeys.$inferSelect,
  ): PublicKeyRecord => ({
    ...row,
    expirationDate: row.expirationDate ?? undefined,
  });
  const keyOf = (targetId: string, keyId: string) =>
    and(
      eq(targetPublicKeys.targetId, targetId),
      eq(targetPublicKeys.keyId, keyId),
    );

  return {
    insert(key) {
      db.insert(targetPublicKeys)
        .values({ ...key, expirationDate: key.expirationDate ?? null })
        .run();
    },
    get(targetId, keyId) {
      const row = db
        .select()
        .from(targetPublicKeys)
        .where(keyOf(targetId, keyId))
        .get();
      return row === undefined ? undefined : toRecord(row);
    },
    list(targetId) {
      return db
        .select()
        .from(targetPublicKeys)
        .where(eq(targetPublicKeys.targetId, targetId))
        .orderBy(
          asc(targetPublicKeys.creationDate),
          asc(targetPublicKeys.keyId),
        )
        .all()
        .map(toRecord);
    },
    activate(targetId, keyId, changeDate) {
      database.transaction((tx) => {
        tx.update(targetPublicKeys)
          .set({ active: false, changeDate })
          .where(
            and(
              eq(targetPublicKeys.targetId, targetId),
              eq(targetPublicKeys.active, true),
            ),
          )
          .run();
        tx.update(targetPublicKeys)
          .set({ active: true, changeDate })
          .where(keyOf(targetId, keyId))
          .run();
      });
    },
    deactivate(targetId, keyId, changeDate) {
      db.update(targetPublicKeys)
        .set({ active: false, changeDate })
        .where(keyOf(targetId, keyId))
        .run();
    },
    delete(targetId, keyId) {
      return (
        db.delete(targetPublicKeys).where(keyOf(targetId, keyId)).run()
          .changes > 0
      );
    },
    activeKey(targetId, now) {
      const row = db
        .select()
        .from(targetPublicKeys)
        .where(
          and(
            eq(targetPublicKeys.targetId, targetId),
            eq(targetPublicKeys.active, true),
            or(
              isNull(targetPublicKeys.expirationDate),
              gt(targetPublicKeys.expirationDate, now),
            ),
          ),
        )
        .get();
      return row === undefined ? undefined : toRecord(row);
    },
  };
}

/** A key pair that signs PAYLOAD_TYPE_JWT bodies. */
export interface InstanceSigningKeyRecord {
  keyId: string;
  /** JWS algorithm, e.g. ES256. */
  algorithm: string;
  /** PKCS#8 PEM of the private key. */
  privateKey: string;
  /** Public JWK as JSON text. */
  publicJwk: string;
  /** Unix milliseconds. */
  creationDate: number;
}

/** A stored instance signing key whose private key is not decrypted yet. */
export interface StoredInstanceSigningKey
  extends Omit<InstanceSigningKeyRecord, "privateKey"> {
  /**
   * Decrypts the private key. It throws when the master key differs from
   * the one that encrypted it.
   */
  openPrivateKey(): string;
}

/** Reads and writes the instance signing keys. */
export interface InstanceSigningKeyRepository {
  /** Every key, oldest first, without decrypting the private keys. */
  list(): StoredInstanceSigningKey[];
  insert(key: InstanceSigningKeyRecord): void;
}

/** Creates the repository; private keys pass through `codec`. */
export function createInstanceSigningKeyRepository(
  database: Database,
  codec: SecretCodec,
): InstanceSigningKeyRepository {
  const { db } = database;
  return {
    list() {
      return db
        .select()
        .from(instanceSigningKeys)
        .orderBy(asc(instanceSigningKeys.creationDate))
        .all()
        .map(({ privateKey, ...row }) => ({
          ...row,
          openPrivateKey: () => codec.open(privateKey),
        }));
    },
    insert(key) {
      db.insert(instanceSigningKeys)
        .values({ ...key, privateKey: codec.seal(key.privateKey) })
        .run();
    },
  };
}
