import type { Ajv } from 'ajv';
import type { CustomAssertFunction } from './assertions';
import { configError } from './config-error';
import type { LoadedTemplate } from './load-template';

/**
 * What loading one case needs: where it is (for error messages), how to read a file of the set
 * (recorded for the fingerprint), and the caches shared by every case of the set.
 * @internal
 */
export interface CaseContext {
  readonly file: string;
  readonly dir: string;
  readonly where: string;
  readonly readAsset: (path: string, display: string, where: string | undefined, field: string) => Promise<string>;
  readonly templates: Map<string, Promise<LoadedTemplate>>;
  readonly modules: Map<string, Promise<CustomAssertFunction>>;
  readonly ajv: Ajv;
  readonly rel: (path: string) => string;
}

/**
 * Parses a JSON Schema file's text.
 * @throws RelError `invalid_request` naming the file and field when it is not a JSON object.
 * @internal
 */
export function parseJsonFile(text: string, file: string, field: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
    throw new Error('a JSON Schema must be an object');
  } catch (e) {
    throw configError(file, undefined, field, `invalid JSON: ${(e as Error).message}`, e);
  }
}
