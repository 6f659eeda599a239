import type { Handler } from '@rel/core';

/** Facts about a provider endpoint, for telemetry (`server.address`, `server.port`, `gen_ai.system`). */
export interface ProviderInfo {
  /** e.g. `openai`, `anthropic`, or the `name` option. */
  readonly providerName: string;
  /** The base URL requests go to, without a trailing slash. */
  readonly baseURL: string;
  readonly serverAddress: string;
  readonly serverPort: number;
}

/** A core `Handler` that calls one provider endpoint, with that endpoint's facts attached. */
export type ProviderHandler = Handler & ProviderInfo;

/**
 * Attaches endpoint facts to a handler as read-only properties.
 * @example const h = withProviderInfo(handler, 'openai', 'https://api.openai.com/v1'); h.serverPort // 443
 */
export function withProviderInfo(handler: Handler, providerName: string, baseURL: string): ProviderHandler {
  const url = new URL(baseURL);
  const serverPort = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  const serverAddress = url.hostname.replace(/^\[|\]$/g, '');
  const props = { providerName, baseURL, serverAddress, serverPort };
  for (const [key, value] of Object.entries(props)) {
    Object.defineProperty(handler, key, { value, enumerable: true, writable: false });
  }
  return handler as ProviderHandler;
}

/** Removes trailing slashes, so `${baseURL}/chat/completions` has exactly one. */
export function trimBaseURL(baseURL: string): string {
  return baseURL.replace(/\/+$/, '');
}
