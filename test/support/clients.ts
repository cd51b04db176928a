import {
  create,
  type DescMessage,
  type DescService,
  fromBinary,
  toBinary,
} from "@bufbuild/protobuf";
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { authHeader } from "./start-server.js";

/** Names of the client transports every API test runs through. */
export type TransportName =
  | "connect-json-h1"
  | "connect-binary-h2"
  | "grpc"
  | "grpc-web"
  | "grpc-js";

export const transportNames: readonly TransportName[] = [
  "connect-json-h1",
  "connect-binary-h2",
  "grpc",
  "grpc-web",
  "grpc-js",
];

/** Creates a connect-node transport of the named kind. */
export function createTransport(
  name: Exclude<TransportName, "grpc-js">,
  baseUrl: string,
): Transport {
  switch (name) {
    case "connect-json-h1":
      return createConnectTransport({
        baseUrl,
        httpVersion: "1.1",
        useBinaryFormat: false,
      });
    case "connect-binary-h2":
      return createConnectTransport({
        baseUrl,
        httpVersion: "2",
        useBinaryFormat: true,
      });
    case "grpc":
      return createGrpcTransport({ baseUrl });
    case "grpc-web":
      return createGrpcWebTransport({ baseUrl, httpVersion: "1.1" });
  }
}

/**
 * Creates a promise client for `service` over the named transport. The
 * grpc-js client has the same shape, and its errors carry the same `code`
 * numbers as ConnectError, so tests can assert codes the same way.
 * Calls carry the test admin token unless `headers` is given.
 */
export function clientFor<S extends DescService>(
  service: S,
  name: TransportName,
  baseUrl: string,
  headers: Record<string, string> = authHeader,
): Client<S> {
  if (name === "grpc-js") {
    return createGrpcJsClient(service, baseUrl, headers);
  }
  const transport = createTransport(name, baseUrl);
  const client = createClient(service, transport);
  if (Object.keys(headers).length === 0) {
    return client;
  }
  return new Proxy(client, {
    get(target, property) {
      const method = Reflect.get(target, property) as unknown;
      if (typeof method !== "function") return method;
      return (
        request: unknown,
        options: { headers?: Record<string, string> } = {},
      ) =>
        (method as (request: unknown, options: unknown) => unknown)(request, {
          ...options,
          headers: { ...headers, ...options.headers },
        });
    },
  });
}

const grpcClients: grpc.Client[] = [];

/** Closes every grpc-js client that clientFor created. */
export function closeGrpcJsClients(): void {
  for (const client of grpcClients.splice(0)) {
    client.close();
  }
}

/** An error from a grpc-js call, with the gRPC code as `code`. */
export class GrpcJsError extends Error {
  constructor(
    readonly code: number,
    readonly rawMessage: string,
    readonly metadata: grpc.Metadata,
  ) {
    super(`[${code}] ${rawMessage}`);
  }
}

function createGrpcJsClient<S extends DescService>(
  service: S,
  baseUrl: string,
  headers: Record<string, string>,
): Client<S> {
  const definition: Record<
    string,
    grpc.MethodDefinition<unknown, unknown>
  > = {};
  for (const method of service.methods) {
    definition[method.localName] = {
      path: `/${service.typeName}/${method.name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: (value: unknown) =>
        Buffer.from(toBinary(method.input, value as never)),
      requestDeserialize: (bytes: Buffer) => fromBinary(method.input, bytes),
      responseSerialize: (value: unknown) =>
        Buffer.from(toBinary(method.output, value as never)),
      responseDeserialize: (bytes: Buffer) => fromBinary(method.output, bytes),
    };
  }
  const Constructor = grpc.makeGenericClientConstructor(
    definition,
    service.name,
  );
  const address = new URL(baseUrl).host;
  const client = new Constructor(address, grpc.credentials.createInsecure());
  grpcClients.push(client);
  const result: Record<string, unknown> = {};
  for (const method of service.methods) {
    result[method.localName] = (request: Record<string, unknown> = {}) =>
      new Promise((resolve, reject) => {
        const metadata = new grpc.Metadata();
        for (const [key, value] of Object.entries(headers)) {
          metadata.set(key, value);
        }
        const message = createMessage(method.input, request);
        const call = (
          client as unknown as Record<
            string,
            (
              request: unknown,
              metadata: grpc.Metadata,
              callback: (
                error: grpc.ServiceError | null,
                value: unknown,
              ) => void,
            ) => void
          >
        )[method.localName];
        call?.call(client, message, metadata, (error, value) => {
          if (error) {
            reject(new GrpcJsError(error.code, error.details, error.metadata));
          } else {
            resolve(value);
          }
        });
      });
  }
  return result as Client<S>;
}

function createMessage(schema: DescMessage, init: Record<string, unknown>) {
  return create(schema, init as never);
}
