import http from "node:http";
import type { AddressInfo } from "node:net";
import {
  type CryptoKey,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
} from "jose";

export const ISSUER = "https://issuer.test";
export const AUDIENCE = "project-123";

/** A signing key pair and its public JWK with kid and alg. */
export interface SigningKey {
  alg: "RS256" | "ES256";
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

/** Generates a key pair; the public JWK carries `kid` and `alg`. */
export async function createSigningKey(
  alg: "RS256" | "ES256",
  kid: string,
): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
  return { alg, kid, privateKey, publicJwk };
}

/** Options of signToken; each one overrides a default claim or header. */
export interface TokenOptions {
  claims?: JWTPayload & Record<string, unknown>;
  issuer?: string;
  audience?: string | string[];
  subject?: string | null;
  /** Seconds from now; null leaves exp out. */
  expiresIn?: number | null;
  /** Seconds from now. */
  notBefore?: number;
  /** Overrides the kid in the header. */
  kid?: string;
}

/**
 * Signs a JWT that the verifier in jwt.test.ts accepts unless an option
 * changes it: iss ISSUER, aud AUDIENCE, sub "user-1", exp in 5 minutes.
 */
export async function signToken(
  key: SigningKey,
  options: TokenOptions = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ ...options.claims })
    .setProtectedHeader({ alg: key.alg, kid: options.kid ?? key.kid })
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setIssuedAt(now);
  if (options.subject !== null) {
    jwt.setSubject(options.subject ?? "user-1");
  }
  if (options.expiresIn !== null) {
    jwt.setExpirationTime(now + (options.expiresIn ?? 300));
  }
  if (options.notBefore !== undefined) {
    jwt.setNotBefore(now + options.notBefore);
  }
  return jwt.sign(key.privateKey);
}

/** A JWKS endpoint on 127.0.0.1 whose response a test can change. */
export interface JwksServer {
  url: string;
  /** Requests served so far. */
  readonly requests: number;
  /** Replaces the response: a key set, or a status with a text body. */
  serve(response: { keys: JWK[] } | { status: number; body: string }): void;
  close(): Promise<void>;
}

/** Starts a JWKS endpoint on 127.0.0.1 and a free port. */
export async function startJwksServer(keys: JWK[]): Promise<JwksServer> {
  let reply: { keys: JWK[] } | { status: number; body: string } = { keys };
  let requests = 0;
  const server = http.createServer((_request, response) => {
    requests += 1;
    if ("keys" in reply) {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ keys: reply.keys }));
    } else {
      response.writeHead(reply.status, { "content-type": "text/plain" });
      response.end(reply.body);
    }
  });
  await new Promise<void>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve()),
  );
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/oauth/v2/keys`,
    get requests() {
      return requests;
    },
    serve(next) {
      reply = next;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
