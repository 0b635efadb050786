/**
 * Resolves once `condition()` holds (it may be async), checking every 10 ms; rejects after
 * `timeoutMs`, naming `what` (or the condition's source) in the error.
 */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 5000, what?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what ?? condition.toString().slice(0, 200)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
