/**
 * Whether a host is this machine: `localhost`, 127.0.0.0/8, `::1`, and 127.x written as an
 * IPv4-mapped IPv6 address (`::ffff:127.0.0.1`, or `::ffff:7f00:1` as `URL` writes it). Takes a
 * bind address or a `URL.hostname`: bare or in brackets, any case.
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare === '::1') return true;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare)) return true;
  return /^::ffff:(?:127\.\d{1,3}\.\d{1,3}\.\d{1,3}|7f[0-9a-f]{2}:[0-9a-f]{1,4})$/.test(bare);
}
