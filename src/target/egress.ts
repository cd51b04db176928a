import type { LookupFunction } from "node:net";
import {
  type AllowList,
  normalizeHostname,
  parseAllowList,
} from "./egress-allow-list.js";
import {
  type EgressResolver,
  type ResolvedAddress,
  systemResolve,
  toLookupFunction,
} from "./egress-lookup.js";
import {
  findDeniedRange,
  isLoopbackHostname,
  isMetadataAddress,
  isMetadataHostname,
} from "./egress-ranges.js";
import { embeddedIpv4, parseIpAddress } from "./ip-address.js";

/** Why the egress guard rejected an endpoint or address. */
export type EgressDenyReason =
  /** The endpoint is not an absolute URL. */
  | "invalid-url"
  /** The endpoint's scheme is not http or https. */
  | "unsupported-protocol"
  /** A cloud instance metadata address or host name, never allowed. */
  | "metadata"
  /** An address in a denied block, or a resolved value that is no address. */
  | "denied-address"
  /** A name such as localhost that always means the loopback interface. */
  | "loopback-hostname";

/**
 * Raised when a target endpoint or the address it resolves to may not be
 * reached. The message names the host and the denied block, and never the
 * full URL.
 */
export class EgressDeniedError extends Error {
  override readonly name = "EgressDeniedError";

  /**
   * @param endpoint the endpoint URL, or the host name when the error comes
   *   from the connect-time lookup.
   */
  constructor(
    readonly endpoint: string,
    readonly reason: EgressDenyReason,
    message: string,
  ) {
    super(message);
  }
}

/** Options for {@link createEgressPolicy}. */
export interface EgressPolicyOptions {
  /**
   * CIDRs, single IP addresses and host names that targets may reach
   * although they are in a denied block. `*.example.com` matches every name
   * below example.com. Cloud metadata addresses stay denied regardless.
   * Default: none.
   */
  allow?: readonly string[];
  /** Resolver used at connect time. Default: the system resolver. */
  resolve?: EgressResolver;
}

/** The egress guard that decides which hosts targets may reach. */
export interface EgressPolicy {
  /**
   * Checks an endpoint URL before a call, without resolving host names: it
   * rejects a denied literal IP address, a metadata host name and, unless
   * allow-listed, a name such as localhost.
   *
   * @throws EgressDeniedError when the endpoint may not be called.
   */
  checkEndpoint(endpoint: string): void;
  /**
   * Reports whether a resolved address may be reached. `hostname` is the
   * name that resolved to it, so that a host name entry in the allow-list
   * applies. Returns false for text that is not an IP address.
   */
  isAddressAllowed(ip: string, hostname?: string): boolean;
  /**
   * A `dns.lookup` replacement for `net.connect({ lookup })`. It resolves
   * the name, drops denied addresses and connects only to the rest, so the
   * check applies to the address actually used. It fails with an
   * EgressDeniedError when no resolved address is allowed.
   */
  lookup: LookupFunction;
}

interface Denial {
  readonly reason: "metadata" | "denied-address";
  readonly description: string;
}

/**
 * Creates the egress guard for target calls. It denies the special-purpose
 * blocks listed in egress-ranges.ts, such as loopback, private, link-local,
 * carrier-grade NAT, multicast, reserved and documentation addresses. It
 * judges an IPv4-mapped, NAT64 or 6to4 IPv6 address by the IPv4 address it
 * carries as well.
 *
 * @throws Error when an allow-list entry is invalid.
 */
export function createEgressPolicy(
  options: EgressPolicyOptions = {},
): EgressPolicy {
  const allowList = parseAllowList(options.allow ?? []);
  const resolve = options.resolve ?? systemResolve;
  return {
    checkEndpoint: (endpoint) => checkEndpoint(allowList, endpoint),
    isAddressAllowed: (ip, hostname) =>
      judge(allowList, ip, hostname) === undefined,
    lookup: toLookupFunction((hostname) =>
      resolveAllowed(allowList, resolve, hostname),
    ),
  };
}

/**
 * Returns why the address may not be reached, or undefined when it may.
 * `hostname` is the name that resolved to the address, if any.
 */
function judge(
  allowList: AllowList,
  ip: string,
  hostname: string | undefined,
): Denial | undefined {
  const name = hostname === undefined ? undefined : normalizeHostname(hostname);
  if (name !== undefined && isMetadataHostname(name)) {
    return { reason: "metadata", description: "a cloud metadata host name" };
  }
  const address = parseIpAddress(ip);
  if (address === undefined) {
    return { reason: "denied-address", description: "not an IP address" };
  }
  const carried = embeddedIpv4(address);
  const candidates = carried === undefined ? [address] : [address, carried];
  // Metadata comes first because no allow-list entry may permit it.
  if (candidates.some(isMetadataAddress)) {
    return { reason: "metadata", description: "a cloud metadata address" };
  }
  if (name !== undefined && allowList.coversHostname(name)) {
    return undefined;
  }
  if (candidates.some((candidate) => allowList.coversAddress(candidate))) {
    return undefined;
  }
  for (const candidate of candidates) {
    const range = findDeniedRange(candidate);
    if (range !== undefined) {
      return {
        reason: "denied-address",
        description: `${range.description} in ${range.block}`,
      };
    }
  }
  return undefined;
}

function checkEndpoint(allowList: AllowList, endpoint: string): void {
  const url = parseEndpoint(endpoint);
  const host = normalizeHostname(url.hostname);
  if (isMetadataHostname(host)) {
    throw metadataError(endpoint, host);
  }
  if (parseIpAddress(host) !== undefined) {
    const denial = judge(allowList, host, undefined);
    if (denial !== undefined) {
      throw denialError(endpoint, host, denial);
    }
    return;
  }
  if (isLoopbackHostname(host) && !isLoopbackAllowed(allowList, host)) {
    throw new EgressDeniedError(
      endpoint,
      "loopback-hostname",
      `egress denied: ${host} always means the loopback interface; add the host name, 127.0.0.0/8 or ::1/128 to the egress allow-list to permit it`,
    );
  }
}

// A loopback name is allowed when the name itself or either loopback
// address is allowed. The connect-time lookup still checks each address.
function isLoopbackAllowed(allowList: AllowList, hostname: string): boolean {
  return (
    allowList.coversHostname(hostname) ||
    judge(allowList, "127.0.0.1", undefined) === undefined ||
    judge(allowList, "::1", undefined) === undefined
  );
}

async function resolveAllowed(
  allowList: AllowList,
  resolve: EgressResolver,
  hostname: string,
): Promise<ResolvedAddress[]> {
  const name = normalizeHostname(hostname);
  if (isMetadataHostname(name)) {
    throw metadataError(hostname, name);
  }
  const resolved = await resolve(hostname);
  const allowed: ResolvedAddress[] = [];
  const denied: string[] = [];
  let metadata = false;
  for (const entry of resolved) {
    const denial = judge(allowList, entry.address, name);
    if (denial === undefined) {
      allowed.push(entry);
    } else {
      metadata ||= denial.reason === "metadata";
      denied.push(`${entry.address} is ${denial.description}`);
    }
  }
  if (allowed.length === 0 && denied.length > 0) {
    throw new EgressDeniedError(
      hostname,
      metadata ? "metadata" : "denied-address",
      `egress denied: ${name} resolves only to denied addresses (${denied.join("; ")}); add the host name or address block to the egress allow-list to permit it`,
    );
  }
  return allowed;
}

function parseEndpoint(endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new EgressDeniedError(
      endpoint,
      "invalid-url",
      "egress denied: the endpoint is not a valid absolute URL; use an http:// or https:// URL",
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new EgressDeniedError(
      endpoint,
      "unsupported-protocol",
      `egress denied: unsupported protocol "${url.protocol}"; use http: or https:`,
    );
  }
  return url;
}

function metadataError(endpoint: string, host: string): EgressDeniedError {
  return new EgressDeniedError(
    endpoint,
    "metadata",
    `egress denied: ${host} is a cloud metadata service, which the egress allow-list cannot permit`,
  );
}

function denialError(
  endpoint: string,
  host: string,
  denial: Denial,
): EgressDeniedError {
  if (denial.reason === "metadata") {
    return metadataError(endpoint, host);
  }
  return new EgressDeniedError(
    endpoint,
    denial.reason,
    `egress denied: ${host} is ${denial.description}; add the address or its block to the egress allow-list to permit it`,
  );
}
