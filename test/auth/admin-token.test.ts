import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import {
  ADMIN_TOKEN_FILE,
  type AuthConfig,
  createAuth,
  loadOrCreateAdminToken,
} from "../../src/auth/index.js";
import { ConfigError } from "../../src/config.js";

let dataDir: string;

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "actions-admin-"));
});

afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

const posixOnly = process.platform === "win32" ? it.skip : it;

describe("loadOrCreateAdminToken", () => {
  it("generates 32 random bytes in base64url", () => {
    const admin = loadOrCreateAdminToken(dataDir);
    expect(admin.created).toBe(true);
    expect(admin.path).toBe(join(dataDir, ADMIN_TOKEN_FILE));
    expect(admin.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(admin.token, "base64url")).toHaveLength(32);
  });

  it("writes the token to the file", () => {
    const admin = loadOrCreateAdminToken(dataDir);
    expect(readFileSync(admin.path, "utf8")).toBe(`${admin.token}\n`);
  });

  posixOnly("creates the file with mode 0600", () => {
    const admin = loadOrCreateAdminToken(dataDir);
    expect(statSync(admin.path).mode & 0o777).toBe(0o600);
  });

  it("reuses the file on the second call", () => {
    const first = loadOrCreateAdminToken(dataDir);
    const second = loadOrCreateAdminToken(dataDir);
    expect(second.created).toBe(false);
    expect(second.token).toBe(first.token);
  });

  it("leaves no temporary file behind", () => {
    loadOrCreateAdminToken(dataDir);
    loadOrCreateAdminToken(dataDir);
    expect(readdirSync(dataDir)).toEqual([ADMIN_TOKEN_FILE]);
  });

  it("creates a missing data folder", () => {
    const nested = join(dataDir, "a", "b");
    const admin = loadOrCreateAdminToken(nested);
    expect(admin.path).toBe(join(nested, ADMIN_TOKEN_FILE));
  });

  it("gives separate folders separate tokens", () => {
    const other = join(dataDir, "other");
    mkdirSync(other);
    expect(loadOrCreateAdminToken(other).token).not.toBe(
      loadOrCreateAdminToken(dataDir).token,
    );
  });

  posixOnly("rejects a file that others can read", () => {
    const admin = loadOrCreateAdminToken(dataDir);
    chmodSync(admin.path, 0o644);
    expect(() => loadOrCreateAdminToken(dataDir)).toThrow(ConfigError);
    expect(() => loadOrCreateAdminToken(dataDir)).toThrow(
      /has mode 0644.*chmod 600/,
    );
  });

  it("rejects an empty file", () => {
    writeFileSync(join(dataDir, ADMIN_TOKEN_FILE), "", { mode: 0o600 });
    expect(() => loadOrCreateAdminToken(dataDir)).toThrow(
      /does not contain a valid token/,
    );
  });

  posixOnly("rejects a symbolic link", () => {
    const target = join(dataDir, "elsewhere");
    writeFileSync(target, "x".repeat(43), { mode: 0o600 });
    symlinkSync(target, join(dataDir, ADMIN_TOKEN_FILE));
    expect(() => loadOrCreateAdminToken(dataDir)).toThrow(ConfigError);
    expect(() => loadOrCreateAdminToken(dataDir)).toThrow(/symbolic link/);
  });
});

/** Creates a pino logger that writes its lines to `lines`. */
function captureLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: pino({ level: "trace" }, stream), lines };
}

function authConfig(overrides: Partial<AuthConfig> = {}): AuthConfig {
  return {
    dataDir,
    authTokens: [],
    authTokensFile: "",
    jwtJwksUrl: "",
    jwtJwks: "",
    jwtIssuer: "",
    jwtAudience: [],
    jwtPermissionsClaim: "",
    jwtProjectIdClaim: "",
    jwtClockToleranceMs: 30_000,
    ...overrides,
  };
}

describe("createAuth admin token", () => {
  let written: string[];
  let restore: (() => void)[];

  beforeEach(() => {
    written = [];
    restore = [];
    for (const stream of [process.stdout, process.stderr]) {
      const original = stream.write.bind(stream);
      stream.write = ((chunk: unknown, ...rest: unknown[]) => {
        written.push(String(chunk));
        return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof stream.write;
      restore.push(() => {
        stream.write = original;
      });
    }
  });

  afterEach(() => {
    for (const undo of restore) undo();
  });

  it("logs the path, never the token", () => {
    const { logger, lines } = captureLogger();
    const auth = createAuth(authConfig(), { logger });
    const token = auth.adminToken?.token ?? "";
    expect(token).not.toBe("");
    expect(lines.join("")).toContain(join(dataDir, ADMIN_TOKEN_FILE));
    expect(lines.join("")).not.toContain(token);
    expect(written.join("")).not.toContain(token);
  });

  it("reports a reused file", () => {
    const first = createAuth(authConfig());
    const { logger, lines } = captureLogger();
    const second = createAuth(authConfig(), { logger });
    expect(second.adminToken?.created).toBe(false);
    expect(second.adminToken?.token).toBe(first.adminToken?.token);
    expect(lines.join("")).toContain("using the admin token file");
    expect(lines.join("")).not.toContain(first.adminToken?.token ?? "-");
  });

  it("skips the file when tokens are configured", () => {
    const auth = createAuth(
      authConfig({ authTokens: ["ci:0123456789abcdef0123"] }),
    );
    expect(auth.adminToken).toBeUndefined();
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it("skips the file when a JWKS is configured", () => {
    const auth = createAuth(
      authConfig({
        jwtJwks: '{"keys":[]}',
        jwtIssuer: "https://issuer.test",
        jwtAudience: ["project"],
      }),
    );
    expect(auth.adminToken).toBeUndefined();
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it.each([
    ["an issuer without a key set", { jwtIssuer: "https://issuer.test" }],
    ["an audience without a key set", { jwtAudience: ["project"] }],
    ["a key set without an issuer", { jwtJwks: '{"keys":[]}' }],
    [
      "a key set without an audience",
      { jwtJwks: '{"keys":[]}', jwtIssuer: "https://issuer.test" },
    ],
  ])("rejects %s", (_name, overrides) => {
    expect(() => createAuth(authConfig(overrides))).toThrow(ConfigError);
    expect(readdirSync(dataDir)).toEqual([]);
  });
});
