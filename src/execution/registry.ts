import type { DescService } from "@bufbuild/protobuf";

/** Declarations of the host besides its services. */
export interface RegistryOptions {
  /** Services whose unary methods may carry request and response executions. */
  services: readonly DescService[];
  /** Function names that function executions may use. */
  functions?: readonly string[];
  /** Event types that event executions may use, e.g. user.human.added. */
  eventTypes?: readonly string[];
}

/**
 * The conditions an execution may name: every unary method and service the
 * server serves, the declared functions and the declared event types. All
 * lists are sorted and free of duplicates.
 */
export interface Registry {
  /** Full methods with a leading slash, e.g. /zitadel.user.v2.UserService/GetUserByID. */
  readonly methods: readonly string[];
  /** Service type names, e.g. zitadel.user.v2.UserService. */
  readonly services: readonly string[];
  readonly functions: readonly string[];
  readonly eventTypes: readonly string[];
  hasMethod(method: string): boolean;
  hasService(service: string): boolean;
  hasFunction(name: string): boolean;
  hasEventType(eventType: string): boolean;
  /** True when `group` is a dotted prefix of a declared event type. */
  hasEventGroup(group: string): boolean;
}

/** Builds the registry from the served services and the host's declarations. */
export function createRegistry(options: RegistryOptions): Registry {
  const methods = new Set<string>();
  const services = new Set<string>();
  for (const service of options.services) {
    const unary = service.methods.filter((m) => m.methodKind === "unary");
    if (unary.length === 0) {
      continue;
    }
    services.add(service.typeName);
    for (const method of unary) {
      methods.add(`/${service.typeName}/${method.name}`);
    }
  }
  const functions = new Set(options.functions ?? []);
  const eventTypes = new Set(options.eventTypes ?? []);
  const groups = new Set<string>();
  for (const eventType of eventTypes) {
    const parts = eventType.split(".");
    for (let i = 1; i < parts.length; i++) {
      groups.add(parts.slice(0, i).join("."));
    }
  }
  const sorted = (values: Set<string>) => Object.freeze([...values].sort());
  return {
    methods: sorted(methods),
    services: sorted(services),
    functions: sorted(functions),
    eventTypes: sorted(eventTypes),
    hasMethod: (method) => methods.has(method),
    hasService: (service) => services.has(service),
    hasFunction: (name) => functions.has(name),
    hasEventType: (eventType) => eventTypes.has(eventType),
    hasEventGroup: (group) => groups.has(group),
  };
}
