import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

// Runs the loopback target servers of section 2 in their own process, so
// a target's HTTP work runs on another core, as it does for a real
// endpoint, and not on the event loop of the server under test.

/** Response of a target server: "empty" for webhooks, or a new user. */
export type TargetReplyKind = "empty" | "addHumanUser";

/** Messages from the parent. */
export type TargetProcessRequest = { type: "lastBody"; index: number };

/** Messages to the parent. */
export type TargetProcessMessage =
  | { type: "ready"; urls: string[] }
  | { type: "lastBody"; index: number; body: string };

function startTarget(kind: TargetReplyKind): {
  server: Server;
  lastBody: () => Buffer;
} {
  let lastBody = Buffer.alloc(0);
  let replies = 0;
  const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      lastBody = Buffer.concat(chunks);
      if (kind === "empty") {
        res.writeHead(200, { "content-length": "0" });
        res.end();
        return;
      }
      // The call target replaces the AddHumanUser request. Each response has
      // a new username, because the handler rejects a taken one.
      replies++;
      const username = `call-${replies}`;
      const body = Buffer.from(
        JSON.stringify({
          username,
          profile: { givenName: "Grace", familyName: "Hopper" },
          email: { email: `${username}@example.com` },
        }),
      );
      res.writeHead(200, {
        "content-type": "application/json",
        "content-length": String(body.length),
      });
      res.end(body);
    });
  });
  return { server, lastBody: () => lastBody };
}

async function main(): Promise<void> {
  const kinds = JSON.parse(process.argv[2] ?? "[]") as TargetReplyKind[];
  const targets = kinds.map(startTarget);
  const urls: string[] = [];
  for (const { server } of targets) {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    urls.push(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  }
  process.on("message", (request: TargetProcessRequest) => {
    const body = targets[request.index]?.lastBody() ?? Buffer.alloc(0);
    const message: TargetProcessMessage = {
      type: "lastBody",
      index: request.index,
      body: body.toString("base64"),
    };
    process.send?.(message);
  });
  // The parent closes the channel when it is done, or when it dies.
  process.on("disconnect", () => process.exit(0));
  const ready: TargetProcessMessage = { type: "ready", urls };
  process.send?.(ready);
}

void main();
