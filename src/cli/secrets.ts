import { createSecretScrubber, type SecretScrubber } from '../recovery/secret-scrubber.js';

/** Every secret a command will send: its header values, and the values in its URL's query. */
export function secretsOf(command: { readonly headers: Readonly<Record<string, string>>; readonly url: URL }): SecretScrubber {
  const secrets = createSecretScrubber();
  for (const [name, value] of Object.entries(command.headers)) secrets.addHeader(name, value);
  for (const value of command.url.searchParams.values()) secrets.add(value);
  return secrets;
}
