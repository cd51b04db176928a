// Calls a target RPC and an execution RPC with the buf CLI from
// node_modules, once with the schema from gRPC reflection and once with the
// protos of this repository (--schema proto).
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  authHeader,
  startTestServer,
  type TestServer,
} from "../support/start-server.js";

const run = promisify(execFile);
const bufBinary = join(process.cwd(), "node_modules", ".bin", "buf");

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ functions: ["preuserinfo"] });
});

afterAll(async () => {
  await server.stop();
});

// Runs buf curl against the ActionService v2 and parses its JSON output.
async function bufCurl(
  schemaArgs: readonly string[],
  method: string,
  body: unknown,
  protocol = "connect",
): Promise<Record<string, unknown>> {
  const { stdout } = await run(
    bufBinary,
    [
      "curl",
      "--http2-prior-knowledge",
      "--protocol",
      protocol,
      ...schemaArgs,
      "-H",
      `Authorization: ${authHeader.authorization}`,
      "-d",
      JSON.stringify(body),
      `${server.baseUrl}/zitadel.action.v2.ActionService/${method}`,
    ],
    { timeout: 20_000, cwd: process.cwd() },
  );
  return JSON.parse(stdout) as Record<string, unknown>;
}

const schemas: Array<[string, readonly string[]]> = [
  ["reflection", []],
  ["--schema proto", ["--schema", "proto"]],
];

describe.each(schemas)("buf curl with %s", (label, schemaArgs) => {
  it("should create and get a target", async () => {
    const name = `buf curl ${label}`;
    const created = await bufCurl(schemaArgs, "CreateTarget", {
      name,
      restCall: { interruptOnError: true },
      timeout: "10s",
      endpoint: "https://example.com/buf-curl",
    });
    expect(created.id).toMatch(/^\d+$/);
    expect(created.signingKey).toEqual(expect.any(String));
    const targetId = created.id as string;

    const got = await bufCurl(
      schemaArgs,
      "GetTarget",
      { id: targetId },
      "grpc",
    );
    expect(got.target).toMatchObject({
      id: targetId,
      name,
      restCall: { interruptOnError: true },
      timeout: "10s",
      endpoint: "https://example.com/buf-curl",
    });
  });

  it("should set and list an execution", async () => {
    const created = await bufCurl(schemaArgs, "CreateTarget", {
      name: `buf curl execution ${label}`,
      restWebhook: {},
      timeout: "5s",
      endpoint: "https://example.com/buf-curl-execution",
    });
    const targetId = created.id as string;

    const set = await bufCurl(schemaArgs, "SetExecution", {
      condition: { function: { name: "preuserinfo" } },
      targets: [targetId],
    });
    expect(set.setDate).toEqual(expect.any(String));

    const listed = await bufCurl(
      schemaArgs,
      "ListExecutions",
      { filters: [{ targetFilter: { targetId } }] },
      "grpcweb",
    );
    expect(listed.executions).toEqual([
      expect.objectContaining({
        condition: { function: { name: "preuserinfo" } },
        targets: [targetId],
      }),
    ]);

    const methods = await bufCurl(schemaArgs, "ListExecutionMethods", {});
    expect(methods.methods).toContain(
      "/zitadel.action.v2.ActionService/SetExecution",
    );
  });
});
