import type { OutgoingHttpHeaders } from "node:http";

/**
 * Wraps a Node request handler so that the grpc-message trailer is
 * percent-encoded as the gRPC specification requires: only "%" and bytes
 * outside 0x20 to 0x7E. connect-node encodes it with encodeURIComponent,
 * which grpc-js clients decode with decodeURI, so they would see "%3A" in
 * place of every colon.
 */
export function withGrpcMessageEncoding<
  Req,
  Res extends { addTrailers(headers: OutgoingHttpHeaders): void },
>(handler: (request: Req, response: Res) => void) {
  return (request: Req, response: Res): void => {
    const addTrailers = response.addTrailers.bind(response);
    response.addTrailers = (headers: OutgoingHttpHeaders) => {
      const message = headers["grpc-message"];
      if (typeof message === "string") {
        headers["grpc-message"] = encodeGrpcMessage(safeDecode(message));
      }
      addTrailers(headers);
    };
    handler(request, response);
  };
}

/** Percent-encodes a status message the way the gRPC protocol defines. */
export function encodeGrpcMessage(text: string): string {
  let encoded = "";
  for (const byte of Buffer.from(text, "utf8")) {
    encoded +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return encoded;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
