import {
  createRegistry,
  type DescFile,
  type DescService,
  type MessageInitShape,
  type Registry,
  toBinary,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  type ServerReflectionRequest,
  type ServerReflectionResponseSchema,
  ServerReflection as ServerReflectionV1,
} from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionV1alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import type { ServedService } from "./types.js";

type ResponseInit = MessageInitShape<typeof ServerReflectionResponseSchema>;

/**
 * The schema that reflection describes: the served services and every
 * file they need, keyed by file path (e.g. google/protobuf/duration.proto).
 */
interface SchemaIndex {
  serviceNames: readonly string[];
  files: ReadonlyMap<string, DescFile>;
  registry: Registry;
}

/**
 * Creates gRPC server reflection, versions v1 and v1alpha, for `services`.
 * list_services returns those services and the two reflection services.
 * File responses carry serialized google.protobuf.FileDescriptorProto
 * messages, built from the descriptors that protoc-gen-es embedded. Those
 * descriptors leave out comments, so clients see no documentation.
 *
 * Returns two services to register on the ConnectRouter. Reflection is a
 * bidi stream, so clients must use HTTP/2 (gRPC, or Connect over h2c).
 */
export function createReflectionServices(
  services: readonly DescService[],
): [
  ServedService<typeof ServerReflectionV1>,
  ServedService<typeof ServerReflectionV1alpha>,
] {
  const index = buildIndex([
    ...services,
    ServerReflectionV1,
    ServerReflectionV1alpha,
  ]);
  const v1: ServiceImpl<typeof ServerReflectionV1> = {
    serverReflectionInfo: (requests) => answerStream(index, requests),
  };
  // The v1alpha messages have the same fields and numbers as v1, so one
  // implementation serves both. The implementation yields plain objects
  // without a $typeName, which connect turns into messages of the
  // method's own output schema.
  const v1alpha = v1 as unknown as ServiceImpl<typeof ServerReflectionV1alpha>;
  return [
    { service: ServerReflectionV1, implementation: v1 },
    { service: ServerReflectionV1alpha, implementation: v1alpha },
  ];
}

async function* answerStream(
  index: SchemaIndex,
  requests: AsyncIterable<ServerReflectionRequest>,
): AsyncGenerator<ResponseInit> {
  // Like grpc-go, each stream sends an imported file only once. The
  // requested file itself is always sent.
  const sentFiles = new Set<string>();
  for await (const request of requests) {
    yield {
      validHost: request.host,
      originalRequest: request,
      messageResponse: answer(index, request, sentFiles),
    };
  }
}

function answer(
  index: SchemaIndex,
  request: ServerReflectionRequest,
  sentFiles: Set<string>,
): ResponseInit["messageResponse"] {
  const question = request.messageRequest;
  switch (question.case) {
    case "listServices":
      return {
        case: "listServicesResponse",
        value: { service: index.serviceNames.map((name) => ({ name })) },
      };
    case "fileByFilename":
      return (
        fileAnswer(index.files.get(question.value), sentFiles) ??
        notFound(`file not found: ${question.value}`)
      );
    case "fileContainingSymbol":
      return (
        fileAnswer(
          findFileOfSymbol(index.registry, question.value),
          sentFiles,
        ) ?? notFound(`symbol not found: ${question.value}`)
      );
    case "fileContainingExtension": {
      const { containingType, extensionNumber } = question.value;
      const extendee = index.registry.getMessage(containingType);
      const extension = extendee
        ? index.registry.getExtensionFor(extendee, extensionNumber)
        : undefined;
      return (
        fileAnswer(extension?.file, sentFiles) ??
        notFound(`extension not found: ${containingType}(${extensionNumber})`)
      );
    }
    case "allExtensionNumbersOfType":
      return extensionNumbers(index.registry, question.value);
    case undefined:
      throw new ConnectError(
        "invalid reflection request: set one of the message_request fields",
        Code.InvalidArgument,
      );
  }
}

// Sends the file and, after it, the files it imports directly or
// indirectly that this stream has not sent yet.
function fileAnswer(
  file: DescFile | undefined,
  sentFiles: Set<string>,
): ResponseInit["messageResponse"] | undefined {
  if (file === undefined) {
    return undefined;
  }
  const files = [file];
  sentFiles.add(file.proto.name);
  for (const dependency of transitiveDependencies(file)) {
    if (!sentFiles.has(dependency.proto.name)) {
      sentFiles.add(dependency.proto.name);
      files.push(dependency);
    }
  }
  return {
    case: "fileDescriptorResponse",
    value: {
      fileDescriptorProto: files.map((f) =>
        toBinary(FileDescriptorProtoSchema, f.proto),
      ),
    },
  };
}

function extensionNumbers(
  registry: Registry,
  typeName: string,
): ResponseInit["messageResponse"] {
  if (registry.getMessage(typeName) === undefined) {
    return notFound(`message not found: ${typeName}`);
  }
  const numbers: number[] = [];
  for (const type of registry) {
    if (type.kind === "extension" && type.extendee.typeName === typeName) {
      numbers.push(type.number);
    }
  }
  return {
    case: "allExtensionNumbersResponse",
    value: {
      baseTypeName: typeName,
      extensionNumber: numbers.sort((a, b) => a - b),
    },
  };
}

function notFound(message: string): ResponseInit["messageResponse"] {
  return {
    case: "errorResponse",
    value: { errorCode: Code.NotFound, errorMessage: message },
  };
}

/**
 * Finds the file that declares `name`: a message, enum, service or
 * extension, or a member of one, i.e. a field, oneof, method or enum
 * value. Enum values are scoped like their enum, as in protoc, so the
 * value UNKNOWN of enum pkg.Msg.Status is named pkg.Msg.UNKNOWN.
 */
export function findFileOfSymbol(
  registry: Registry,
  name: string,
): DescFile | undefined {
  const type = registry.get(name);
  if (type !== undefined) {
    return type.file;
  }

  const dot = name.lastIndexOf(".");
  if (dot < 0) {
    return undefined;
  }
  const parent = name.slice(0, dot);
  const member = name.slice(dot + 1);

  const service = registry.getService(parent);
  if (service?.methods.some((method) => method.name === member)) {
    return service.file;
  }

  const message = registry.getMessage(parent);
  if (
    message?.fields.some((field) => field.name === member) ||
    message?.oneofs.some((oneof) => oneof.name === member)
  ) {
    return message.file;
  }

  for (const candidate of registry) {
    if (
      candidate.kind === "enum" &&
      scopeOf(candidate.typeName) === parent &&
      candidate.values.some((value) => value.name === member)
    ) {
      return candidate.file;
    }
  }
  return undefined;
}

function scopeOf(typeName: string): string {
  return typeName.slice(0, Math.max(typeName.lastIndexOf("."), 0));
}

function buildIndex(services: readonly DescService[]): SchemaIndex {
  const files = new Map<string, DescFile>();
  for (const service of services) {
    files.set(service.file.proto.name, service.file);
    for (const dependency of transitiveDependencies(service.file)) {
      files.set(dependency.proto.name, dependency);
    }
  }
  const serviceNames = [
    ...new Set(services.map((service) => service.typeName)),
  ].sort();
  return {
    serviceNames,
    files,
    registry: createRegistry(...files.values()),
  };
}

function transitiveDependencies(file: DescFile): DescFile[] {
  const seen = new Map<string, DescFile>();
  const visit = (current: DescFile) => {
    for (const dependency of current.dependencies) {
      if (!seen.has(dependency.proto.name)) {
        seen.set(dependency.proto.name, dependency);
        visit(dependency);
      }
    }
  };
  visit(file);
  return [...seen.values()];
}
