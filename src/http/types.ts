import type { DescService } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";

/**
 * A Node request listener in the shape connectNodeAdapter returns and
 * accepts as `fallback`; it serves HTTP/1.1 and HTTP/2 requests alike.
 */
export type NodeHandler = NonNullable<ConnectNodeAdapterOptions["fallback"]>;

/** An HTTP/1.1 or HTTP/2 server request. */
export type NodeRequest = Parameters<NodeHandler>[0];

/** An HTTP/1.1 or HTTP/2 server response. */
export type NodeResponse = Parameters<NodeHandler>[1];

/**
 * A handler for some plain HTTP paths. It returns true when it took the
 * request and will respond to it, and false when the request is not its own,
 * so that the caller can try the next handler.
 */
export type PathHandler = (
  request: NodeRequest,
  response: NodeResponse,
) => boolean;

/** A service and its implementation, ready for ConnectRouter.service. */
export interface ServedService<S extends DescService = DescService> {
  service: S;
  implementation: ServiceImpl<S>;
}
