import { isIP } from "node:net";

/** An IP address as network-order bytes: 4 for IPv4, 16 for IPv6. */
export interface IpAddress {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
}

/** An address block in CIDR notation, such as 10.0.0.0/8. */
export interface Cidr {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
  readonly prefixLength: number;
}

/**
 * Parses an IPv4 address in dotted-decimal form or an IPv6 address, with or
 * without square brackets and zone index. Returns undefined for anything
 * else, including shorthand IPv4 forms such as `127.1`, which the WHATWG URL
 * parser expands before an address gets here.
 */
export function parseIpAddress(text: string): IpAddress | undefined {
  let value = text;
  if (value.startsWith("[") && value.endsWith("]")) {
    value = value.slice(1, -1);
  }
  const zoneStart = value.indexOf("%");
  if (zoneStart !== -1) {
    value = value.slice(0, zoneStart);
  }
  switch (isIP(value)) {
    case 4:
      return { family: 4, bytes: Uint8Array.from(parseIpv4Parts(value)) };
    case 6:
      return { family: 6, bytes: parseIpv6(value) };
    default:
      return undefined;
  }
}

/**
 * Parses CIDR notation such as `10.0.0.0/8` or `fd00::/8`. Host bits after
 * the prefix are ignored. Returns undefined when the text is not a CIDR.
 */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf("/");
  if (slash === -1) {
    return undefined;
  }
  const address = parseIpAddress(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (address === undefined || !/^\d{1,3}$/.test(prefixText)) {
    return undefined;
  }
  const prefixLength = Number(prefixText);
  if (prefixLength > address.bytes.length * 8) {
    return undefined;
  }
  return { ...address, prefixLength };
}

/** Returns a CIDR that covers exactly one address. */
export function cidrOfAddress(address: IpAddress): Cidr {
  return { ...address, prefixLength: address.bytes.length * 8 };
}

/**
 * Reports whether the block contains the address. An IPv4 block never
 * contains an IPv6 address and the reverse, so `::/0` does not cover IPv4.
 */
export function cidrContains(cidr: Cidr, address: IpAddress): boolean {
  if (cidr.family !== address.family) {
    return false;
  }
  const fullBytes = Math.floor(cidr.prefixLength / 8);
  for (let i = 0; i < fullBytes; i++) {
    if (cidr.bytes[i] !== address.bytes[i]) {
      return false;
    }
  }
  const remainingBits = cidr.prefixLength % 8;
  if (remainingBits === 0) {
    return true;
  }
  const mask = (0xff << (8 - remainingBits)) & 0xff;
  const cidrByte = cidr.bytes[fullBytes] ?? 0;
  const addressByte = address.bytes[fullBytes] ?? 0;
  return (cidrByte & mask) === (addressByte & mask);
}

/**
 * Returns the IPv4 address that an IPv6 address carries when traffic to it
 * ends up at that IPv4 address: IPv4-mapped (`::ffff:0:0/96`), the NAT64
 * well-known prefix (`64:ff9b::/96`, RFC 6052) and 6to4 (`2002::/16`,
 * RFC 3056). Returns undefined for other addresses.
 */
export function embeddedIpv4(address: IpAddress): IpAddress | undefined {
  if (address.family !== 6) {
    return undefined;
  }
  const bytes = address.bytes;
  if (cidrContains(ipv4MappedBlock, address)) {
    return { family: 4, bytes: bytes.slice(12, 16) };
  }
  if (cidrContains(nat64Block, address)) {
    return { family: 4, bytes: bytes.slice(12, 16) };
  }
  if (cidrContains(sixToFourBlock, address)) {
    return { family: 4, bytes: bytes.slice(2, 6) };
  }
  return undefined;
}

function mustParseCidr(text: string): Cidr {
  const cidr = parseCidr(text);
  if (cidr === undefined) {
    throw new Error(`ip-address: invalid built-in CIDR "${text}"`);
  }
  return cidr;
}

const ipv4MappedBlock = mustParseCidr("::ffff:0:0/96");
const nat64Block = mustParseCidr("64:ff9b::/96");
const sixToFourBlock = mustParseCidr("2002::/16");

// The callers have validated the text with net.isIP, so every part is a
// decimal number from 0 to 255 and every group is 1 to 4 hex digits.
function parseIpv4Parts(text: string): number[] {
  return text.split(".").map(Number);
}

function parseIpv6(text: string): Uint8Array {
  const gap = text.indexOf("::");
  const head = gap === -1 ? text : text.slice(0, gap);
  const tail = gap === -1 ? "" : text.slice(gap + 2);
  const headGroups = parseIpv6Groups(head);
  const tailGroups = parseIpv6Groups(tail);
  const zeroGroups = 8 - headGroups.length - tailGroups.length;
  const groups = [
    ...headGroups,
    ...new Array<number>(zeroGroups).fill(0),
    ...tailGroups,
  ];
  const bytes = new Uint8Array(16);
  groups.forEach((group, index) => {
    bytes[index * 2] = group >> 8;
    bytes[index * 2 + 1] = group & 0xff;
  });
  return bytes;
}

function parseIpv6Groups(text: string): number[] {
  if (text === "") {
    return [];
  }
  const groups: number[] = [];
  for (const piece of text.split(":")) {
    if (piece.includes(".")) {
      const [a = 0, b = 0, c = 0, d = 0] = parseIpv4Parts(piece);
      groups.push((a << 8) | b, (c << 8) | d);
    } else {
      groups.push(Number.parseInt(piece, 16));
    }
  }
  return groups;
}
