import { readCaFile } from './ca-certificates.js';
import { type ProxySettings, resolveProxySettings } from './proxy-settings.js';
import { type ProxyChoice, parseProxyChoice } from './values.js';

/** `--proxy URL|env|off` and `--ca-file PATH` (repeatable): every command that sends requests. */
export const NETWORK_OPTIONS = {
  proxy: { type: 'string' },
  'ca-file': { type: 'string', multiple: true },
} as const;

export const NETWORK_HELP = `  --proxy env|off|URL        the proxy to reach servers through: env (the default) reads HTTPS_PROXY,
                             HTTP_PROXY and NO_PROXY (either case), as curl and npm do; off goes
                             straight to every server; a URL (http://user:pass@proxy:3128) takes
                             every request but those NO_PROXY names
  --ca-file PATH             trust the CA certificates in PATH (PEM) besides Node's, for this command
                             (a TLS-inspecting proxy, a private CA); NODE_EXTRA_CA_CERTS works too`;

/** How a command reaches servers: its proxies and the CAs it trusts besides Node's, read at startup. */
export interface NetworkSettings {
  readonly proxies: ProxySettings;
  /** The `--ca-file` paths, for the startup log. */
  readonly caFiles: readonly string[];
  /** Their certificates (PEM), each checked. */
  readonly certificates: readonly string[];
}

/** Straight to every server with Node's CAs: what a command that sends nothing (serve --help) holds. */
export const DIRECT: NetworkSettings = { proxies: { https: undefined, http: undefined, noProxy: '' }, caFiles: [], certificates: [] };

/** What serve's config file says about the way out (`proxy`, `caFile`); `where` names the file. */
export interface NetworkConfig {
  readonly proxy?: ProxyChoice | undefined;
  readonly caFiles?: readonly string[] | undefined;
}

/**
 * The network flags, read and checked: the proxy (the flag over the config file over `env`), the
 * CA files (the config file's and the flags'). Throws a UsageError naming the flag, key or variable.
 */
export function networkSettingsOf(
  values: { readonly proxy?: string | undefined; readonly 'ca-file'?: readonly string[] | undefined },
  env: NodeJS.ProcessEnv,
  config: NetworkConfig & { readonly where?: string | undefined } = {},
): NetworkSettings {
  const fromFlag = values.proxy === undefined ? undefined : parseProxyChoice('--proxy', values.proxy);
  const choice = fromFlag ?? config.proxy ?? { kind: 'env' };
  const where = fromFlag === undefined && config.proxy !== undefined ? `${config.where ?? 'the config file'}: proxy` : '--proxy';
  const fromConfig = (config.caFiles ?? []).map((path) => ({ path, where: `${config.where ?? 'the config file'}: caFile` }));
  const files = [...fromConfig, ...(values['ca-file'] ?? []).map((path) => ({ path, where: '--ca-file' }))];
  return {
    proxies: resolveProxySettings(choice, env, where),
    caFiles: files.map((file) => file.path),
    certificates: files.flatMap((file) => readCaFile(file.path, file.where)),
  };
}
