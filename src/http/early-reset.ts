import { constants } from "node:http2";
import type { NodeHandler } from "./types.js";

/**
 * Wraps a handler so that an HTTP/2 request whose response is complete
 * before its body has been read to the end gets RST_STREAM with NO_ERROR
 * after the response. RFC 9113, section 8.1, defines this as the way to
 * ask a client to stop sending without an error. connect-node stops
 * reading a body larger than readMaxBytes and responds at once, and
 * without the reset a client such as curl keeps the stream open and waits
 * to send the rest.
 */
export function withEarlyResponseReset(handler: NodeHandler): NodeHandler {
  return (request, response) => {
    if ("stream" in request) {
      const { stream } = request;
      // The compatibility layer sends the trailers, possibly none, from its
      // own wantTrailers listener. The reset waits one turn of the event
      // loop, so it goes out after them.
      stream.once("wantTrailers", () => {
        // A client that has sent its whole request, such as a GET without
        // a body that no handler read, has closed its side already.
        if (request.readableEnded || stream.state.remoteClose === 1) {
          return;
        }
        setImmediate(() => {
          if (!stream.closed) {
            stream.close(constants.NGHTTP2_NO_ERROR);
          }
          // Node destroys a closed stream only once its readable side has
          // ended, which never happens while unread data stays buffered.
          // Without this the stream stays open, its response never emits
          // "finish" and a graceful shutdown waits for it.
          setImmediate(() => {
            if (!stream.destroyed) {
              stream.destroy();
            }
          });
        });
      });
    }
    handler(request, response);
  };
}
