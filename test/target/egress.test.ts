import type { LookupAddress } from "node:dns";
import {
  createEgressPolicy,
  EgressDeniedError,
  type EgressDenyReason,
  type EgressPolicy,
  type ResolvedAddress,
} from "../../src/target/index.js";

// These tests only parse and compare strings. Nothing here opens a
// connection, so the public and metadata addresses are never contacted.

function denialOf(policy: EgressPolicy, endpoint: string): EgressDeniedError {
  try {
    policy.checkEndpoint(endpoint);
  } catch (error) {
    if (error instanceof EgressDeniedError) {
      return error;
    }
    throw error;
  }
  throw new Error(`expected ${endpoint} to be denied`);
}

function expectDenied(
  policy: EgressPolicy,
  endpoint: string,
  reason: EgressDenyReason,
): void {
  const error = denialOf(policy, endpoint);
  expect(error.reason).toBe(reason);
  expect(error.endpoint).toBe(endpoint);
}

/** Calls policy.lookup the way net.connect does and returns the addresses. */
function lookupAll(
  policy: EgressPolicy,
  hostname: string,
  family?: number,
): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => {
    policy.lookup(hostname, { all: true, family }, (error, addresses) => {
      if (error) {
        reject(error);
      } else {
        resolve(addresses as LookupAddress[]);
      }
    });
  });
}

function lookupOne(
  policy: EgressPolicy,
  hostname: string,
): Promise<{ address: string; family: number | undefined }> {
  return new Promise((resolve, reject) => {
    policy.lookup(hostname, {}, (error, address, family) => {
      if (error) {
        reject(error);
      } else {
        resolve({ address: address as string, family });
      }
    });
  });
}

function resolveTo(...addresses: string[]) {
  return async (): Promise<ResolvedAddress[]> =>
    addresses.map((address) => ({
      address,
      family: address.includes(":") ? 6 : 4,
    }));
}

describe("createEgressPolicy checkEndpoint", () => {
  const policy = createEgressPolicy({ allow: [] });

  it.each([
    "http://127.0.0.1/",
    "https://127.0.0.1:8443/hook",
    "http://127.1/",
    "http://2130706433/",
    "http://0x7f.1/",
    "http://0x7f000001/",
    "http://0177.0.0.1/",
    "http://017700000001/",
    "http://127.0.0.1./",
    "http://１２７.０.０.１/",
    "http://[::1]/",
    "http://[0:0:0:0:0:0:0:1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[64:ff9b::127.0.0.1]/",
    "http://[2002:7f00:1::]/",
    "http://[::127.0.0.1]/",
    "http://0.0.0.0/",
    "http://0/",
    "http://[::]/",
    "http://10.1.2.3/",
    "http://172.16.0.1/",
    "http://172.31.255.255/",
    "http://192.168.1.1/",
    "http://[::ffff:10.0.0.1]/",
    "http://[64:ff9b::a00:1]/",
    "http://[2002:c0a8:101::]/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://169.254.1.1/",
    "http://[fe80::1]/",
    "http://100.64.0.1/",
    "http://100.127.255.255/",
    "http://224.0.0.1/",
    "http://239.255.255.250/",
    "http://[ff02::1]/",
    "http://255.255.255.255/",
    "http://240.0.0.1/",
    "http://198.18.0.1/",
    "http://198.19.255.255/",
    "http://192.0.2.1/",
    "http://198.51.100.1/",
    "http://203.0.113.1/",
    "http://[2001:db8::1]/",
    "http://[2001::1]/",
    "http://[64:ff9b:1::1]/",
  ])("denies %s", (endpoint) => {
    expectDenied(policy, endpoint, "denied-address");
  });

  it.each([
    "http://8.8.8.8/",
    "https://1.1.1.1:8443/hook",
    "http://100.63.255.255/",
    "http://100.128.0.0/",
    "http://172.32.0.1/",
    "http://[2001:4860:4860::8888]/",
    "http://[::ffff:8.8.8.8]/",
    "http://[64:ff9b::808:808]/",
    "https://hooks.example.com/zitadel",
    "https://localhost.example.com/",
  ])("allows %s", (endpoint) => {
    expect(() => policy.checkEndpoint(endpoint)).not.toThrow();
  });

  it.each([
    "http://localhost/",
    "http://LOCALHOST./",
    "http://%6c%6fcalhost/",
    "http://api.localhost:8080/",
    "http://localhost.localdomain/",
    "http://ip6-localhost/",
  ])("denies loopback name %s", (endpoint) => {
    expectDenied(policy, endpoint, "loopback-hostname");
  });

  it.each(["not a url", "/relative/path", ""])("denies invalid %p", (url) => {
    expectDenied(policy, url, "invalid-url");
  });

  it.each(["ftp://example.com/", "file:///etc/passwd", "ws://example.com/"])(
    "denies protocol of %s",
    (endpoint) => {
      expectDenied(policy, endpoint, "unsupported-protocol");
    },
  );

  it("names the host and the block in the message", () => {
    const error = denialOf(policy, "http://user:pw@127.1:9000/x?token=t");
    expect(error.message).toContain("127.0.0.1");
    expect(error.message).toContain("127.0.0.0/8");
    expect(error.message).not.toContain("token");
    expect(error.message).not.toContain("pw");
  });
});

describe("createEgressPolicy metadata", () => {
  const everything = createEgressPolicy({
    allow: [
      "0.0.0.0/0",
      "::/0",
      "169.254.0.0/16",
      "metadata.google.internal",
      "*.internal",
      "metadata",
    ],
  });

  it.each([
    "http://169.254.169.254/latest/meta-data/",
    "http://0xa9fea9fe/",
    "http://2852039166/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[2002:a9fe:a9fe::]/",
    "http://169.254.170.2/v2/credentials",
    "http://[fd00:ec2::254]/",
    "http://100.100.100.200/latest/meta-data/",
    "http://168.63.129.16/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://METADATA.google.internal./",
    "http://metadata/",
    "http://metadata.goog/",
  ])("denies %s despite the allow-list", (endpoint) => {
    expectDenied(everything, endpoint, "metadata");
  });

  it("denies a metadata address for an allowed name", () => {
    const policy = createEgressPolicy({ allow: ["*.example.com"] });
    expect(policy.isAddressAllowed("169.254.169.254", "a.example.com")).toBe(
      false,
    );
  });

  it("says the allow-list cannot permit it", () => {
    const error = denialOf(everything, "http://169.254.169.254/");
    expect(error.message).toContain("cannot permit");
  });
});

describe("createEgressPolicy allow-list", () => {
  it("allows addresses inside an allowed CIDR", () => {
    const policy = createEgressPolicy({ allow: ["10.0.0.0/8"] });
    expect(() => policy.checkEndpoint("http://10.1.2.3/")).not.toThrow();
    expectDenied(policy, "http://192.168.1.1/", "denied-address");
  });

  it("allows IPv4-mapped forms of allowed IPv4", () => {
    const policy = createEgressPolicy({ allow: ["127.0.0.0/8"] });
    expect(() => policy.checkEndpoint("http://127.1/")).not.toThrow();
    expect(() => policy.checkEndpoint("http://[::ffff:7f00:1]/")).not.toThrow();
    expectDenied(policy, "http://[::1]/", "denied-address");
  });

  it("keeps IPv4 and IPv6 blocks apart", () => {
    const policy = createEgressPolicy({ allow: ["0.0.0.0/0", "::1/128"] });
    expect(() => policy.checkEndpoint("http://[::1]/")).not.toThrow();
    expectDenied(policy, "http://[fe80::1]/", "denied-address");
    const ipv6Only = createEgressPolicy({ allow: ["::/0"] });
    expectDenied(ipv6Only, "http://127.0.0.1/", "denied-address");
  });

  it("allows a single address entry", () => {
    const policy = createEgressPolicy({ allow: ["192.168.1.10"] });
    expect(policy.isAddressAllowed("192.168.1.10")).toBe(true);
    expect(policy.isAddressAllowed("192.168.1.11")).toBe(false);
  });

  it("allows loopback names when loopback is allowed", () => {
    const policy = createEgressPolicy({ allow: ["127.0.0.0/8"] });
    expect(() => policy.checkEndpoint("http://localhost:3000/")).not.toThrow();
  });

  it("allows an allow-listed loopback name", () => {
    const policy = createEgressPolicy({ allow: ["LocalHost", "*.localhost"] });
    expect(() => policy.checkEndpoint("http://localhost/")).not.toThrow();
    expect(() => policy.checkEndpoint("http://a.localhost/")).not.toThrow();
    expect(policy.isAddressAllowed("127.0.0.1")).toBe(false);
  });

  it("matches host names exactly or below a wildcard", () => {
    const policy = createEgressPolicy({
      allow: ["hooks.internal.test", "*.svc.cluster.local"],
    });
    expect(policy.isAddressAllowed("10.0.0.5", "HOOKS.internal.test.")).toBe(
      true,
    );
    expect(policy.isAddressAllowed("10.0.0.5", "a.b.svc.cluster.local")).toBe(
      true,
    );
    expect(policy.isAddressAllowed("10.0.0.5", "svc.cluster.local")).toBe(
      false,
    );
    expect(policy.isAddressAllowed("10.0.0.5", "other.internal.test")).toBe(
      false,
    );
  });

  it.each([
    "10.0.0.0/33",
    "::1/129",
    "10.0.0.0/x",
    "10.0.0/8",
    "not a host",
    "*.",
  ])("rejects invalid entry %p", (entry) => {
    expect(() => createEgressPolicy({ allow: [entry] })).toThrow(entry);
  });
});

describe("createEgressPolicy isAddressAllowed", () => {
  const policy = createEgressPolicy();

  it.each([
    ["8.8.8.8", true],
    ["2606:4700:4700::1111", true],
    ["127.0.0.1", false],
    ["::1", false],
    ["::ffff:127.0.0.1", false],
    ["fe80::1%eth0", false],
    ["10.0.0.1", false],
    ["127.1", false],
    ["not-an-ip", false],
    ["", false],
  ])("returns %p -> %p", (address, allowed) => {
    expect(policy.isAddressAllowed(address)).toBe(allowed);
  });
});

describe("createEgressPolicy lookup", () => {
  it("rejects a name that resolves to loopback", async () => {
    const policy = createEgressPolicy({ resolve: resolveTo("127.0.0.1") });
    const error = await lookupAll(policy, "rebind.test").catch((e) => e);
    expect(error).toBeInstanceOf(EgressDeniedError);
    expect(error.reason).toBe("denied-address");
    expect(error.endpoint).toBe("rebind.test");
    expect(error.message).toContain("127.0.0.1");
  });

  it("drops denied addresses and keeps allowed ones", async () => {
    const policy = createEgressPolicy({
      resolve: resolveTo("10.0.0.1", "93.184.215.14", "::1", "2606:2800::1"),
    });
    const all = await lookupAll(policy, "mixed.test");
    expect(all.map((entry) => entry.address)).toEqual([
      "93.184.215.14",
      "2606:2800::1",
    ]);
    const one = await lookupOne(policy, "mixed.test");
    expect(one).toEqual({ address: "93.184.215.14", family: 4 });
  });

  it("filters by the requested family", async () => {
    const policy = createEgressPolicy({
      resolve: resolveTo("93.184.215.14", "2606:2800::1"),
    });
    const ipv6 = await lookupAll(policy, "dual.test", 6);
    expect(ipv6).toEqual([{ address: "2606:2800::1", family: 6 }]);
  });

  it("reports ENOTFOUND when no address has the family", async () => {
    const policy = createEgressPolicy({ resolve: resolveTo("93.184.215.14") });
    const error = await lookupAll(policy, "v4only.test", 6).catch((e) => e);
    expect(error.code).toBe("ENOTFOUND");
  });

  it("allows loopback when allow-listed", async () => {
    const policy = createEgressPolicy({
      allow: ["127.0.0.0/8"],
      resolve: resolveTo("127.0.0.1"),
    });
    await expect(lookupOne(policy, "stub.test")).resolves.toEqual({
      address: "127.0.0.1",
      family: 4,
    });
  });

  it("allows any address of an allow-listed name", async () => {
    const policy = createEgressPolicy({
      allow: ["*.cluster.test"],
      resolve: resolveTo("10.1.2.3"),
    });
    const all = await lookupAll(policy, "hooks.cluster.test");
    expect(all).toEqual([{ address: "10.1.2.3", family: 4 }]);
  });

  it("denies metadata even for an allowed name", async () => {
    const policy = createEgressPolicy({
      allow: ["*.cluster.test", "0.0.0.0/0"],
      resolve: resolveTo("169.254.169.254"),
    });
    const error = await lookupAll(policy, "a.cluster.test").catch((e) => e);
    expect(error).toBeInstanceOf(EgressDeniedError);
    expect(error.reason).toBe("metadata");
  });

  it("denies a metadata name without resolving it", async () => {
    let resolveCalls = 0;
    const policy = createEgressPolicy({
      resolve: async () => {
        resolveCalls++;
        return [{ address: "8.8.8.8", family: 4 }];
      },
    });
    const error = await lookupAll(policy, "metadata.google.internal").catch(
      (e) => e,
    );
    expect(error.reason).toBe("metadata");
    expect(resolveCalls).toBe(0);
  });

  it("passes resolver errors through", async () => {
    const failure = Object.assign(new Error("getaddrinfo ENOTFOUND x.test"), {
      code: "ENOTFOUND",
    });
    const policy = createEgressPolicy({
      resolve: () => Promise.reject(failure),
    });
    await expect(lookupAll(policy, "x.test")).rejects.toBe(failure);
  });
});
