import {
  createEgressPolicy,
  createTargetCaller,
  EgressDeniedError,
  type EgressPolicyOptions,
  TargetCallError,
  type TargetCaller,
  type TargetEndpoint,
} from "../../src/target/index.js";
import { type StubTarget, startStubTarget } from "../support/stub-target.js";

// The injected resolvers map made-up names under .test (RFC 2606) to the
// stub on 127.0.0.1, so no query leaves the machine.

const payload = new TextEncoder().encode("{}");

let stub: StubTarget;
const callers: TargetCaller[] = [];

function callerWith(options: EgressPolicyOptions): TargetCaller {
  const caller = createTargetCaller({ egress: createEgressPolicy(options) });
  callers.push(caller);
  return caller;
}

function targetAt(endpoint: string): TargetEndpoint {
  return { id: "target-e", endpoint, timeoutMs: 2000, signingKey: "key" };
}

async function callError(
  promise: Promise<Uint8Array>,
): Promise<TargetCallError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TargetCallError);
  return error as TargetCallError;
}

const resolveToStub = async () => [{ address: "127.0.0.1", family: 4 }];

beforeEach(async () => {
  stub = await startStubTarget();
});

afterEach(async () => {
  await Promise.all(callers.splice(0).map((caller) => caller.close()));
  await stub.close();
});

describe("createTargetCaller egress", () => {
  it("denies a literal loopback endpoint", async () => {
    const caller = callerWith({ allow: [] });
    const error = await callError(caller.call(targetAt(stub.url), payload));
    expect(error.kind).toBe("egress-denied");
    expect(error.cause).toBeInstanceOf(EgressDeniedError);
    expect(stub.requests).toHaveLength(0);
  });

  it.each([
    "http://127.1:PORT/",
    "http://0x7f000001:PORT/",
    "http://[::ffff:127.0.0.1]:PORT/",
  ])("denies the spelling %s", async (pattern) => {
    const caller = callerWith({ allow: ["::1/128"] });
    const endpoint = pattern.replace("PORT", String(stub.port));
    const error = await callError(caller.call(targetAt(endpoint), payload));
    expect(error.kind).toBe("egress-denied");
    expect(stub.requests).toHaveLength(0);
  });

  it("denies a name resolving to loopback", async () => {
    const caller = callerWith({ allow: [], resolve: resolveToStub });
    const endpoint = `http://stub-target.test:${stub.port}/hook`;
    const error = await callError(caller.call(targetAt(endpoint), payload));
    expect(error.kind).toBe("egress-denied");
    expect(error.message).toContain("stub-target.test");
    expect(error.message).toContain("127.0.0.1");
    expect(stub.requests).toHaveLength(0);
  });

  it("allows that name when loopback is allowed", async () => {
    const caller = callerWith({
      allow: ["127.0.0.0/8", "::1/128"],
      resolve: resolveToStub,
    });
    const endpoint = `http://stub-target.test:${stub.port}/hook`;
    await caller.call(targetAt(endpoint), payload);
    expect(stub.requests).toHaveLength(1);
    expect(stub.requests[0]?.headers.host).toBe(
      `stub-target.test:${stub.port}`,
    );
  });

  it("allows that name when the name is allowed", async () => {
    const caller = callerWith({
      allow: ["*.test"],
      resolve: resolveToStub,
    });
    const endpoint = `http://stub-target.test:${stub.port}/hook`;
    await caller.call(targetAt(endpoint), payload);
    expect(stub.requests).toHaveLength(1);
  });

  it("checks the address of every new connection", async () => {
    let answer = "127.0.0.1";
    const caller = callerWith({
      allow: ["127.0.0.0/8"],
      resolve: async () => [{ address: answer, family: 4 }],
    });
    const endpoint = `http://rebind.test:${stub.port}/hook`;
    // The stub closes the first connection, so the next call reconnects.
    stub.reply({ headers: { connection: "close" } });
    await caller.call(targetAt(endpoint), payload);
    answer = "10.0.0.1";
    const error = await callError(caller.call(targetAt(endpoint), payload));
    expect(error.kind).toBe("egress-denied");
    expect(stub.requests).toHaveLength(1);
  });

  it("reports a DNS failure as transport", async () => {
    const failure = Object.assign(
      new Error("getaddrinfo ENOTFOUND gone.test"),
      {
        code: "ENOTFOUND",
      },
    );
    const caller = callerWith({
      allow: ["127.0.0.0/8"],
      resolve: () => Promise.reject(failure),
    });
    const endpoint = `http://gone.test:${stub.port}/hook`;
    const error = await callError(caller.call(targetAt(endpoint), payload));
    expect(error.kind).toBe("transport");
    expect(error.message).toContain("ENOTFOUND");
  });

  it("denies an invalid endpoint", async () => {
    const caller = callerWith({ allow: [] });
    const error = await callError(caller.call(targetAt("not a url"), payload));
    expect(error.kind).toBe("egress-denied");
    expect((error.cause as EgressDeniedError).reason).toBe("invalid-url");
  });
});
