/** Does nothing: the handler of a promise whose failure is nobody's concern (a body released, a stream cancelled). */
export function noop(): void {}
