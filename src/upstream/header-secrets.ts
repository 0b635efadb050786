import { createSecretScrubber } from '../recovery/secret-scrubber.js';

/** Removes the values of the headers sent (credentials) from server text quoted in errors and events. */
export type Scrub = (text: string) => string;

/** A scrubber for everything in `headers`: servers quote what they were sent. */
export function scrubberFor(headers: Readonly<Record<string, string>>): Scrub {
  const scrubber = createSecretScrubber();
  for (const [name, value] of Object.entries(headers)) scrubber.addHeader(name, value);
  return (text) => scrubber.scrub(text);
}
