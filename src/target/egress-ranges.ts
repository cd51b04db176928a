import {
  type Cidr,
  cidrContains,
  type IpAddress,
  parseCidr,
  parseIpAddress,
} from "./ip-address.js";

/** A denied address block and the phrase, with article, that names it. */
export interface DeniedRange {
  readonly cidr: Cidr;
  /** The block in CIDR notation, as an allow-list entry would spell it. */
  readonly block: string;
  readonly description: string;
}

// Special-purpose blocks from the IANA IPv4 and IPv6 Special-Purpose Address
// Registries (RFC 6890 and its updates) that a target on the public internet
// never uses. The documentation blocks are denied too, because no real
// service listens there, so an endpoint in them is a mistake or a probe.
const deniedRangeTable: readonly [string, string][] = [
  ["0.0.0.0/8", "an unspecified or this-network address"],
  ["10.0.0.0/8", "a private address (RFC 1918)"],
  ["100.64.0.0/10", "a carrier-grade NAT address (RFC 6598)"],
  ["127.0.0.0/8", "a loopback address"],
  ["169.254.0.0/16", "a link-local address"],
  ["172.16.0.0/12", "a private address (RFC 1918)"],
  ["192.0.0.0/24", "an IETF protocol assignment"],
  ["192.0.2.0/24", "a documentation address (TEST-NET-1)"],
  ["192.88.99.0/24", "a deprecated 6to4 relay anycast address"],
  ["192.168.0.0/16", "a private address (RFC 1918)"],
  ["198.18.0.0/15", "a benchmarking address (RFC 2544)"],
  ["198.51.100.0/24", "a documentation address (TEST-NET-2)"],
  ["203.0.113.0/24", "a documentation address (TEST-NET-3)"],
  ["224.0.0.0/4", "a multicast address"],
  ["240.0.0.0/4", "a reserved or broadcast address"],
  // ::/96 contains the unspecified address ::, the loopback address ::1 and the
  // deprecated IPv4-compatible addresses.
  ["::/96", "an unspecified, loopback or IPv4-compatible IPv6 address"],
  ["64:ff9b:1::/48", "a local-use NAT64 address (RFC 8215)"],
  ["100::/64", "a discard-only address (RFC 6666)"],
  // 2001::/23 includes Teredo (2001::/32), which tunnels to an IPv4 address
  // that is obfuscated rather than embedded.
  ["2001::/23", "an IETF protocol assignment, including Teredo"],
  ["2001:db8::/32", "a documentation address"],
  ["fc00::/7", "a unique local address"],
  ["fe80::/10", "a link-local address"],
  ["fec0::/10", "a deprecated site-local address"],
  ["ff00::/8", "a multicast address"],
];

/** Address blocks that targets may not reach unless allow-listed. */
export const deniedRanges: readonly DeniedRange[] = deniedRangeTable.map(
  ([block, description]) => ({
    cidr: mustParseCidr(block),
    block,
    description,
  }),
);

// Instance metadata services hand out cloud credentials, so they stay denied
// even when an allow-list block covers them.
const metadataAddresses: readonly IpAddress[] = [
  "169.254.169.254", // AWS, GCP, Azure, Oracle Cloud, DigitalOcean and others
  "169.254.170.2", // AWS ECS task metadata and credentials
  "fd00:ec2::254", // AWS IMDS over IPv6
  "100.100.100.200", // Alibaba Cloud
  "168.63.129.16", // Azure WireServer
].map(mustParseAddress);

const metadataHostnames: ReadonlySet<string> = new Set([
  "metadata",
  "metadata.google.internal",
  "metadata.goog",
  "instance-data",
  "instance-data.ec2.internal",
]);

// Names that resolve to the loopback interface on common systems without a
// DNS query. RFC 6761 reserves localhost and every name under it.
const loopbackHostnames: ReadonlySet<string> = new Set([
  "localhost",
  "localhost.localdomain",
  "ip6-localhost",
  "ip6-loopback",
]);

/** Reports whether the address is a cloud instance metadata address. */
export function isMetadataAddress(address: IpAddress): boolean {
  return metadataAddresses.some(
    (metadata) =>
      metadata.family === address.family &&
      metadata.bytes.every((byte, index) => byte === address.bytes[index]),
  );
}

/**
 * Reports whether a normalised host name (lowercase, no trailing dot) names
 * a cloud instance metadata service.
 */
export function isMetadataHostname(hostname: string): boolean {
  return metadataHostnames.has(hostname);
}

/**
 * Reports whether a normalised host name always means the loopback
 * interface: `localhost`, any name under `.localhost` and a few aliases from
 * common /etc/hosts files.
 */
export function isLoopbackHostname(hostname: string): boolean {
  return loopbackHostnames.has(hostname) || hostname.endsWith(".localhost");
}

/** Returns the denied block that contains the address, if any. */
export function findDeniedRange(address: IpAddress): DeniedRange | undefined {
  return deniedRanges.find((range) => cidrContains(range.cidr, address));
}

function mustParseCidr(text: string): Cidr {
  const cidr = parseCidr(text);
  if (cidr === undefined) {
    throw new Error(`egress: invalid built-in CIDR "${text}"`);
  }
  return cidr;
}

function mustParseAddress(text: string): IpAddress {
  const address = parseIpAddress(text);
  if (address === undefined) {
    throw new Error(`egress: invalid built-in address "${text}"`);
  }
  return address;
}
