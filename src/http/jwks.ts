import type { JWK } from "jose";
import { rejectUnlessRead } from "./read-only.js";
import type { NodeRequest, NodeResponse, PathHandler } from "./types.js";

/** Path of the JWKS, the same as ZITADEL's. */
export const JWKS_PATH = "/oauth/v2/keys";

/**
 * Serves `GET /oauth/v2/keys` (and HEAD) without a token: the public keys
 * that sign JWT and JWE target bodies, as a JSON Web Key Set.
 */
export function createJwksHandler(keys: readonly JWK[]): PathHandler {
  const body = JSON.stringify({ keys });
  return (request: NodeRequest, response: NodeResponse) => {
    const path = (request.url ?? "").split("?")[0];
    if (path !== JWKS_PATH) {
      return false;
    }
    if (rejectUnlessRead(request, response)) {
      return true;
    }
    response.writeHead(200, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
    });
    if (request.method === "HEAD") {
      response.end();
    } else {
      response.end(body);
    }
    return true;
  };
}
