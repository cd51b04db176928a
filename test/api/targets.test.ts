import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { type Timestamp, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import Database from "better-sqlite3";
import type {
  CreateTargetRequestSchema,
  ListTargetsRequestSchema,
  UpdateTargetRequestSchema,
} from "../../gen/zitadel/action/v2/action_service_pb.js";
import { TargetFieldName } from "../../gen/zitadel/action/v2/query_pb.js";
import {
  PayloadType,
  type Target,
} from "../../gen/zitadel/action/v2/target_pb.js";
import { TextFilterMethod } from "../../gen/zitadel/filter/v2/filter_pb.js";
import {
  type ActionClient,
  type ApiCase,
  actionClient,
  sleep,
} from "../support/action-clients.js";
import { closeGrpcJsClients, transportNames } from "../support/clients.js";
import { rpcError } from "../support/rpc-error.js";
import { startTestServer, type TestServer } from "../support/start-server.js";

type CreateRequest = MessageInitShape<typeof CreateTargetRequestSchema>;
type UpdateRequest = MessageInitShape<typeof UpdateTargetRequestSchema>;
type ListRequest = MessageInitShape<typeof ListTargetsRequestSchema>;

const apiCases: ApiCase[] = (["v2", "v2beta"] as const).flatMap((version) =>
  transportNames.map((transport) => ({ version, transport })),
);

const SIGNING_KEY = /^[A-Za-z0-9]{36}$/;
// ZITADEL ids are Sonyflake numbers, about 18 decimal digits today.
const TARGET_ID = /^[1-9][0-9]{16,19}$/;
// A status message ends with the id of the place that raised it.
const ERROR_ID_SUFFIX = / \(([A-Za-z]+-[A-Za-z0-9]+)\)$/;
const EMOJI = "\u{1F600}";

function webhook(
  name: string,
  overrides: Partial<CreateRequest> = {},
): CreateRequest {
  return {
    name,
    targetType: { case: "restWebhook", value: { interruptOnError: false } },
    timeout: { seconds: 10n },
    endpoint: "https://example.com/hook",
    ...overrides,
  } as CreateRequest;
}

/** The fields of a target that an update may change, as plain values. */
type Fields = ReturnType<typeof fieldsOf>;

function fieldsOf(target: Target | undefined) {
  const type = target?.targetType;
  return {
    name: target?.name,
    type: type?.case,
    interruptOnError:
      type?.case === "restWebhook" || type?.case === "restCall"
        ? type.value.interruptOnError
        : false,
    timeoutMs:
      target?.timeout === undefined
        ? undefined
        : Number(target.timeout.seconds) * 1000 +
          target.timeout.nanos / 1_000_000,
    endpoint: target?.endpoint,
    payloadType: target?.payloadType,
    signingKey: target?.signingKey,
  };
}

function ms(timestamp: Timestamp | undefined): number {
  if (timestamp === undefined) {
    throw new Error("timestamp is missing");
  }
  return timestampMs(timestamp);
}

interface SortSeed {
  id: string;
  name: string;
  targetType: CreateRequest["targetType"] & {};
  /** The type at creation when it differs from targetType. */
  createdAs?: CreateRequest["targetType"] & {};
  endpoint: string;
  timeoutSeconds: number;
  interruptOnError: boolean;
}

const typeRank: Record<string, number> = {
  restWebhook: 0,
  restCall: 1,
  restAsync: 2,
};

// Each column except type and interrupt has a distinct value per target,
// so the expected order is exact. Ties occur only in those two columns.
const sortSeeds: Omit<SortSeed, "id">[] = [
  {
    name: "sort-c",
    targetType: { case: "restWebhook", value: { interruptOnError: true } },
    endpoint: "https://c.example.com/",
    timeoutSeconds: 30,
    interruptOnError: true,
  },
  {
    name: "sort-a",
    targetType: { case: "restCall", value: { interruptOnError: false } },
    endpoint: "https://e.example.com/",
    timeoutSeconds: 10,
    interruptOnError: false,
  },
  {
    name: "sort-e",
    targetType: { case: "restAsync", value: {} },
    endpoint: "https://a.example.com/",
    timeoutSeconds: 50,
    interruptOnError: false,
  },
  {
    name: "sort-b",
    targetType: { case: "restWebhook", value: { interruptOnError: false } },
    endpoint: "https://d.example.com/",
    timeoutSeconds: 20,
    interruptOnError: false,
  },
  {
    name: "sort-d",
    targetType: { case: "restCall", value: { interruptOnError: true } },
    endpoint: "https://b.example.com/",
    timeoutSeconds: 40,
    interruptOnError: true,
  },
  {
    // Created as an interrupting webhook: the change to async must clear
    // interrupt_on_error.
    name: "sort-f",
    targetType: { case: "restAsync", value: {} },
    createdAs: { case: "restWebhook", value: { interruptOnError: true } },
    endpoint: "https://f.example.com/",
    timeoutSeconds: 60,
    interruptOnError: false,
  },
];

type SortKey = bigint | number | string;

// The seeds were created in list order and updated in the order
// 3, 0, 5, 1, 4, 2, with pauses, so those are the date ranks.
const changeRank = [1, 3, 5, 0, 4, 2];

const sortCases: [TargetFieldName, (seed: SortSeed) => SortKey][] = [
  [TargetFieldName.ID, (seed) => BigInt(seed.id)],
  [TargetFieldName.CREATED_DATE, (seed) => BigInt(seed.id)],
  [
    TargetFieldName.CHANGED_DATE,
    (seed) => changeRank[sortSeeds.findIndex((s) => s.name === seed.name)] ?? 0,
  ],
  [TargetFieldName.NAME, (seed) => seed.name],
  [
    TargetFieldName.TARGET_TYPE,
    (seed) => typeRank[seed.targetType.case ?? ""] ?? 0,
  ],
  [TargetFieldName.URL, (seed) => seed.endpoint],
  [TargetFieldName.TIMEOUT, (seed) => seed.timeoutSeconds],
  [
    TargetFieldName.INTERRUPT_ON_ERROR,
    (seed) => (seed.interruptOnError ? 1 : 0),
  ],
];

function compareKeys(a: SortKey, b: SortKey): number {
  if (a < b) {
    return -1;
  }
  return a > b ? 1 : 0;
}

// `%` and `_` are LIKE wildcards in SQL, but the filters must treat them as
// plain characters. The indexes in textFilterCases refer to this list.
const filterNames = [
  "Promo_50%",
  "promo_50%",
  "PromoX50%",
  "Promo_50X",
  "Promo_50%_Extra",
  "xPromo_50%",
];

const textFilterCases: [keyof typeof TextFilterMethod, string, number[]][] = [
  ["EQUALS", "Promo_50%", [0]],
  ["EQUALS", "Promo_50", []],
  ["EQUALS_IGNORE_CASE", "PROMO_50%", [0, 1]],
  ["STARTS_WITH", "Promo_", [0, 3, 4]],
  ["STARTS_WITH_IGNORE_CASE", "promo_50%", [0, 1, 4]],
  ["CONTAINS", "o_50%", [0, 1, 4, 5]],
  ["CONTAINS", "%", [0, 1, 2, 4, 5]],
  ["CONTAINS", "_", [0, 1, 3, 4, 5]],
  ["CONTAINS_IGNORE_CASE", "O_50%_", [4]],
  ["ENDS_WITH", "_50%", [0, 1, 5]],
  ["ENDS_WITH", "%", [0, 1, 2, 5]],
  ["ENDS_WITH_IGNORE_CASE", "O_50%", [0, 1, 5]],
];

let shared: TestServer;

beforeAll(async () => {
  shared = await startTestServer();
});

afterAll(async () => {
  closeGrpcJsClients();
  await shared.stop();
});

describe.each(apiCases)("targets over $version $transport", (apiCase) => {
  const { version, transport } = apiCase;
  let client: ActionClient;
  let sequence = 0;
  const unique = (label: string) =>
    `${version}-${transport}-${label}-${++sequence}`;

  beforeAll(() => {
    client = actionClient(version, transport, shared.baseUrl);
  });

  describe("CreateTarget", () => {
    it("returns id, creation date and signing key", async () => {
      const before = Date.now();
      const created = await client.createTarget(webhook(unique("create")));
      const after = Date.now();

      expect(created.id).toMatch(TARGET_ID);
      expect(created.signingKey).toMatch(SIGNING_KEY);
      expect(ms(created.creationDate)).toBeGreaterThanOrEqual(before);
      expect(ms(created.creationDate)).toBeLessThanOrEqual(after);
    });

    it.each([
      [
        "interrupting webhook",
        { case: "restWebhook", value: { interruptOnError: true } },
      ],
      ["webhook", { case: "restWebhook", value: { interruptOnError: false } }],
      [
        "interrupting call",
        { case: "restCall", value: { interruptOnError: true } },
      ],
      ["call", { case: "restCall", value: { interruptOnError: false } }],
      ["async", { case: "restAsync", value: {} }],
    ] as const)("stores an %s target", async (_, targetType) => {
      const name = unique("stored");
      const created = await client.createTarget({
        name,
        targetType,
        timeout: { seconds: 42n, nanos: 500_000_000 },
        endpoint: "http://hooks.example.com:8080/hook?x=1",
        payloadType: PayloadType.JSON,
      });

      const { target } = await client.getTarget({ id: created.id });

      expect(target?.id).toBe(created.id);
      expect(fieldsOf(target)).toEqual({
        name,
        type: targetType.case,
        interruptOnError:
          targetType.case === "restAsync"
            ? false
            : targetType.value.interruptOnError,
        timeoutMs: 42_500,
        endpoint: "http://hooks.example.com:8080/hook?x=1",
        payloadType: PayloadType.JSON,
        signingKey: created.signingKey,
      });
      expect(target?.targetType.value).toEqual(
        expect.objectContaining(
          targetType.case === "restAsync" ? {} : targetType.value,
        ),
      );
      expect(ms(target?.creationDate)).toBe(ms(created.creationDate));
      expect(ms(target?.changeDate)).toBe(ms(created.creationDate));
    });

    it.each([
      ["JWT", PayloadType.JWT],
      ["JWE", PayloadType.JWE],
    ])("stores payload type %s", async (_, payloadType) => {
      const created = await client.createTarget(
        webhook(unique("payload"), { payloadType }),
      );

      const { target } = await client.getTarget({ id: created.id });

      expect(target?.payloadType).toBe(payloadType);
    });

    it("issues a new signing key per target", async () => {
      const first = await client.createTarget(webhook(unique("key")));
      const second = await client.createTarget(webhook(unique("key")));

      expect(first.signingKey).not.toBe(second.signingKey);
    });

    it("accepts the largest allowed values", async () => {
      const endpoint = `https://example.com/${"a".repeat(2048 - 20)}`;
      const prefix = unique("max");
      const created = await client.createTarget(
        webhook(prefix + "n".repeat(1000 - prefix.length), {
          timeout: { seconds: 270n },
          endpoint,
        }),
      );

      const { target } = await client.getTarget({ id: created.id });

      expect(target?.name).toHaveLength(1000);
      expect(target?.endpoint).toHaveLength(2048);
      expect(target?.timeout?.seconds).toBe(270n);
    });

    it("counts the name in code points", async () => {
      const prefix = unique("runes");
      const name = prefix + EMOJI.repeat(1000 - prefix.length);
      const created = await client.createTarget(webhook(name));

      const { target } = await client.getTarget({ id: created.id });

      expect([...name]).toHaveLength(1000);
      expect(target?.name).toBe(name);
    });

    it.each([
      ["empty name", { name: "" }, /Name/],
      ["name of 1001 runes", { name: "n".repeat(1001) }, /Name/],
      ["name of 1001 emoji", { name: EMOJI.repeat(1001) }, /Name/],
      ["whitespace-only name", { name: " \t\n " }, /Name/],
      ["missing target type", { targetType: { case: undefined } }, /Type/],
      ["missing timeout", { timeout: undefined }, /timeout/i],
      ["zero timeout", { timeout: { seconds: 0n } }, /timeout/i],
      ["timeout of 271s", { timeout: { seconds: 271n } }, /Timeout/],
      [
        "timeout just over 270s",
        { timeout: { seconds: 270n, nanos: 1 } },
        /Timeout/,
      ],
      ["negative timeout", { timeout: { seconds: -1n } }, /Timeout/],
      ["empty endpoint", { endpoint: "" }, /Endpoint/],
      [
        "endpoint of 2049 chars",
        { endpoint: `https://example.com/${"a".repeat(2049 - 20)}` },
        /Endpoint/,
      ],
      ["endpoint not a URL", { endpoint: "not a url" }, /endpoint/],
      ["relative endpoint", { endpoint: "/hook" }, /endpoint/],
      ["ftp endpoint", { endpoint: "ftp://example.com/hook" }, /endpoint/],
      ["file endpoint", { endpoint: "file:///etc/passwd" }, /endpoint/],
      ["javascript endpoint", { endpoint: "javascript:alert(1)" }, /endpoint/],
      ["endpoint without host", { endpoint: "http://" }, /endpoint/],
      ["undefined payload type", { payloadType: 99 }, /PayloadType/],
    ] as [string, Partial<CreateRequest>, RegExp][])(
      "rejects %s",
      async (_, overrides, field) => {
        const name = unique("invalid");
        const error = await rpcError(
          client.createTarget(webhook(name, overrides)),
        );

        expect(error.code).toBe(Code.InvalidArgument);
        expect(error.message).toMatch(field);
        if (overrides.name === undefined) {
          const listed = await client.listTargets({
            filters: [nameFilter(name, TextFilterMethod.EQUALS)],
          });
          expect(listed.targets).toEqual([]);
        }
      },
    );

    it("rejects a taken name with AlreadyExists", async () => {
      const name = unique("taken");
      await client.createTarget(webhook(name));

      const error = await rpcError(client.createTarget(webhook(name)));

      expect(error.code).toBe(Code.AlreadyExists);
    });

    it("lets one of concurrent same-name creates win", async () => {
      const name = unique("race");

      const results = await Promise.allSettled(
        Array.from({ length: 5 }, () => client.createTarget(webhook(name))),
      );

      const created = results.filter((result) => result.status === "fulfilled");
      expect(created).toHaveLength(1);
      for (const result of results) {
        if (result.status === "rejected") {
          expect(result.reason).toMatchObject({ code: Code.AlreadyExists });
        }
      }
    });

    it("issues ids in creation order", async () => {
      const ids: bigint[] = [];
      for (let i = 0; i < 5; i++) {
        const created = await client.createTarget(webhook(unique("order")));
        ids.push(BigInt(created.id));
      }

      for (let i = 1; i < ids.length; i++) {
        expect(ids[i]).toBeGreaterThan(ids[i - 1] ?? 0n);
      }
    });
  });

  describe("error shape", () => {
    it.each([
      [
        "NotFound",
        Code.NotFound,
        () => client.getTarget({ id: "1" }),
        "QUERY-hj5oaniyrz",
      ],
      [
        "InvalidArgument",
        Code.InvalidArgument,
        () => client.createTarget(webhook(unique("shape"), { timeout: {} })),
        undefined,
      ],
      [
        "AlreadyExists",
        Code.AlreadyExists,
        async () => {
          const name = unique("shape");
          await client.createTarget(webhook(name));
          return client.createTarget(webhook(name));
        },
        undefined,
      ],
    ] as const)("attaches an ErrorDetail to %s", async (_, code, call, id) => {
      const error = await rpcError(call());

      expect(error.code).toBe(code);
      const suffix = ERROR_ID_SUFFIX.exec(error.message);
      expect(suffix).not.toBeNull();
      expect(error.details).toHaveLength(1);
      expect(error.details[0]?.id).toBe(suffix?.[1]);
      expect(error.details[0]?.message).not.toBe("");
      if (id !== undefined) {
        expect(error.details[0]?.id).toBe(id);
      }
    });

    it("sends the message text unchanged", async () => {
      const error = await rpcError(client.getTarget({ id: "1" }));

      expect(error.message).toBe(
        `${error.details[0]?.message} (${error.details[0]?.id})`,
      );
    });
  });

  describe("UpdateTarget", () => {
    it.each<[string, () => [Partial<UpdateRequest>, Partial<Fields>]]>([
      [
        "name",
        () => {
          const name = unique("renamed");
          return [{ name }, { name }];
        },
      ],
      [
        "endpoint",
        () => [
          { endpoint: "https://example.org/other" },
          { endpoint: "https://example.org/other" },
        ],
      ],
      [
        "timeout",
        () => [{ timeout: { seconds: 270n } }, { timeoutMs: 270_000 }],
      ],
      [
        "interrupt",
        () => [
          {
            targetType: {
              case: "restWebhook",
              value: { interruptOnError: true },
            },
          },
          { interruptOnError: true },
        ],
      ],
      [
        "type and interrupt",
        () => [
          {
            targetType: { case: "restCall", value: { interruptOnError: true } },
          },
          { type: "restCall", interruptOnError: true },
        ],
      ],
      [
        "type to async",
        () => [
          { targetType: { case: "restAsync", value: {} } },
          { type: "restAsync" },
        ],
      ],
      [
        "payload type",
        () => [
          { payloadType: PayloadType.JSON },
          { payloadType: PayloadType.JSON },
        ],
      ],
      [
        "payload type to JWT",
        () => [
          { payloadType: PayloadType.JWT },
          { payloadType: PayloadType.JWT },
        ],
      ],
      [
        "payload type to JWE",
        () => [
          { payloadType: PayloadType.JWE },
          { payloadType: PayloadType.JWE },
        ],
      ],
    ])("changes the %s alone", async (_, change) => {
      const created = await client.createTarget(webhook(unique("update")));
      const before = (await client.getTarget({ id: created.id })).target;
      const [request, changed] = change();
      await sleep(2);

      const updated = await client.updateTarget({
        ...request,
        id: created.id,
      } as UpdateRequest);

      const after = (await client.getTarget({ id: created.id })).target;
      expect(fieldsOf(after)).toEqual({ ...fieldsOf(before), ...changed });
      expect(updated.signingKey).toBeUndefined();
      expect(ms(updated.changeDate)).toBeGreaterThan(ms(before?.changeDate));
      expect(ms(after?.changeDate)).toBe(ms(updated.changeDate));
      expect(ms(after?.creationDate)).toBe(ms(created.creationDate));
    });

    it("moves the change date forward each time", async () => {
      const created = await client.createTarget(webhook(unique("dates")));

      const first = await client.updateTarget({
        id: created.id,
        endpoint: "https://example.com/1",
      });
      const second = await client.updateTarget({
        id: created.id,
        endpoint: "https://example.com/2",
      });

      expect(ms(first.changeDate)).toBeGreaterThan(ms(created.creationDate));
      expect(ms(second.changeDate)).toBeGreaterThan(ms(first.changeDate));
    });

    it("writes nothing when no field differs", async () => {
      const created = await client.createTarget(
        webhook(unique("same"), { payloadType: PayloadType.JSON }),
      );
      const before = (await client.getTarget({ id: created.id })).target;
      await sleep(2);

      const same = await client.updateTarget(
        updateRequestFor(created.id, fieldsOf(before)),
      );
      const empty = await client.updateTarget({ id: created.id });

      const after = (await client.getTarget({ id: created.id })).target;
      expect(ms(same.changeDate)).toBe(ms(before?.changeDate));
      expect(ms(empty.changeDate)).toBe(ms(before?.changeDate));
      expect(ms(after?.changeDate)).toBe(ms(before?.changeDate));
      expect(fieldsOf(after)).toEqual(fieldsOf(before));
    });

    it("keeps the payload type when unspecified", async () => {
      const created = await client.createTarget(
        webhook(unique("payload"), { payloadType: PayloadType.JSON }),
      );

      await client.updateTarget({
        id: created.id,
        endpoint: "https://example.com/other",
        payloadType: PayloadType.UNSPECIFIED,
      });

      const { target } = await client.getTarget({ id: created.id });
      expect(target?.payloadType).toBe(PayloadType.JSON);
    });

    it("rotates the signing key on expiration 0s", async () => {
      const created = await client.createTarget(webhook(unique("rotate")));

      const updated = await client.updateTarget({
        id: created.id,
        expirationSigningKey: { seconds: 0n },
      });

      expect(updated.signingKey).toMatch(SIGNING_KEY);
      expect(updated.signingKey).not.toBe(created.signingKey);
      const { target } = await client.getTarget({ id: created.id });
      expect(target?.signingKey).toBe(updated.signingKey);
      expect(ms(target?.changeDate)).toBe(ms(updated.changeDate));
    });

    it("rejects a taken name with AlreadyExists", async () => {
      const first = await client.createTarget(webhook(unique("first")));
      const second = await client.createTarget(webhook(unique("second")));
      const firstName = (await client.getTarget({ id: first.id })).target?.name;

      const error = await rpcError(
        client.updateTarget({ id: second.id, name: firstName }),
      );

      expect(error.code).toBe(Code.AlreadyExists);
      const { target } = await client.getTarget({ id: second.id });
      expect(target?.name).not.toBe(firstName);
    });

    it("rejects an unknown id with NotFound", async () => {
      const error = await rpcError(
        client.updateTarget({ id: "1", name: unique("unknown") }),
      );

      expect(error.code).toBe(Code.NotFound);
    });

    it.each([
      ["empty id", { id: "" }, /Id/],
      ["empty name", { name: "" }, /Name/],
      ["whitespace-only name", { name: "  " }, /Name/],
      ["zero timeout", { timeout: { seconds: 0n } }, /timeout/i],
      ["timeout of 271s", { timeout: { seconds: 271n } }, /Timeout/],
      ["empty endpoint", { endpoint: "" }, /Endpoint/],
      ["endpoint not a URL", { endpoint: "not a url" }, /endpoint/],
      ["ftp endpoint", { endpoint: "ftp://example.com/" }, /endpoint/],
      [
        "expiration of 1s",
        { expirationSigningKey: { seconds: 1n } },
        /ExpirationSigningKey/,
      ],
      [
        "expiration of 1ns",
        { expirationSigningKey: { nanos: 1 } },
        /ExpirationSigningKey/,
      ],
      ["undefined payload type", { payloadType: 99 }, /PayloadType/],
    ] as [string, Partial<UpdateRequest>, RegExp][])(
      "rejects %s",
      async (_, overrides, field) => {
        const created = await client.createTarget(webhook(unique("reject")));

        const error = await rpcError(
          client.updateTarget({
            id: created.id,
            ...overrides,
          } as UpdateRequest),
        );

        expect(error.code).toBe(Code.InvalidArgument);
        expect(error.message).toMatch(field);
        const { target } = await client.getTarget({ id: created.id });
        expect(ms(target?.changeDate)).toBe(ms(created.creationDate));
        expect(target?.signingKey).toBe(created.signingKey);
      },
    );
  });

  describe("DeleteTarget", () => {
    it("deletes once and then is a no-op", async () => {
      const created = await client.createTarget(webhook(unique("delete")));
      const before = Date.now();

      const first = await client.deleteTarget({ id: created.id });
      const second = await client.deleteTarget({ id: created.id });

      expect(ms(first.deletionDate)).toBeGreaterThanOrEqual(before);
      expect(second.deletionDate).toBeUndefined();
      const error = await rpcError(client.getTarget({ id: created.id }));
      expect(error.code).toBe(Code.NotFound);
    });

    it("frees the name for a new target", async () => {
      const name = unique("reuse");
      const first = await client.createTarget(webhook(name));
      await client.deleteTarget({ id: first.id });

      const second = await client.createTarget(webhook(name));

      expect(second.id).not.toBe(first.id);
    });

    it("returns no date for an unknown id", async () => {
      const deleted = await client.deleteTarget({ id: "1" });

      expect(deleted.deletionDate).toBeUndefined();
    });

    it("rejects an empty id", async () => {
      const error = await rpcError(client.deleteTarget({ id: "" }));

      expect(error.code).toBe(Code.InvalidArgument);
    });
  });

  describe("GetTarget", () => {
    it.each([
      ["empty id", "", Code.InvalidArgument],
      ["id of 201 chars", "1".repeat(201), Code.InvalidArgument],
      ["unknown id", "123456789012345678", Code.NotFound],
    ])("rejects an %s", async (_, id, code) => {
      const error = await rpcError(client.getTarget({ id }));

      expect(error.code).toBe(code);
    });
  });

  describe("ListTargets", () => {
    let server: TestServer;
    let lister: ActionClient;
    /** Ids of every target on the server, in creation order. */
    const allIds: string[] = [];
    const sortSet: SortSeed[] = [];
    const filterIds: string[] = [];

    beforeAll(async () => {
      server = await startTestServer();
      lister = actionClient(version, transport, server.baseUrl);
      for (const seed of sortSeeds) {
        const created = await lister.createTarget({
          name: seed.name,
          targetType: seed.createdAs ?? seed.targetType,
          timeout: { seconds: BigInt(seed.timeoutSeconds) },
          endpoint: `https://placeholder.example.com/${seed.name}`,
        });
        allIds.push(created.id);
        sortSet.push({ ...seed, id: created.id });
        await sleep(2);
      }
      // Change every sort target once more, in another order than they
      // were created, so that change dates sort differently.
      for (const index of [3, 0, 5, 1, 4, 2]) {
        const seed = sortSet[index] as SortSeed;
        await lister.updateTarget({
          id: seed.id,
          endpoint: seed.endpoint,
          targetType: seed.targetType,
        });
        await sleep(2);
      }
      for (const name of filterNames) {
        const created = await lister.createTarget(webhook(name));
        allIds.push(created.id);
        filterIds.push(created.id);
      }
      for (let i = 0; i < 100; i++) {
        const name = `bulk-${String(i).padStart(3, "0")}`;
        const created = await lister.createTarget(webhook(name));
        allIds.push(created.id);
      }
    });

    afterAll(async () => {
      await server.stop();
    });

    const idsOf = (targets: Target[]) => targets.map((target) => target.id);

    it("returns 100 newest first by default", async () => {
      const listed = await lister.listTargets({});

      expect(listed.pagination?.appliedLimit).toBe(100n);
      expect(listed.pagination?.totalResult).toBe(BigInt(allIds.length));
      expect(idsOf(listed.targets)).toEqual(
        [...allIds].reverse().slice(0, 100),
      );
    });

    it("treats limit 0 as the default", async () => {
      const listed = await lister.listTargets({
        pagination: { limit: 0 },
      });

      expect(listed.pagination?.appliedLimit).toBe(100n);
      expect(listed.targets).toHaveLength(100);
    });

    it("accepts limit 1000", async () => {
      const listed = await lister.listTargets({
        pagination: { limit: 1000 },
      });

      expect(listed.pagination?.appliedLimit).toBe(1000n);
      expect(idsOf(listed.targets)).toEqual([...allIds].reverse());
    });

    it("rejects limit 1001", async () => {
      const error = await rpcError(
        lister.listTargets({ pagination: { limit: 1001 } }),
      );

      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.message).toMatch(/[Ll]imit/);
    });

    it("pages with offset and limit", async () => {
      const listed = await lister.listTargets({
        pagination: { offset: 10n, limit: 5 },
      });

      expect(listed.pagination?.appliedLimit).toBe(5n);
      expect(listed.pagination?.totalResult).toBe(BigInt(allIds.length));
      expect(idsOf(listed.targets)).toEqual(
        [...allIds].reverse().slice(10, 15),
      );
    });

    it("sorts ascending with asc", async () => {
      const listed = await lister.listTargets({
        pagination: { limit: 5, asc: true },
      });

      expect(idsOf(listed.targets)).toEqual(allIds.slice(0, 5));
    });

    it("returns nothing past the end", async () => {
      const listed = await lister.listTargets({
        pagination: { offset: 1000n },
      });

      expect(listed.targets).toEqual([]);
      expect(listed.pagination?.totalResult).toBe(BigInt(allIds.length));
    });

    it("counts all matches under a filter", async () => {
      const bulkIds = allIds.slice(-100);

      const listed = await lister.listTargets({
        pagination: { offset: 3n, limit: 7, asc: true },
        filters: [nameFilter("bulk-", TextFilterMethod.STARTS_WITH)],
      });

      expect(listed.pagination?.totalResult).toBe(100n);
      expect(idsOf(listed.targets)).toEqual(bulkIds.slice(3, 10));
    });

    it.each(
      sortCases.flatMap(([column, key]) => [
        [TargetFieldName[column], column, key, true] as const,
        [TargetFieldName[column], column, key, false] as const,
      ]),
    )("sorts by %s, asc %s", async (_, column, key, asc) => {
      const listed = await lister.listTargets({
        sortingColumn: column,
        pagination: { asc },
        filters: [
          {
            filter: {
              case: "inTargetIdsFilter",
              value: { targetIds: sortSet.map((seed) => seed.id) },
            },
          },
        ],
      });

      const byId = new Map(sortSet.map((seed) => [seed.id, seed]));
      const keys = listed.targets.map((target) =>
        key(byId.get(target.id) as SortSeed),
      );
      const sorted = [...keys].sort(compareKeys);
      expect(keys).toEqual(asc ? sorted : sorted.reverse());
      expect(new Set(idsOf(listed.targets))).toEqual(new Set(byId.keys()));
    });

    it("stores async targets without interrupt", async () => {
      const listed = await lister.listTargets({
        sortingColumn: TargetFieldName.INTERRUPT_ON_ERROR,
        pagination: { asc: true },
        filters: [
          {
            filter: {
              case: "inTargetIdsFilter",
              value: { targetIds: sortSet.map((seed) => seed.id) },
            },
          },
        ],
      });

      const interrupting = listed.targets.slice(-2).map((t) => t.name);
      expect(interrupting.sort()).toEqual(["sort-c", "sort-d"]);
    });

    it.each(textFilterCases)(
      "filters names with %s %j",
      async (method, value, expected) => {
        const listed = await lister.listTargets({
          pagination: { asc: true },
          filters: [
            nameFilter(value, TextFilterMethod[method]),
            {
              filter: {
                case: "inTargetIdsFilter",
                value: { targetIds: filterIds },
              },
            },
          ],
        });

        expect(listed.targets.map((target) => target.name)).toEqual(
          expected.map((index) => filterNames[index]),
        );
        expect(listed.pagination?.totalResult).toBe(BigInt(expected.length));
      },
    );

    it("combines two name filters with AND", async () => {
      const listed = await lister.listTargets({
        filters: [
          nameFilter("Promo", TextFilterMethod.STARTS_WITH),
          nameFilter("Extra", TextFilterMethod.ENDS_WITH),
        ],
      });

      expect(listed.targets.map((target) => target.name)).toEqual([
        "Promo_50%_Extra",
      ]);
    });

    it("filters by ids", async () => {
      const expectedIds = [filterIds[0], allIds.at(-1)] as string[];

      const listed = await lister.listTargets({
        pagination: { asc: true },
        filters: [
          {
            filter: {
              case: "inTargetIdsFilter",
              value: { targetIds: [...expectedIds, "1"] },
            },
          },
        ],
      });

      expect(idsOf(listed.targets)).toEqual(expectedIds);
      expect(listed.pagination?.totalResult).toBe(2n);
    });

    it("matches nothing with an empty id list", async () => {
      const listed = await lister.listTargets({
        filters: [{ filter: { case: "inTargetIdsFilter", value: {} } }],
      });

      expect(listed.targets).toEqual([]);
      expect(listed.pagination?.totalResult).toBe(0n);
    });

    it("accepts a name filter of 200 runes", async () => {
      const listed = await lister.listTargets({
        filters: [nameFilter(EMOJI.repeat(200), TextFilterMethod.EQUALS)],
      });

      expect(listed.targets).toEqual([]);
    });

    it.each<[string, ListRequest]>([
      [
        "a name filter of 201 runes",
        { filters: [nameFilter("n".repeat(201), TextFilterMethod.EQUALS)] },
      ],
      [
        "an undefined text filter method",
        { filters: [nameFilter("bulk", 99 as TextFilterMethod)] },
      ],
      ["a filter with no case", { filters: [{}] }],
    ])("rejects %s", async (_, request) => {
      const error = await rpcError(lister.listTargets(request));

      expect(error.code).toBe(Code.InvalidArgument);
    });
  });
});

function nameFilter(targetName: string, method: TextFilterMethod) {
  return {
    filter: {
      case: "targetNameFilter",
      value: { targetName, method },
    },
  } as const;
}

/** Builds an UpdateTargetRequest that sets every field to `fields`. */
function updateRequestFor(id: string, fields: Fields): UpdateRequest {
  const targetType = (
    fields.type === "restAsync"
      ? { case: "restAsync", value: {} }
      : {
          case: fields.type ?? "restWebhook",
          value: { interruptOnError: fields.interruptOnError },
        }
  ) as UpdateRequest["targetType"];
  return {
    id,
    name: fields.name,
    endpoint: fields.endpoint,
    timeout: {
      seconds: BigInt(Math.floor((fields.timeoutMs ?? 0) / 1000)),
      nanos: ((fields.timeoutMs ?? 0) % 1000) * 1_000_000,
    },
    targetType,
    payloadType: fields.payloadType,
  };
}

describe("targets across versions", () => {
  it.each([
    ["v2", "v2beta"],
    ["v2beta", "v2"],
  ] as const)("shows a %s target in %s", async (from, to) => {
    const writer = actionClient(from, "connect-json-h1", shared.baseUrl);
    const reader = actionClient(to, "grpc-js", shared.baseUrl);
    const name = `cross-${from}-${to}`;
    const created = await writer.createTarget(webhook(name));

    const got = await reader.getTarget({ id: created.id });
    const listed = await reader.listTargets({
      filters: [nameFilter(name, TextFilterMethod.EQUALS)],
    });

    expect(got.target?.name).toBe(name);
    expect(got.target?.signingKey).toBe(created.signingKey);
    expect(listed.targets.map((target) => target.id)).toEqual([created.id]);
  });
});

describe("target storage", () => {
  let dataDir: string | undefined;

  afterEach(() => {
    if (dataDir !== undefined) {
      rmSync(dataDir, { recursive: true, force: true });
      dataDir = undefined;
    }
  });

  async function createSome(server: TestServer): Promise<Target[]> {
    const client = actionClient("v2", "connect-json-h1", server.baseUrl);
    const stored: Target[] = [];
    for (const name of ["kept-1", "kept-2", "kept-3"]) {
      const created = await client.createTarget(webhook(name));
      const { target } = await client.getTarget({ id: created.id });
      stored.push(target as Target);
    }
    return stored;
  }

  it("keeps targets across a restart", async () => {
    const first = await startTestServer();
    dataDir = first.dataDir;
    const stored = await createSome(first);
    await first.stop({ keepData: true });

    const second = await startTestServer({
      config: { dataDir, databasePath: first.config.databasePath },
    });
    try {
      const client = actionClient("v2", "grpc-js", second.baseUrl);
      for (const target of stored) {
        const got = await client.getTarget({ id: target.id });
        expect(fieldsOf(got.target)).toEqual(fieldsOf(target));
        expect(ms(got.target?.creationDate)).toBe(ms(target.creationDate));
        expect(ms(got.target?.changeDate)).toBe(ms(target.changeDate));
      }
    } finally {
      await second.stop();
    }
  });

  it("encrypts signing keys at rest", async () => {
    const server = await startTestServer();
    dataDir = server.dataDir;
    const stored = await createSome(server);
    await server.stop({ keepData: true });

    const keyFile = join(server.dataDir, "master.key");
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const sqlite = new Database(server.config.databasePath, {
      readonly: true,
      fileMustExist: true,
    });
    try {
      const rows = sqlite.prepare("select * from targets").all();
      expect(rows).toHaveLength(stored.length);
      const dump = JSON.stringify(rows);
      for (const target of stored) {
        expect(target.signingKey).toMatch(SIGNING_KEY);
        expect(dump).not.toContain(target.signingKey);
      }
    } finally {
      sqlite.close();
    }
    const files = ["", "-wal"].map(
      (suffix) => server.config.databasePath + suffix,
    );
    for (const file of files.filter((path) => existsSync(path))) {
      const bytes = readFileSync(file).toString("latin1");
      for (const target of stored) {
        expect(bytes).not.toContain(target.signingKey);
      }
    }
  });

  it("fails opaquely under another master key", async () => {
    const first = await startTestServer();
    dataDir = first.dataDir;
    const [target] = await createSome(first);
    await first.stop({ keepData: true });

    const second = await startTestServer({
      config: {
        dataDir,
        databasePath: first.config.databasePath,
        masterKey: randomBytes(32).toString("hex"),
      },
    });
    try {
      const client = actionClient("v2", "connect-json-h1", second.baseUrl);
      const errors = [
        await rpcError(client.getTarget({ id: target?.id ?? "" })),
        await rpcError(client.listTargets({})),
      ];
      for (const error of errors) {
        expect(error.code).toBe(Code.Internal);
        expect(error.message).not.toMatch(
          /SQL|sqlite|decrypt|cipher|\n\s+at /i,
        );
        expect(error.message).toMatch(ERROR_ID_SUFFIX);
      }
    } finally {
      await second.stop();
    }
  });
});
