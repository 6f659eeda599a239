import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type BreakerState, RelError } from '@rel/core';
import { z } from 'zod';
import type { FeatureMode } from './feature-modes';
import { readJson, sendError, sendJson } from './http-io';

/** The shortest admin key accepted; a shorter one leaves the admin API off. */
export const MIN_ADMIN_KEY_LENGTH = 16;

/** One route's breaker as `GET /admin/state` shows it. */
export interface BreakerView {
  readonly alias: string;
  readonly target: string;
  readonly state: BreakerState;
  /** True while `open`/`close` holds it (until `reset`). */
  readonly forced: boolean;
}

/** One feature as `GET /admin/state` shows it. */
export interface FeatureView {
  readonly name: string;
  readonly critical: boolean;
  readonly mode: FeatureMode;
  /** What the feature answers when degraded: its static text, its safe default, or nothing (it cannot be forced). */
  readonly answer: 'degraded' | 'safe_default' | null;
}

/** The running configuration's identity. */
export interface ConfigVersion {
  /** 1 at start, +1 on every successful reload. */
  readonly version: number;
  /** `sha256:` of the validated config, first 16 hex digits: the same file gives the same hash on every instance. */
  readonly hash: string;
  readonly loadedAt: string;
  /** The file reloads read, when there is one. */
  readonly file: string | null;
}

/** The answer of `GET /admin/state`. */
export interface AdminState {
  readonly config: ConfigVersion;
  readonly breakers: readonly BreakerView[];
  readonly features: readonly FeatureView[];
}

/** What a reload did. */
export type ReloadResult =
  | { readonly ok: true; readonly config: ConfigVersion; readonly ignored: readonly string[] }
  | { readonly ok: false; readonly issues: readonly string[] };

/** What the admin API acts on; `createGateway` implements it. */
export interface AdminControls {
  /** The running state; shared feature modes are re-read from the store first, so it shows every instance's truth. */
  state(): Promise<AdminState>;
  /** @throws RelError 404 for an unknown alias or target, 409 for a route without a breaker. */
  breaker(alias: string, target: string, action: 'open' | 'close' | 'reset'): Promise<BreakerView>;
  /**
   * Sets a feature's mode; with shared modes it resolves only once the store took the change.
   * @throws RelError 404 for an unknown feature, 409 for one with no degraded answer or safe
   * default, 503 (`dependency_unavailable`) when the store refused the write (the mode is unchanged).
   */
  feature(name: string, mode: FeatureMode): Promise<FeatureView>;
  reload(): Promise<ReloadResult>;
}

/**
 * The admin key, kept only as its SHA-256 digest and compared in constant time.
 * @example const key = AdminKey.fromEnv('REL_ADMIN_KEY', process.env); key?.check(req.headers.authorization)
 */
export class AdminKey {
  readonly #digest: Buffer;

  private constructor(key: string) {
    this.#digest = createHash('sha256').update(key).digest();
  }

  /** The key named by `keyEnv`, or `undefined` (admin API off) when it is unset or shorter than 16 characters. */
  static fromEnv(keyEnv: string, env: Readonly<Record<string, string | undefined>>): AdminKey | undefined {
    const key = env[keyEnv];
    return key && key.length >= MIN_ADMIN_KEY_LENGTH ? new AdminKey(key) : undefined;
  }

  /** 200 for the admin key, 401 without a bearer token, 403 for any other token. */
  check(authorization: string | undefined): 200 | 401 | 403 {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match?.[1]) return 401;
    const digest = createHash('sha256').update(match[1]).digest();
    return timingSafeEqual(digest, this.#digest) ? 200 : 403;
  }
}

const BreakerAction = z.strictObject({ action: z.enum(['open', 'close', 'reset']) });
const FeatureModeBody = z.strictObject({ mode: z.enum(['degraded', 'normal']) });
const ADMIN_BODY_LIMIT = 4_096;

/** Options of `serveAdmin`. */
export interface AdminServeOptions {
  readonly key: AdminKey;
  readonly controls: AdminControls;
  readonly bodyTimeoutMs: number;
  /** Told about every admin call: method, path and status (never the key or the body). */
  readonly note: (fields: { method: string; path: string; status: number; action?: string }) => void;
}

/**
 * Serves `/admin/...` for a request already routed there:
 * `GET /admin/state`, `POST /admin/breakers/{alias}/{target}` `{ action }`,
 * `POST /admin/features/{name}` `{ mode }`, `POST /admin/reload`.
 * @example await serveAdmin(req, res, '/admin/state', { key, controls, bodyTimeoutMs: 5_000, note });
 */
export async function serveAdmin(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  options: AdminServeOptions,
): Promise<void> {
  const method = req.method ?? 'GET';
  let action: string | undefined;
  let status: number;
  try {
    const auth = options.key.check(req.headers.authorization);
    if (auth !== 200)
      throw new RelError(
        { kind: 'unauthorized', origin: 'client', status: auth },
        { message: auth === 401 ? 'missing admin key: send Authorization: Bearer <admin key>' : 'invalid admin key' },
      );
    const parts = path.split('/').slice(2).map(decodeSegment);
    const body = async () => readJson(req, res, ADMIN_BODY_LIMIT, options.bodyTimeoutMs);
    const route = `${method} ${parts[0] ?? ''}/${parts.length}`;
    switch (route) {
      case 'GET state/1':
        status = send(res, 200, await options.controls.state());
        break;
      case 'POST breakers/3': {
        const { action: a } = parseBody(BreakerAction, await body());
        action = a;
        status = send(res, 200, await options.controls.breaker(parts[1] ?? '', parts[2] ?? '', a));
        break;
      }
      case 'POST features/2': {
        const { mode } = parseBody(FeatureModeBody, await body());
        action = mode;
        status = send(res, 200, await options.controls.feature(parts[1] ?? '', mode));
        break;
      }
      case 'POST reload/1': {
        const result = await options.controls.reload();
        status = send(res, result.ok ? 200 : 422, result);
        break;
      }
      default:
        throw new RelError(
          { kind: 'invalid_request', status: 404 },
          {
            message: `no admin route ${method} ${path}: GET /admin/state, POST /admin/breakers/{alias}/{target}, POST /admin/features/{name}, POST /admin/reload`,
          },
        );
    }
  } catch (error) {
    status = sendError(
      res,
      RelError.is(error) ? error : new RelError({ kind: 'internal', message: 'admin' }, { cause: error }),
    );
  }
  options.note({ method, path, status, ...(action ? { action } : {}) });
}

function send(res: ServerResponse, status: number, body: unknown): number {
  sendJson(res, status, body);
  return status;
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const param = issue?.path.map(String).join('.') || undefined;
  throw new RelError(
    { kind: 'invalid_request', ...(param ? { param } : {}) },
    { message: `invalid admin body: ${param ? `${param}: ` : ''}${issue?.message ?? 'invalid'}`, cause: parsed.error },
  );
}
