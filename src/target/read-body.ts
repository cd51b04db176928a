import type { Dispatcher } from "undici";

type ResponseBody = Dispatcher.ResponseData["body"];

/** A response body read in full, or a note that it exceeded the limit. */
export type LimitedBody =
  | { readonly tooLarge: false; readonly bytes: Uint8Array }
  | { readonly tooLarge: true };

/**
 * Reads a response body of at most `maxBytes` bytes. It stops and destroys
 * the stream as soon as a Content-Length header or the bytes received exceed
 * the limit, so a large or endless response never fills memory. Stream errors,
 * including an abort, propagate.
 */
export async function readBodyWithLimit(
  body: ResponseBody,
  contentLength: string | string[] | undefined,
  maxBytes: number,
): Promise<LimitedBody> {
  const declaredLength = Number(contentLength);
  if (typeof contentLength === "string" && declaredLength > maxBytes) {
    body.destroy();
    return { tooLarge: true };
  }
  // With a declared length within the limit, undici reads the body in one
  // step; a body longer than it declared fails inside undici.
  if (typeof contentLength === "string" && declaredLength >= 0) {
    return { tooLarge: false, bytes: new Uint8Array(await body.arrayBuffer()) };
  }
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    received += chunk.length;
    if (received > maxBytes) {
      body.destroy();
      return { tooLarge: true };
    }
    chunks.push(chunk);
  }
  return { tooLarge: false, bytes: new Uint8Array(Buffer.concat(chunks)) };
}

/**
 * Reads and drops up to 64 KiB of a body that is not needed, so that the
 * connection can serve the next request. A larger body is destroyed, which
 * closes the connection instead. Errors are ignored because the caller has
 * already decided the outcome.
 */
export async function discardBody(body: ResponseBody): Promise<void> {
  try {
    await body.dump({ limit: 64 * 1024 });
  } catch {
    body.destroy();
  }
}
