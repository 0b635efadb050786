import { type SecretScrubber, scrubberForRequest } from '../shared/secret-scrubber.js';
import type { NetworkSettings } from './network-args.js';
import { proxyCredentials } from './proxy-settings.js';

/** Every secret a command will send: its header values, the values in its URL's query, its proxy's credentials. */
export function secretsOf(command: {
  readonly headers: Readonly<Record<string, string>>;
  readonly url: URL;
  readonly network?: NetworkSettings;
}): SecretScrubber {
  const secrets = scrubberForRequest(command.headers, command.url);
  if (command.network !== undefined) for (const secret of proxyCredentials(command.network.proxies)) secrets.add(secret);
  return secrets;
}
