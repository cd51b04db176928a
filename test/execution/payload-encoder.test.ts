import { generateKeyPairSync } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { ActionsError } from "../../src/errors.js";
import {
  createPayloadEncoder,
  type PayloadEncoder,
  withPayloadEncoding,
} from "../../src/execution/payload-encoder.js";
import type { TargetCaller, TargetEndpoint } from "../../src/target/index.js";

// The encoder and the caller wrapper without a server: which targets are
// encoded, and how often a body is signed.

function target(payloadType?: TargetEndpoint["payloadType"]): TargetEndpoint {
  return {
    id: "target-1",
    endpoint: "http://127.0.0.1:1/hook",
    timeoutMs: 1000,
    signingKey: "key",
    payloadType,
  };
}

function recordingCaller(): TargetCaller & { bodies: Uint8Array[] } {
  const bodies: Uint8Array[] = [];
  return {
    bodies,
    async call(_target, body) {
      bodies.push(body);
      return new Uint8Array(0);
    },
    close: async () => {},
  };
}

function encoder(): PayloadEncoder {
  const pair = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  return createPayloadEncoder({
    signingKey: {
      keyId: "key-1",
      algorithm: "ES256",
      privateKey: () => pair.privateKey,
      publicJwk: {},
    },
    activeKey: () => undefined,
  });
}

const throwingEncoder: PayloadEncoder = {
  encode() {
    throw new Error("the encoder must not run for JSON targets");
  },
};

describe("withPayloadEncoding", () => {
  it.each([
    ["unset", undefined],
    ["json", "json"],
  ] as const)("passes %s bodies through unchanged", async (_, type) => {
    const caller = recordingCaller();
    const body = Buffer.from('{"a":1}');

    await withPayloadEncoding(caller, throwingEncoder).call(target(type), body);

    expect(caller.bodies).toHaveLength(1);
    expect(caller.bodies[0]).toBe(body);
  });

  it("sends the encoded body for jwt targets", async () => {
    const caller = recordingCaller();

    await withPayloadEncoding(caller, encoder()).call(
      target("jwt"),
      Buffer.from('{"a":1}'),
    );

    const sent = Buffer.from(caller.bodies[0] ?? []).toString();
    expect(sent.split(".")).toHaveLength(3);
  });

  it("calls no target when encoding fails", async () => {
    const caller = recordingCaller();

    await expect(
      withPayloadEncoding(caller, encoder()).call(
        target("jwe"),
        Buffer.from("{}"),
      ),
    ).rejects.toThrow(ActionsError);
    expect(caller.bodies).toHaveLength(0);
  });
});

describe("createPayloadEncoder", () => {
  it("signs one body once", async () => {
    const payloadEncoder = encoder();
    const body = Buffer.from('{"a":1}');

    const first = await payloadEncoder.encode(target("jwt"), body);
    const second = await payloadEncoder.encode(target("jwt"), body);
    const other = await payloadEncoder.encode(
      target("jwt"),
      Buffer.from('{"a":1}'),
    );

    // ES256 signatures are randomized, so equal output means one signature.
    expect(Buffer.from(second).toString()).toBe(Buffer.from(first).toString());
    expect(Buffer.from(other).toString()).not.toBe(
      Buffer.from(first).toString(),
    );
  });

  it("raises MissingEncryptionKey without an active key", async () => {
    let error: unknown;
    try {
      await encoder().encode(target("jwe"), Buffer.from("{}"));
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(ActionsError);
    expect((error as ActionsError).code).toBe(Code.Internal);
    expect((error as ActionsError).id).toBe("EXEC-2n8fhs7g");
    expect((error as ActionsError).key).toBe(
      "Errors.Execution.MissingEncryptionKey",
    );
  });
});
