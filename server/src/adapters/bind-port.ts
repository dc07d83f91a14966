/**
 * Composes port objects into one store: each adapter implements its ports as classes sharing
 * one database handle (or one memory state), and the store is the union of their methods.
 */

/** The public members of `P` as plain properties (a spread of a class instance type would drop its methods). */
export type BoundPort<P> = { readonly [K in keyof P]: P[K] };

/**
 * The public methods of `port` (a class instance, prototype chain included), bound to it, as an
 * object of own properties that can be spread into a composed store. Private (`#`) members stay
 * private; non-function properties are not copied.
 */
export function bindPort<P extends object>(port: P): BoundPort<P> {
  const bound: Record<string, unknown> = {};
  for (let proto: unknown = Object.getPrototypeOf(port); proto !== null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === 'constructor' || name in bound) continue;
      const value: unknown = Reflect.get(port, name);
      if (typeof value === 'function') bound[name] = value.bind(port);
    }
  }
  return bound as BoundPort<P>;
}
