import { createSecretScrubber, type SecretScrubber } from '../recovery/secret-scrubber.js';
import type { NetworkSettings } from './network-args.js';
import { proxyCredentials } from './proxy-settings.js';

/** Every secret a command will send: its header values, the values in its URL's query, its proxy's credentials. */
export function secretsOf(command: {
  readonly headers: Readonly<Record<string, string>>;
  readonly url: URL;
  readonly network?: NetworkSettings;
}): SecretScrubber {
  const secrets = createSecretScrubber();
  for (const [name, value] of Object.entries(command.headers)) secrets.addHeader(name, value);
  for (const value of command.url.searchParams.values()) secrets.add(value);
  if (command.network !== undefined) for (const secret of proxyCredentials(command.network.proxies)) secrets.add(secret);
  return secrets;
}
