import {
  type Cidr,
  cidrContains,
  cidrOfAddress,
  type IpAddress,
  parseCidr,
  parseIpAddress,
} from "./ip-address.js";

/** Parsed egress allow-list entries. */
export interface AllowList {
  /** Reports whether an allow-listed CIDR or single address covers it. */
  coversAddress(address: IpAddress): boolean;
  /** Reports whether a normalised host name is allow-listed. */
  coversHostname(hostname: string): boolean;
}

const hostnamePattern = /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$/;

/**
 * Parses allow-list entries. An entry is a CIDR (`127.0.0.0/8`, `::1/128`),
 * a single IP address, an exact host name or `*.` followed by a host name,
 * which matches every name below it but not the name itself. Host names
 * match case-insensitively and ignore a trailing dot.
 *
 * @throws Error naming the first entry that is none of these.
 */
export function parseAllowList(entries: readonly string[]): AllowList {
  const blocks: Cidr[] = [];
  const exactNames = new Set<string>();
  const suffixes: string[] = [];
  for (const rawEntry of entries) {
    const entry = rawEntry.trim();
    if (entry.includes("/")) {
      blocks.push(parseCidrEntry(entry));
      continue;
    }
    const address = parseIpAddress(entry);
    if (address !== undefined) {
      blocks.push(cidrOfAddress(address));
      continue;
    }
    const wildcard = entry.startsWith("*.");
    const name = normalizeHostname(wildcard ? entry.slice(2) : entry);
    if (!hostnamePattern.test(name)) {
      throw new Error(
        `egress allow-list: invalid entry "${rawEntry}"; use a CIDR such as 10.0.0.0/8, an IP address, a host name or *.example.com`,
      );
    }
    if (wildcard) {
      suffixes.push(`.${name}`);
    } else {
      exactNames.add(name);
    }
  }
  return {
    coversAddress: (address) =>
      blocks.some((block) => cidrContains(block, address)),
    coversHostname: (hostname) =>
      exactNames.has(hostname) ||
      suffixes.some((suffix) => hostname.endsWith(suffix)),
  };
}

/**
 * Lowercases a host name and removes square brackets around an IPv6 address
 * and one trailing dot, so that `LOCALHOST.` and `localhost` compare equal.
 */
export function normalizeHostname(hostname: string): string {
  let name = hostname.toLowerCase();
  if (name.startsWith("[") && name.endsWith("]")) {
    name = name.slice(1, -1);
  }
  if (name.endsWith(".")) {
    name = name.slice(0, -1);
  }
  return name;
}

function parseCidrEntry(entry: string): Cidr {
  const cidr = parseCidr(entry);
  if (cidr === undefined) {
    throw new Error(
      `egress allow-list: invalid CIDR "${entry}"; use an address and a prefix length such as 10.0.0.0/8 or fd00::/8`,
    );
  }
  return cidr;
}
