import { type SecretScrubber, scrubberForRequest } from '../shared/secret-scrubber.js';

/** Every secret a command will send: its header values, and the values in its URL's query. */
export function secretsOf(command: { readonly headers: Readonly<Record<string, string>>; readonly url: URL }): SecretScrubber {
  return scrubberForRequest(command.headers, command.url);
}
