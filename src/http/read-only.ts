import type { NodeRequest, NodeResponse } from "./types.js";

/**
 * Responds 405 with an Allow header to a request whose method is not GET
 * or HEAD, for paths that only serve reads. Returns true when it responded.
 */
export function rejectUnlessRead(
  request: NodeRequest,
  response: NodeResponse,
): boolean {
  if (request.method === "GET" || request.method === "HEAD") {
    return false;
  }
  response.writeHead(405, {
    "content-type": "text/plain",
    allow: "GET, HEAD",
  });
  response.end("method not allowed: use GET or HEAD\n");
  return true;
}
