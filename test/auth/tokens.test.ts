import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  adminPermissions,
  createStaticToken,
  createStaticTokenStore,
  hashToken,
  parseStaticToken,
  parseStaticTokens,
  readStaticTokenFile,
} from "../../src/auth/index.js";
import { ConfigError } from "../../src/config.js";

const SECRET = "s3cr3t-t0ken-value-0001";
const OTHER = "another-token-value-0002";

function thrown(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected an error");
}

describe("parseStaticToken", () => {
  it("parses name:token as an admin token", () => {
    const token = parseStaticToken(`ci:${SECRET}`, "entry 1");
    expect(token.name).toBe("ci");
    expect(token.permissions).toBeUndefined();
  });

  it("parses a permission list", () => {
    const token = parseStaticToken(
      `viewer:${SECRET}:action.target.read+action.execution.read`,
      "entry 1",
    );
    expect(token.permissions).toEqual([
      "action.target.read",
      "action.execution.read",
    ]);
  });

  it("keeps the SHA-256 hash, not the token", () => {
    const token = parseStaticToken(`ci:${SECRET}`, "entry 1");
    const expected = createHash("sha256").update(SECRET).digest();
    expect(token.tokenHash.equals(expected)).toBe(true);
    expect(JSON.stringify(token)).not.toContain(SECRET);
  });

  it("trims surrounding whitespace", () => {
    const token = parseStaticToken(`  ci:${SECRET}  `, "entry 1");
    expect(token.tokenHash.equals(hashToken(SECRET))).toBe(true);
  });

  const invalid: [string, string, RegExp][] = [
    ["a token alone", SECRET, /use name:token/],
    ["four parts", `ci:${SECRET}:a:b`, /tokens cannot contain ":"/],
    ["an empty name", `:${SECRET}`, /the name must be/],
    ["a name with spaces", `c i:${SECRET}`, /the name must be/],
    ["a short token", "ci:short", /has 5 characters/],
    ["an empty token", "ci:", /has 0 characters/],
    ["a token with spaces", "ci:abcdefgh ijklmnopq", /may contain only/],
    ["an empty permission list", `ci:${SECRET}:`, /permission list .* empty/],
    ["an empty permission", `ci:${SECRET}:a++b`, /permission 2 of the list/],
    ["a bad permission", `ci:${SECRET}:a+b/c`, /permission 2 of the list/],
  ];

  it.each(invalid)("rejects %s", (_name, entry, message) => {
    const error = thrown(() => parseStaticToken(entry, "entry 3"));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(message);
    expect(error.message).toContain("entry 3");
  });

  it.each(invalid)("never echoes the entry for %s", (_name, entry) => {
    const error = thrown(() => parseStaticToken(entry, "entry 3"));
    const secret = entry.split(":")[1] ?? entry;
    if (secret.length >= 4) {
      expect(error.message).not.toContain(secret);
    }
  });

  it("never echoes a token that was pasted into the list", () => {
    const error = thrown(() =>
      parseStaticToken(`ci:${SECRET}:tail/of+token`, "entry 1"),
    );
    expect(error.message).not.toContain("tail/of");
  });
});

describe("parseStaticTokens", () => {
  it("numbers entries from 1", () => {
    const error = thrown(() =>
      parseStaticTokens([`a:${SECRET}`, "broken"], "ACTIONS_AUTH_TOKENS"),
    );
    expect(error.message).toContain("ACTIONS_AUTH_TOKENS entry 2");
  });
});

describe("readStaticTokenFile", () => {
  let folder: string;

  beforeAll(() => {
    folder = mkdtempSync(join(tmpdir(), "actions-tokens-"));
  });

  afterAll(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  it("skips comments and blank lines", () => {
    const path = join(folder, "tokens");
    writeFileSync(
      path,
      `# deploy tokens\n\nci:${SECRET}\r\nviewer:${OTHER}:action.target.read\n`,
    );
    const tokens = readStaticTokenFile(path);
    expect(tokens.map((token) => token.name)).toEqual(["ci", "viewer"]);
  });

  it("names the line of an invalid entry", () => {
    const path = join(folder, "broken");
    writeFileSync(path, `ci:${SECRET}\n# note\nbroken\n`);
    const error = thrown(() => readStaticTokenFile(path));
    expect(error.message).toContain(`line 3 of ${path}`);
  });

  it("rejects a missing file", () => {
    const error = thrown(() => readStaticTokenFile(join(folder, "missing")));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/cannot read the static token file/);
  });
});

describe("createStaticTokenStore", () => {
  const store = createStaticTokenStore([
    createStaticToken("admin", SECRET),
    createStaticToken("viewer", OTHER, ["action.target.read"]),
  ]);

  it("returns the caller of a matching token", () => {
    const identity = store.verify(OTHER);
    expect(identity?.userId).toBe("viewer");
    expect(identity?.projectId).toBe("");
    expect([...(identity?.permissions ?? [])]).toEqual(["action.target.read"]);
  });

  it("gives an admin token the five action permissions", () => {
    const identity = store.verify(SECRET);
    expect(identity?.userId).toBe("admin");
    expect([...(identity?.permissions ?? [])].sort()).toEqual(
      [...adminPermissions].sort(),
    );
  });

  it.each([
    ["a wrong token", "not-the-token-at-all"],
    ["a prefix", SECRET.slice(0, -1)],
    ["a longer token", `${SECRET}x`],
    ["a different case", SECRET.toUpperCase()],
    ["an empty token", ""],
  ])("rejects %s", (_name, token) => {
    expect(store.verify(token)).toBeUndefined();
  });

  it("uses the configured admin permissions", () => {
    const custom = createStaticTokenStore(
      [createStaticToken("admin", SECRET)],
      { adminPermissions: ["action.target.read", "user.write"] },
    );
    const identity = custom.verify(SECRET);
    expect([...(identity?.permissions ?? [])]).toEqual([
      "action.target.read",
      "user.write",
    ]);
  });

  it("returns a fresh permission set per call", () => {
    const first = store.verify(OTHER)?.permissions as Set<string>;
    first.add("action.target.write");
    expect(store.verify(OTHER)?.permissions.has("action.target.write")).toBe(
      false,
    );
  });

  it("rejects a name used twice", () => {
    const error = thrown(() =>
      createStaticTokenStore([
        createStaticToken("ci", SECRET),
        createStaticToken("ci", OTHER),
      ]),
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/"ci" is used twice/);
  });

  it("rejects a token used twice", () => {
    const error = thrown(() =>
      createStaticTokenStore([
        createStaticToken("ci", SECRET),
        createStaticToken("deploy", SECRET),
      ]),
    );
    expect(error.message).toMatch(/"ci" and "deploy" have the same token/);
    expect(error.message).not.toContain(SECRET);
  });
});
