/**
 * A method as a platform prototype defines it (writable, configurable, not enumerable), for the
 * prototypes the middleware puts under a fetch's own answer and body (checked-json-answer.ts,
 * watched-sse-body.ts).
 */
export function prototypeMethod(value: unknown): PropertyDescriptor {
  return { value, writable: true, configurable: true };
}
