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

// Time a new connection gets to send enough bytes to tell its protocol.
const PREFACE_TIMEOUT_MS = 10_000;
// Time an HTTP/2 session may stay idle before it is closed.
const HTTP2_IDLE_TIMEOUT_MS = 300_000;

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
  // The h1 server gets its sockets from the TCP server below and never
  // listens itself. Node starts its request and header timeouts (and the
  // connection tracking that closeIdleConnections needs) on "listening",
  // so that event is raised by hand.
  h1.emit("listening");
  const h2 = http2.createServer({}, listener);
  // Without a "timeout" listener, Node destroys the idle session.
  h2.setTimeout(HTTP2_IDLE_TIMEOUT_MS);
  const http2Sockets = new WeakSet<net.Socket>();
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  // HTTP/1.1 requests in flight per socket, so close() can tell idle
  // keep-alive sockets from busy ones.
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
    routeByPreface(socket, h1, h2, (routed) => http2Sockets.add(routed));
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
        // Idle HTTP/1.1 keep-alive sockets and sockets that never sent a
        // request close now; busy ones close when their response is done.
        // HTTP/2 sockets belong to their session.
        if (!http2Sockets.has(socket) && !activeRequests.get(socket)) {
          socket.destroy();
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
  onHttp2: (socket: net.Socket) => void,
): void {
  let received = Buffer.alloc(0);
  // A client that connects and sends too little to tell the protocol
  // would otherwise hold its socket forever.
  const sniffTimer = setTimeout(() => socket.destroy(), PREFACE_TIMEOUT_MS);
  sniffTimer.unref();
  socket.once("close", () => clearTimeout(sniffTimer));
  const onData = (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    const compared = Math.min(received.length, HTTP2_PREFACE.length);
    const isHttp2 = received
      .subarray(0, compared)
      .equals(HTTP2_PREFACE.subarray(0, compared));
    if (isHttp2 && received.length < HTTP2_PREFACE.length) {
      return;
    }
    clearTimeout(sniffTimer);
    socket.off("data", onData);
    socket.pause();
    socket.unshift(received);
    if (isHttp2) {
      // The HTTP/2 session reads what is already buffered on the next tick;
      // resuming here would hand those bytes to no listener.
      onHttp2(socket);
      h2.emit("connection", socket);
    } else {
      h1.emit("connection", socket);
      socket.resume();
    }
  };
  socket.on("data", onData);
  socket.on("error", () => socket.destroy());
}
