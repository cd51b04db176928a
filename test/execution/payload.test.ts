import type { MessageInitShape } from "@bufbuild/protobuf";
import { Gender } from "../../gen/zitadel/user/v2/user_pb.js";
import type { AddHumanUserRequestSchema } from "../../gen/zitadel/user/v2/user_service_pb.js";
import { type TransportName, transportNames } from "../support/clients.js";
import { authHeader, TEST_TOKEN } from "../support/start-server.js";
import type { StubTarget } from "../support/stub-target.js";
import {
  addHumanUser,
  type Engine,
  getUserByID,
  methodCondition,
  type Phase,
  startEngine,
} from "./engine-fixture.js";

// The JSON body that request and response targets receive: compact, keys in
// ZITADEL's order, empty strings left out, messages in protojson. Calls
// authenticate with the test server's static admin token, whose name
// "test-admin" becomes userID; static tokens carry no project.

let engine: Engine;

beforeAll(async () => {
  engine = await startEngine({ config: { instanceId: "inst1" } });
});

afterEach(async () => {
  await engine.reset();
});

afterAll(async () => {
  await engine.stop();
});

// Values of headers that must never reach a target.
const secretsPattern = new RegExp(
  `${TEST_TOKEN}|secret-cookie|not forwarded|authorization|cookie`,
  "i",
);

const sentHeaders = {
  "x-zitadel-orgid": "org-from-header",
  "x-forwarded-for": "203.0.113.7",
  "x-forwarded-host": "login.example.com",
  origin: "https://console.example.com",
  ...authHeader,
  cookie: "session=secret-cookie",
  "x-other": "not forwarded",
};

// Metadata value 0xfb 0xff 0x00 encodes to "+/8A" in standard base64 and
// to "-_8A" in the URL alphabet, so the payload shows which one is used.
const richRequest: MessageInitShape<typeof AddHumanUserRequestSchema> = {
  username: "ada",
  organization: { org: { case: "orgId", value: "org-in-body" } },
  profile: { givenName: "Ada", familyName: "Lovelace", gender: Gender.FEMALE },
  email: {
    email: "ada@example.com",
    verification: { case: "isVerified", value: true },
  },
  metadata: [{ key: "k", value: new Uint8Array([0xfb, 0xff, 0x00]) }],
};

const richRequestJson =
  '{"username":"ada","organization":{"orgId":"org-in-body"},' +
  '"profile":{"givenName":"Ada","familyName":"Lovelace","gender":"GENDER_FEMALE"},' +
  '"email":{"email":"ada@example.com","isVerified":true},' +
  '"metadata":[{"key":"k","value":"+/8A"}]}';

const responseJson =
  '{"userId":"id-ada","details":{"sequence":"7",' +
  '"changeDate":"2023-11-14T22:13:20.005Z","resourceOwner":"org-1"}}';

async function webhookOn(
  phase: Phase,
  fullMethod: string,
): Promise<StubTarget> {
  const stub = await engine.stub();
  const target = await engine.createTarget({
    kind: "webhook",
    endpoint: stub.url,
  });
  await engine.setExecution(methodCondition(phase, fullMethod), [target.id]);
  return stub;
}

describe("payload text", () => {
  // JSON objects are unordered, and Go's protojson does not promise a
  // field order either, so messages are compared as values. The outer
  // object's key order and its compact form are checked on the text.
  const forwarded = (host: string) => ({
    "Content-Type": ["application/json"],
    "X-Forwarded-For": ["203.0.113.7"],
    "X-Forwarded-Host": ["login.example.com"],
    Host: [host],
    Origin: ["https://console.example.com"],
  });

  it("request phase, exact body", async () => {
    const stub = await webhookOn("request", addHumanUser);

    await engine
      .users("connect-json-h1", sentHeaders)
      .addHumanUser(richRequest);

    const text = stub.requests[0]?.text ?? "";
    const payload = JSON.parse(text) as Record<string, unknown>;
    expect(text).toBe(JSON.stringify(payload));
    expect(Object.keys(payload)).toEqual([
      "fullMethod",
      "instanceID",
      "orgID",
      "userID",
      "request",
      "headers",
    ]);
    expect(payload).toEqual({
      fullMethod: addHumanUser,
      instanceID: "inst1",
      orgID: "org-from-header",
      userID: "test-admin",
      request: JSON.parse(richRequestJson),
      headers: forwarded(`127.0.0.1:${engine.server.port}`),
    });
  });

  it("response phase, exact body", async () => {
    const stub = await webhookOn("response", addHumanUser);

    await engine
      .users("connect-json-h1", sentHeaders)
      .addHumanUser(richRequest);

    const text = stub.requests[0]?.text ?? "";
    const payload = JSON.parse(text) as Record<string, unknown>;
    expect(text).toBe(JSON.stringify(payload));
    expect(Object.keys(payload)).toEqual([
      "fullMethod",
      "instanceID",
      "orgID",
      "userID",
      "request",
      "response",
      "headers",
    ]);
    expect(payload).toEqual({
      fullMethod: addHumanUser,
      instanceID: "inst1",
      orgID: "org-from-header",
      userID: "test-admin",
      request: JSON.parse(richRequestJson),
      response: JSON.parse(responseJson),
      headers: forwarded(`127.0.0.1:${engine.server.port}`),
    });
  });

  it("empty request is an empty object", async () => {
    const stub = await webhookOn("request", getUserByID);

    await engine.users().getUserByID({});

    expect(stub.requests[0]?.json).toMatchObject({ request: {} });
  });

  it("empty org header is left out", async () => {
    const stub = await webhookOn("request", getUserByID);

    await engine
      .users("connect-json-h1", { "x-zitadel-orgid": "" })
      .getUserByID({ userId: "u1" });

    expect(Object.keys(stub.requests[0]?.json as object)).toEqual([
      "fullMethod",
      "instanceID",
      "userID",
      "request",
      "headers",
    ]);
  });
});

// Go-canonical header names on Connect calls, lowercase names on gRPC and
// gRPC-web calls. HTTP/2 requests carry the :authority pseudo-header
// instead of Host, so their payload has no host entry.
const expectedHeaders: Record<
  TransportName,
  (host: string) => Record<string, string[]>
> = {
  "connect-json-h1": (host) => ({
    "Content-Type": ["application/json"],
    "X-Forwarded-For": ["203.0.113.7"],
    "X-Forwarded-Host": ["login.example.com"],
    Host: [host],
    Origin: ["https://console.example.com"],
  }),
  "connect-binary-h2": () => ({
    "Content-Type": ["application/proto"],
    "X-Forwarded-For": ["203.0.113.7"],
    "X-Forwarded-Host": ["login.example.com"],
    Origin: ["https://console.example.com"],
  }),
  grpc: () => ({
    "content-type": ["application/grpc+proto"],
    "x-forwarded-for": ["203.0.113.7"],
    "x-forwarded-host": ["login.example.com"],
    origin: ["https://console.example.com"],
  }),
  "grpc-web": (host) => ({
    "content-type": ["application/grpc-web+proto"],
    "x-forwarded-for": ["203.0.113.7"],
    "x-forwarded-host": ["login.example.com"],
    host: [host],
    origin: ["https://console.example.com"],
  }),
  "grpc-js": () => ({
    "content-type": ["application/grpc"],
    "x-forwarded-for": ["203.0.113.7"],
    "x-forwarded-host": ["login.example.com"],
    origin: ["https://console.example.com"],
  }),
};

describe("payload over each transport", () => {
  it.each(transportNames)("%s, request phase", async (transport) => {
    const stub = await webhookOn("request", addHumanUser);

    await engine.users(transport, sentHeaders).addHumanUser(richRequest);

    const received = stub.requests[0];
    const payload = received?.json as Record<string, unknown>;
    expect(Object.keys(payload)).toEqual([
      "fullMethod",
      "instanceID",
      "orgID",
      "userID",
      "request",
      "headers",
    ]);
    expect(payload.fullMethod).toBe(addHumanUser);
    expect(payload.instanceID).toBe("inst1");
    expect(payload.orgID).toBe("org-from-header");
    expect(payload.userID).toBe("test-admin");
    expect(payload.request).toEqual(JSON.parse(richRequestJson));
    expect(payload.headers).toEqual(
      expectedHeaders[transport](`127.0.0.1:${engine.server.port}`),
    );
    expect(received?.text).not.toMatch(secretsPattern);
  });

  it.each(transportNames)("%s, response phase", async (transport) => {
    const stub = await webhookOn("response", addHumanUser);

    await engine.users(transport, sentHeaders).addHumanUser(richRequest);

    const received = stub.requests[0];
    const payload = received?.json as Record<string, unknown>;
    expect(Object.keys(payload)).toEqual([
      "fullMethod",
      "instanceID",
      "orgID",
      "userID",
      "request",
      "response",
      "headers",
    ]);
    expect(payload.request).toEqual(JSON.parse(richRequestJson));
    expect(payload.response).toEqual(JSON.parse(responseJson));
    expect(received?.text).not.toMatch(secretsPattern);
  });
});

describe("payload without instance id", () => {
  let bare: Engine;

  beforeAll(async () => {
    bare = await startEngine();
  });

  afterAll(async () => {
    await bare.stop();
  });

  it("leaves out instanceID and orgID", async () => {
    const stub = await bare.stub();
    const target = await bare.createTarget({
      kind: "webhook",
      endpoint: stub.url,
    });
    await bare.setExecution(methodCondition("request", getUserByID), [
      target.id,
    ]);

    await bare.users("grpc").getUserByID({ userId: "u1" });

    expect(stub.requests[0]?.json).toEqual({
      fullMethod: getUserByID,
      userID: "test-admin",
      request: { userId: "u1" },
      headers: { "content-type": ["application/grpc+proto"] },
    });
  });
});
