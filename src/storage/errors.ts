/** A write broke a unique constraint, such as a second target name. */
export class UniqueViolationError extends Error {
  override readonly name = "UniqueViolationError";

  constructor(
    readonly table: string,
    cause: unknown,
  ) {
    super(`unique constraint failed on ${table}`, { cause });
  }
}

/** Converts SQLite's unique-constraint error into a UniqueViolationError. */
export function rethrowUnique(table: string, error: unknown): never {
  const code = (error as { code?: unknown } | null)?.code;
  if (
    code === "SQLITE_CONSTRAINT_UNIQUE" ||
    code === "SQLITE_CONSTRAINT_PRIMARYKEY"
  ) {
    throw new UniqueViolationError(table, error);
  }
  throw error;
}
