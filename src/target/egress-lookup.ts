import { lookup as dnsLookup, type LookupOptions } from "node:dns";
import type { LookupFunction } from "node:net";

/** One address that a host name resolves to. */
export interface ResolvedAddress {
  readonly address: string;
  /** 4 or 6. */
  readonly family: number;
}

/** Resolves a host name to all of its addresses. */
export type EgressResolver = (hostname: string) => Promise<ResolvedAddress[]>;

/**
 * Resolves with the operating system's resolver, as `dns.lookup` does, so
 * /etc/hosts applies.
 */
export function systemResolve(hostname: string): Promise<ResolvedAddress[]> {
  return new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true }, (error, addresses) => {
      if (error) {
        reject(error);
      } else {
        resolve(addresses);
      }
    });
  });
}

/**
 * Adapts a promise-based resolver to the callback form that `net.connect`
 * accepts as its `lookup` option. It honours `options.family` and calls
 * back with one address or, when `options.all` is set, with every address.
 * Sockets use `all` for Happy Eyeballs, which Node 20 enables by default.
 */
export function toLookupFunction(
  resolveAllowed: (hostname: string) => Promise<ResolvedAddress[]>,
): LookupFunction {
  return (hostname, options, callback) => {
    resolveAllowed(hostname)
      .then((addresses) => {
        const wanted = addresses.filter((entry) =>
          familyMatches(entry.family, options),
        );
        const first = wanted[0];
        if (first === undefined) {
          callback(notFoundError(hostname), "");
        } else if (options.all) {
          callback(null, wanted);
        } else {
          callback(null, first.address, first.family);
        }
      })
      .catch((error: NodeJS.ErrnoException) => callback(error, ""));
  };
}

function familyMatches(family: number, options: LookupOptions): boolean {
  switch (options.family) {
    case 4:
    case "IPv4":
      return family === 4;
    case 6:
    case "IPv6":
      return family === 6;
    default:
      return true;
  }
}

// The same shape of error that dns.lookup reports for an unknown name.
function notFoundError(hostname: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
    code: "ENOTFOUND",
    syscall: "getaddrinfo",
    hostname,
  });
}
