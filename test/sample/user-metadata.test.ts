import { timestampMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { TextFilterMethod } from "../../gen/zitadel/filter/v2/filter_pb.js";
import { rpcError } from "../support/rpc-error.js";
import type { TestServer } from "../support/start-server.js";
import {
  humanRequest,
  sampleTransports,
  startSampleServer,
  type UserClient,
  userClient,
} from "./fixtures.js";

let server: TestServer;

beforeAll(async () => {
  server = await startSampleServer();
});

afterAll(async () => {
  await server.stop();
});

const bytes = (text: string) => new TextEncoder().encode(text);

describe.each(sampleTransports)("user metadata over %s", (transport) => {
  let client: UserClient;
  let userId: string;

  beforeEach(async () => {
    client = userClient(server, transport);
    userId = (await client.addHumanUser(humanRequest())).userId;
  });

  const keys = async (request: Parameters<UserClient["listUserMetadata"]>[0]) =>
    (await client.listUserMetadata({ userId, ...request })).metadata.map(
      (entry) => entry.key,
    );
  const keyFilter = (key: string, method: TextFilterMethod) => ({
    filter: { case: "keyFilter" as const, value: { key, method } },
  });

  it("sets and lists metadata with raw bytes", async () => {
    const binary = Uint8Array.from([0, 1, 127, 128, 254, 255]);
    const set = await client.setUserMetadata({
      userId,
      metadata: [
        { key: "binary", value: binary },
        { key: "text", value: bytes("grüezi") },
      ],
    });
    expect(set.setDate).toBeDefined();
    const list = await client.listUserMetadata({
      userId,
      pagination: { asc: true },
    });
    expect(list.pagination?.totalResult).toBe(2n);
    expect(list.pagination?.appliedLimit).toBe(100n);
    expect(list.metadata.map((entry) => entry.key)).toEqual(["binary", "text"]);
    expect(list.metadata[0]?.value).toEqual(binary);
    expect(new TextDecoder().decode(list.metadata[1]?.value)).toBe("grüezi");
    expect(list.metadata[0]?.creationDate).toEqual(set.setDate);
    expect(list.metadata[0]?.changeDate).toEqual(set.setDate);
  });

  it("overwrites a key and keeps its creation date", async () => {
    const first = await client.setUserMetadata({
      userId,
      metadata: [{ key: "k", value: bytes("one") }],
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = await client.setUserMetadata({
      userId,
      metadata: [{ key: "k", value: bytes("two") }],
    });
    const [entry] = (await client.listUserMetadata({ userId })).metadata;
    expect(new TextDecoder().decode(entry?.value)).toBe("two");
    expect(entry?.creationDate).toEqual(first.setDate);
    expect(entry?.changeDate).toEqual(second.setDate);
    const firstMs = first.setDate ? timestampMs(first.setDate) : 0;
    const secondMs = second.setDate ? timestampMs(second.setDate) : 0;
    expect(secondMs).toBeGreaterThan(firstMs);
  });

  it("counts each metadata change in the user's sequence", async () => {
    await client.setUserMetadata({
      userId,
      metadata: [{ key: "k", value: bytes("v") }],
    });
    await client.deleteUserMetadata({ userId, keys: ["k"] });
    const got = await client.getUserByID({ userId });
    expect(got.details?.sequence).toBe(3n);
  });

  it("pages and sorts by key", async () => {
    await client.setUserMetadata({
      userId,
      metadata: ["a", "b", "c", "d"].map((key) => ({
        key,
        value: bytes(key),
      })),
    });
    expect(await keys({})).toEqual(["d", "c", "b", "a"]);
    expect(await keys({ pagination: { asc: true, limit: 2 } })).toEqual([
      "a",
      "b",
    ]);
    const page = await client.listUserMetadata({
      userId,
      pagination: { asc: true, limit: 2, offset: 3n },
    });
    expect(page.metadata.map((entry) => entry.key)).toEqual(["d"]);
    expect(page.pagination?.totalResult).toBe(4n);
    expect(page.pagination?.appliedLimit).toBe(2n);
  });

  it.each(
    [
      [TextFilterMethod.EQUALS, "Role", ["Role"]],
      [TextFilterMethod.EQUALS, "role", []],
      [TextFilterMethod.EQUALS_IGNORE_CASE, "ROLE", ["Role"]],
      [TextFilterMethod.STARTS_WITH, "app.", ["app.theme", "app.lang"]],
      [
        TextFilterMethod.STARTS_WITH_IGNORE_CASE,
        "APP.",
        ["app.theme", "app.lang"],
      ],
      [TextFilterMethod.CONTAINS, "%", ["50%_off"]],
      [TextFilterMethod.CONTAINS, "_", ["50%_off"]],
      [TextFilterMethod.CONTAINS_IGNORE_CASE, "THEM", ["app.theme"]],
      [TextFilterMethod.ENDS_WITH, "lang", ["app.lang"]],
      [TextFilterMethod.ENDS_WITH_IGNORE_CASE, "LANG", ["app.lang"]],
    ].map(([method, key, want]) => [
      TextFilterMethod[method as TextFilterMethod],
      method as TextFilterMethod,
      key as string,
      want as string[],
    ]),
  )("filters keys %s %j", async (_name, method, key, want) => {
    await client.setUserMetadata({
      userId,
      metadata: ["Role", "app.theme", "app.lang", "50%_off"].map((k) => ({
        key: k,
        value: bytes(k),
      })),
    });
    const got = await keys({ filters: [keyFilter(key, method)] });
    expect(got.sort()).toEqual([...want].sort());
  });

  it("combines key filters with and", async () => {
    await client.setUserMetadata({
      userId,
      metadata: ["app.theme", "app.lang"].map((key) => ({
        key,
        value: bytes(key),
      })),
    });
    const got = await keys({
      filters: [
        keyFilter("app.", TextFilterMethod.STARTS_WITH),
        keyFilter("theme", TextFilterMethod.ENDS_WITH),
      ],
    });
    expect(got).toEqual(["app.theme"]);
  });

  it("deletes the given keys only", async () => {
    await client.setUserMetadata({
      userId,
      metadata: ["a", "b", "c"].map((key) => ({ key, value: bytes(key) })),
    });
    const deleted = await client.deleteUserMetadata({
      userId,
      keys: ["a", "c"],
    });
    expect(deleted.deletionDate).toBeDefined();
    expect(await keys({})).toEqual(["b"]);
  });

  it("rejects deleting an unknown key and deletes nothing", async () => {
    await client.setUserMetadata({
      userId,
      metadata: [{ key: "a", value: bytes("a") }],
    });
    const error = await rpcError(
      client.deleteUserMetadata({ userId, keys: ["a", "missing"] }),
    );
    expect(error.code).toBe(Code.NotFound);
    expect(error.message).toContain('"missing"');
    expect(await keys({})).toEqual(["a"]);
  });

  it("rejects unknown users with NotFound", async () => {
    const value = bytes("v");
    const calls = [
      () =>
        client.setUserMetadata({
          userId: "404",
          metadata: [{ key: "k", value }],
        }),
      () => client.listUserMetadata({ userId: "404" }),
      () => client.deleteUserMetadata({ userId: "404", keys: ["k"] }),
    ];
    for (const call of calls) {
      const error = await rpcError(call());
      expect(error.code).toBe(Code.NotFound);
      expect(error.details[0]?.id).toBe("USER-4kq8v");
    }
  });

  it("rejects invalid metadata requests", async () => {
    const cases = [
      () => client.setUserMetadata({ userId, metadata: [] }),
      () => client.setUserMetadata({ userId: "", metadata: [] }),
      () =>
        client.setUserMetadata({
          userId,
          metadata: [{ key: "", value: bytes("v") }],
        }),
      () =>
        client.setUserMetadata({
          userId,
          metadata: [{ key: "k".repeat(201), value: bytes("v") }],
        }),
      () =>
        client.setUserMetadata({
          userId,
          metadata: [{ key: "k", value: new Uint8Array() }],
        }),
      () =>
        client.setUserMetadata({
          userId,
          metadata: [{ key: "k", value: new Uint8Array(500_001) }],
        }),
      () => client.deleteUserMetadata({ userId, keys: [] }),
      () => client.deleteUserMetadata({ userId, keys: [""] }),
      () => client.listUserMetadata({ userId, pagination: { limit: 1001 } }),
      () => client.listUserMetadata({ userId, filters: [{}] }),
      () =>
        client.listUserMetadata({
          userId,
          filters: [keyFilter("k", 99 as TextFilterMethod)],
        }),
    ];
    for (const [index, call] of cases.entries()) {
      const error = await rpcError(call());
      expect([index, error.code]).toEqual([index, Code.InvalidArgument]);
    }
  });
});
