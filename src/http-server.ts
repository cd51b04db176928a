import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import net from "node:net";

type RequestListener = (
  request: http.IncomingMessage | http2.Http2ServerRequest,
  response: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/** A listener that serves HTTP/1.1 and cleartext HTTP/2 on one port. */
export interface DualProtocolServer {
  listen(port: number, host: string): Promise<AddressInfo>;
  /**
   * Stops accepting connections, lets open requests finish for up to
   * `timeoutMs` and then closes every connection that is left.
   */
  close(timeoutMs: number): Promise<void>;
}

// The client preface of HTTP/2 prior knowledge (RFC 9113, section 3.4)
// starts with these bytes; no HTTP/1.1 request line can.
const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0");

/**
 * Creates a server that routes each connection by its first bytes: the
 * HTTP/2 client preface goes to an h2c server (gRPC, and Connect or
 * gRPC-web over HTTP/2), anything else to an HTTP/1.1 server. Node's
 * http2 `allowHTTP1` option only works with TLS, hence the sniffing.
 */
export function createDualProtocolServer(
  listener: RequestListener,
): DualProtocolServer {
  const h1 = http.createServer(listener);
  const h2 = http2.createServer({}, listener);
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  // HTTP/1.1 requests in flight per socket. The h1 server never listens
  // itself, so Node does not track its connections and
  // closeIdleConnections() cannot find idle keep-alive sockets.
  const activeRequests = new Map<net.Socket, number>();
  let closing = false;
  h1.on("request", (request: http.IncomingMessage, response) => {
    const { socket } = request;
    activeRequests.set(socket, (activeRequests.get(socket) ?? 0) + 1);
    if (closing) {
      response.setHeader("connection", "close");
    }
    response.once("close", () => {
      const left = (activeRequests.get(socket) ?? 1) - 1;
      activeRequests.set(socket, left);
      if (closing && left === 0) {
        socket.destroySoon();
      }
    });
  });
  h2.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });

  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => {
      sockets.delete(socket);
      activeRequests.delete(socket);
    });
    routeByPreface(socket, h1, h2);
  });

  return {
    listen(port, host) {
      return new Promise((resolve, reject) => {
        tcp.once("error", reject);
        tcp.listen(port, host, () => {
          tcp.off("error", reject);
          resolve(tcp.address() as AddressInfo);
        });
      });
    },
    async close(timeoutMs) {
      closing = true;
      const closed = new Promise<void>((resolve) => tcp.close(() => resolve()));
      for (const socket of sockets) {
        // Idle HTTP/1.1 keep-alive sockets close now; busy ones close when
        // their response is done. HTTP/2 sockets belong to their session.
        if (activeRequests.get(socket) === 0) {
          socket.destroySoon();
        }
      }
      for (const session of sessions) {
        session.close();
      }
      const timer = setTimeout(() => {
        for (const socket of sockets) {
          socket.destroy();
        }
      }, timeoutMs);
      timer.unref();
      await closed;
      clearTimeout(timer);
    },
  };
}

function routeByPreface(
  socket: net.Socket,
  h1: http.Server,
  h2: http2.Http2Server,
): void {
  let received = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    const compared = Math.min(received.length, HTTP2_PREFACE.length);
    const isHttp2 = received
      .subarray(0, compared)
      .equals(HTTP2_PREFACE.subarray(0, compared));
    if (isHttp2 && received.length < HTTP2_PREFACE.length) {
      return;
    }
    socket.off("data", onData);
    socket.pause();
    socket.unshift(received);
    if (isHttp2) {
      // The HTTP/2 session reads what is already buffered on the next tick;
      // resuming here would hand those bytes to no listener.
      h2.emit("connection", socket);
    } else {
      h1.emit("connection", socket);
      socket.resume();
    }
  };
  socket.on("data", onData);
  socket.on("error", () => socket.destroy());
}
