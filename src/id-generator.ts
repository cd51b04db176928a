/** Start of the id clock: 2019-04-29T00:00:00Z, as ZITADEL's Sonyflake uses. */
const EPOCH_MS = Date.UTC(2019, 3, 29);
const TIME_UNIT_MS = 10;
const SEQUENCE_BITS = 8n;
const MACHINE_BITS = 16n;
const MAX_SEQUENCE = (1 << Number(SEQUENCE_BITS)) - 1;

/** Generates unique decimal ids; see createIdGenerator. */
export type IdGenerator = () => string;

/**
 * Creates a Sonyflake id generator like ZITADEL's: 39 bits of 10 ms units
 * since 2019-04-29, 8 bits of sequence and 16 bits of machine id, written as
 * an unsigned decimal string. Ids of one generator grow with time, so they
 * sort by creation. When 256 ids were taken in one 10 ms unit, the clock
 * borrows the next unit instead of waiting.
 */
export function createIdGenerator(machineId: number): IdGenerator {
  if (!Number.isInteger(machineId) || machineId < 0 || machineId > 0xffff) {
    throw new RangeError(
      `invalid machine id ${machineId}: use an integer from 0 to 65535`,
    );
  }
  let lastUnit = -1;
  let sequence = 0;
  return () => {
    const unit = Math.floor((Date.now() - EPOCH_MS) / TIME_UNIT_MS);
    if (unit > lastUnit) {
      lastUnit = unit;
      sequence = 0;
    } else if (sequence < MAX_SEQUENCE) {
      sequence++;
    } else {
      lastUnit++;
      sequence = 0;
    }
    const id =
      (BigInt(lastUnit) << (SEQUENCE_BITS + MACHINE_BITS)) |
      (BigInt(sequence) << MACHINE_BITS) |
      BigInt(machineId);
    return id.toString();
  };
}
