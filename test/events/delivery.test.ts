import { createEventDeliveryQueue } from "../../src/storage/index.js";
import { TargetCallError, type TargetCaller } from "../../src/target/index.js";
import { type StubTarget, startStubTarget } from "../support/stub-target.js";
import { createEventHarness, type EventHarness } from "./event-harness.js";

let harness: EventHarness | undefined;
const stubs: StubTarget[] = [];

async function stub(): Promise<StubTarget> {
  const started = await startStubTarget();
  stubs.push(started);
  return started;
}

afterEach(async () => {
  await harness?.close();
  harness = undefined;
  await Promise.all(stubs.splice(0).map((s) => s.close()));
});

describe("event delivery", () => {
  it("retries 503 twice, then delivers with one webhook-id", async () => {
    harness = createEventHarness();
    const target = await stub();
    target.reply({ status: 503 }, { status: 503 });
    const { id } = harness.addTarget(`${target.url}/hook`);
    harness.setExecution("event/user.human.added", [id]);

    const { deliveryId } = harness.emit();
    harness.outbox.dispatcher.start();
    const delivered = await harness.waitForState(deliveryId ?? "", [
      "delivered",
    ]);

    expect(target.requests).toHaveLength(3);
    const webhookIds = target.requests.map((r) => r.headers["webhook-id"]);
    expect(webhookIds).toEqual([deliveryId, deliveryId, deliveryId]);
    expect(delivered.attemptCount).toBe(3);
    expect(delivered.targets[0]?.state).toBe("delivered");
    const attempts = harness.outbox.log.attempts(deliveryId ?? "");
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
    expect(attempts.map((a) => a.httpStatus)).toEqual([503, 503, undefined]);
    expect(attempts.map((a) => a.errorKind)).toEqual([
      "status",
      "status",
      undefined,
    ]);
    expect(attempts.every((a) => a.latencyMs >= 0)).toBe(true);
    expect(attempts[0]?.errorMessage).toContain("HTTP 503");
  });

  it("sends the event in ZITADEL's payload shape", async () => {
    harness = createEventHarness();
    const target = await stub();
    const { id } = harness.addTarget(target.url);
    harness.setExecution("event/user.human.added", [id]);
    const payload = {
      username: "alice",
      profile: { givenName: "Alice", languages: ["de", "en"] },
      verified: false,
      note: "ünïcödé",
    };

    const before = Date.now();
    const { sequence } = harness.emit({ aggregateId: "u-7", payload });
    harness.outbox.dispatcher.start();
    const [request] = await target.waitForRequests(1);

    const body = request?.json as Record<string, unknown>;
    expect(Object.keys(body)).toEqual([
      "aggregateID",
      "aggregateType",
      "resourceOwner",
      "instanceID",
      "version",
      "sequence",
      "event_type",
      "created_at",
      "userID",
      "event_payload",
    ]);
    expect(body.aggregateID).toBe("u-7");
    expect(body.aggregateType).toBe("user");
    expect(body.resourceOwner).toBe("org-1");
    expect(body.instanceID).toBe("instance-1");
    expect(body.version).toBe("v2");
    expect(body.sequence).toBe(sequence);
    expect(body.event_type).toBe("user.human.added");
    expect(body.userID).toBe("admin-1");
    expect(body.event_payload).toEqual(payload);
    expect(body.created_at).toMatch(
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/,
    );
    const createdAt = Date.parse(String(body.created_at));
    expect(createdAt).toBeGreaterThanOrEqual(before);
    expect(request?.headers["content-type"]).toBe("application/json");
    expect(request?.headers["zitadel-signature"]).toMatch(/^t=\d+,v1=/);
    expect(request?.headers["webhook-signature"]).toMatch(/^v1,/);
  });

  it("numbers events per aggregate", async () => {
    harness = createEventHarness();
    const target = await stub();
    const { id } = harness.addTarget(target.url);
    harness.setExecution("event", [id]);

    const sequences = [
      harness.emit({ aggregateId: "a" }).sequence,
      harness.emit({ aggregateId: "a" }).sequence,
      harness.emit({ aggregateId: "b" }).sequence,
      harness.emit({ aggregateType: "org", aggregateId: "a" }).sequence,
      harness.emit({ aggregateId: "a" }).sequence,
    ];

    expect(sequences).toEqual([1, 2, 1, 1, 3]);
  });

  it("exhausts a target that never recovers and logs it", async () => {
    harness = createEventHarness({ retrySchedule: [2, 2, 2] });
    const target = await stub();
    target.respondWith({ status: 500 });
    const added = harness.addTarget(target.url);
    harness.setExecution("event/user.human.added", [added.id]);

    const { deliveryId } = harness.emit();
    harness.outbox.dispatcher.start();
    const exhausted = await harness.waitForState(deliveryId ?? "", [
      "exhausted",
    ]);

    expect(target.requests).toHaveLength(4);
    expect(exhausted.attemptCount).toBe(4);
    expect(exhausted.targets[0]?.state).toBe("pending");
    const lines = harness.logs.filter((line) =>
      line.msg.startsWith("event delivery exhausted"),
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]?.targetId).toBe(added.id);
    expect(lines[0]?.deliveryId).toBe(deliveryId);
    expect(lines[0]?.eventType).toBe("user.human.added");
    expect(lines[0]?.httpStatus).toBe(500);
    const allLogs = JSON.stringify(harness.logs);
    expect(allLogs).not.toContain(added.signingKey);
  });

  it("calls a delivered target once across retries", async () => {
    harness = createEventHarness();
    const first = await stub();
    const second = await stub();
    second.reply({ status: 503 });
    const a = harness.addTarget(first.url);
    const b = harness.addTarget(second.url);
    harness.setExecution("event/user.human.added", [a.id, b.id]);

    const { deliveryId } = harness.emit();
    harness.outbox.dispatcher.start();
    const delivered = await harness.waitForState(deliveryId ?? "", [
      "delivered",
    ]);

    expect(first.requests).toHaveLength(1);
    expect(second.requests).toHaveLength(2);
    expect(delivered.targets.map((t) => t.state)).toEqual([
      "delivered",
      "delivered",
    ]);
    const attempts = harness.outbox.log.attempts(deliveryId ?? "");
    expect(attempts.map((x) => [x.attempt, x.targetId])).toEqual([
      [1, a.id],
      [1, b.id],
      [2, b.id],
    ]);
  });

  it("holds later targets back behind an interrupting failure", async () => {
    harness = createEventHarness();
    const first = await stub();
    const second = await stub();
    first.reply({ status: 502 });
    const a = harness.addTarget(first.url, { interruptOnError: true });
    const b = harness.addTarget(second.url);
    harness.setExecution("event/user.human.added", [a.id, b.id]);

    const { deliveryId } = harness.emit();
    harness.outbox.dispatcher.start();
    await harness.waitForState(deliveryId ?? "", ["delivered"]);

    const attempts = harness.outbox.log.attempts(deliveryId ?? "");
    expect(attempts.map((x) => [x.attempt, x.targetId, x.httpStatus])).toEqual([
      [1, a.id, 502],
      [2, a.id, undefined],
      [2, b.id, undefined],
    ]);
    expect(second.requests).toHaveLength(1);
  });

  it("skips a target deleted after the event", async () => {
    harness = createEventHarness();
    const kept = await stub();
    const removed = await stub();
    const a = harness.addTarget(kept.url);
    const b = harness.addTarget(removed.url);
    harness.setExecution("event/user.human.added", [a.id, b.id]);

    const { deliveryId } = harness.emit();
    harness.targets.delete(b.id);
    harness.router.rebuild();
    harness.outbox.dispatcher.start();
    const delivered = await harness.waitForState(deliveryId ?? "", [
      "delivered",
    ]);

    expect(kept.requests).toHaveLength(1);
    expect(removed.requests).toHaveLength(0);
    expect(delivered.targets.map((t) => [t.targetId, t.state])).toEqual([
      [a.id, "delivered"],
      [b.id, "skipped"],
    ]);
  });

  it("takes over a claim abandoned by a crashed dispatcher", async () => {
    harness = createEventHarness({ leaseMs: 300 });
    const target = await stub();
    const { id } = harness.addTarget(target.url);
    harness.setExecution("event/user.human.added", [id]);
    const { deliveryId } = harness.emit();

    // A dispatcher that claims and then dies leaves exactly this behind:
    // a delivering row with a lease and no recorded attempt.
    const claimedAt = Date.now();
    const [abandoned] = createEventDeliveryQueue(harness.database).claim({
      now: claimedAt,
      limit: 10,
      leaseMs: 300,
      leaseToken: "crashed-dispatcher",
    });
    expect(abandoned?.id).toBe(deliveryId);
    harness.outbox.dispatcher.start();
    const delivered = await harness.waitForState(deliveryId ?? "", [
      "delivered",
    ]);

    expect(target.requests).toHaveLength(1);
    expect(delivered.attemptCount).toBe(2);
    const attempts = harness.outbox.log.attempts(deliveryId ?? "");
    expect(attempts).toHaveLength(1);
    expect(attempts[0]?.attempt).toBe(2);
    expect(attempts[0]?.attemptDate).toBeGreaterThanOrEqual(claimedAt + 300);
  });

  it("exhausts a delivery whose claims keep dying", async () => {
    harness = createEventHarness({ retrySchedule: [2] });
    const target = await stub();
    const { id } = harness.addTarget(target.url);
    harness.setExecution("event/user.human.added", [id]);
    const { deliveryId } = harness.emit();
    const queue = createEventDeliveryQueue(harness.database);
    for (const token of ["killed-1", "killed-2"]) {
      const claimed = queue.claim({
        now: Date.now(),
        limit: 1,
        leaseMs: 1,
        leaseToken: token,
      });
      expect(claimed.map((c) => c.id)).toEqual([deliveryId]);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }

    harness.outbox.dispatcher.start();
    const exhausted = await harness.waitForState(deliveryId ?? "", [
      "exhausted",
    ]);

    expect(exhausted.attemptCount).toBe(3);
    expect(target.requests).toHaveLength(0);
    const line = harness.logs.find((l) =>
      l.msg.startsWith("event delivery exhausted"),
    );
    expect(line?.msg).toContain("earlier attempts ended without a result");
    expect(line?.deliveryId).toBe(deliveryId);
  });

  it("releases a delivery whose call outlasts stop", async () => {
    harness = createEventHarness();
    const target = await stub();
    target.respondWith({ delayMs: 10_000 });
    const { id } = harness.addTarget(target.url, { timeoutMs: 20_000 });
    harness.setExecution("event/user.human.added", [id]);
    const { deliveryId } = harness.emit();
    harness.outbox.dispatcher.start();
    await target.waitForRequests(1);

    const stopping = Date.now();
    await harness.outbox.dispatcher.stop(100);

    expect(Date.now() - stopping).toBeLessThan(5000);
    const record = harness.outbox.log.get(deliveryId ?? "");
    expect(record?.state).toBe("pending");
    expect(record?.nextAttemptAt).toBeLessThanOrEqual(Date.now());
    const attempts = harness.outbox.log.attempts(deliveryId ?? "");
    expect(attempts.map((a) => a.errorKind)).toEqual(["transport"]);
    expect(harness.outbox.dispatcher.stats.released).toBe(1);
  });

  it("deletes delivered deliveries past the retention", async () => {
    harness = createEventHarness({ retrySchedule: [], retentionMs: 1 });
    const ok = await stub();
    const failing = await stub();
    failing.respondWith({ status: 500 });
    const good = harness.addTarget(ok.url);
    const bad = harness.addTarget(failing.url);
    harness.setExecution("event/user.human.added", [good.id]);
    harness.setExecution("event/user.locked", [bad.id]);
    const delivered = harness.emit().deliveryId ?? "";
    const exhausted = harness.emit({ eventType: "user.locked" }).deliveryId;
    harness.outbox.dispatcher.start();
    await harness.waitForState(delivered, ["delivered"]);
    await harness.waitForState(exhausted ?? "", ["exhausted"]);
    await new Promise((resolve) => setTimeout(resolve, 5));

    const pruned = await harness.outbox.dispatcher.prune();

    expect(pruned).toBe(1);
    expect(harness.outbox.log.get(delivered)).toBeUndefined();
    expect(harness.outbox.log.get(exhausted ?? "")?.state).toBe("exhausted");
    const client = harness.database.client;
    const count = (table: string) =>
      (
        client.prepare(`select count(*) as n from ${table}`).get() as {
          n: number;
        }
      ).n;
    expect(count("events")).toBe(1);
    expect(count("event_deliveries")).toBe(1);
    expect(count("event_delivery_targets")).toBe(1);
    expect(count("event_delivery_attempts")).toBe(1);
  });
});

describe("Retry-After", () => {
  // The target caller does not expose the Retry-After header yet, so this
  // caller raises the TargetCallError that it will raise once it does.
  function callerWithRetryAfter(values: string[]): {
    caller: TargetCaller;
    calls: number[];
  } {
    const calls: number[] = [];
    const caller: TargetCaller = {
      async call(target) {
        calls.push(Date.now());
        const value = values.shift();
        if (value === undefined) {
          return new Uint8Array();
        }
        const error = new TargetCallError("responded with HTTP 503", {
          kind: "status",
          targetId: target.id,
          status: 503,
        });
        Object.defineProperty(error, "retryAfter", { value });
        throw error;
      },
      async close() {},
    };
    return { caller, calls };
  }

  it.each([
    ["delay-seconds", () => "1"],
    ["an HTTP date", () => new Date(Date.now() + 2000).toUTCString()],
  ])("waits for %s over a 2 ms schedule", async (_name, value) => {
    const { caller } = callerWithRetryAfter([value()]);
    harness = createEventHarness({ caller, retrySchedule: [2, 2] });
    const { id } = harness.addTarget("http://127.0.0.1:9/hook");
    harness.setExecution("event/user.human.added", [id]);

    const { deliveryId } = harness.emit();
    harness.outbox.dispatcher.start();
    await harness.waitForState(deliveryId ?? "", ["delivered"]);

    const attempts = harness.outbox.log.attempts(deliveryId ?? "");
    expect(attempts).toHaveLength(2);
    const [first, second] = attempts;
    const gap = (second?.attemptDate ?? 0) - (first?.attemptDate ?? 0);
    // An HTTP date has whole seconds, so its delay is 1 to 2 s.
    expect(gap).toBeGreaterThanOrEqual(1000);
  });
});
