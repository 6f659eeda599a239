import type { PiiMatch } from './pii-types';
import { shannonEntropy } from './validators';

/**
 * Credentials recognised by their issuer's prefix. The list follows the formats documented by each
 * issuer (and the rule sets of gitleaks / GitHub secret scanning), kept to high-confidence shapes.
 */
export const KNOWN_SECRETS: readonly RegExp[] = [
  /sk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_-]{20,}/g, // Anthropic
  /sk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{20,}/g, // OpenAI project / service keys
  /sk-[A-Za-z0-9]{20,}(?:T3BlbkFJ[A-Za-z0-9]{20,})?/g, // OpenAI legacy
  /(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}/g, // AWS access key id
  /gh[pousr]_[A-Za-z0-9]{36,255}/g, // GitHub tokens
  /github_pat_[A-Za-z0-9_]{22,255}/g, // GitHub fine-grained token
  /xox[abposr]-[A-Za-z0-9-]{10,}/g, // Slack
  /AIza[0-9A-Za-z_-]{35}/g, // Google API key
  /glpat-[A-Za-z0-9_-]{20,}/g, // GitLab
  /(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}/g, // Stripe
  /whsec_[A-Za-z0-9]{24,}/g, // Stripe webhook secret
  /SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}/g, // SendGrid
  /hf_[A-Za-z0-9]{30,}/g, // Hugging Face
  /npm_[A-Za-z0-9]{36}/g, // npm
  /gsk_[A-Za-z0-9]{40,}/g, // Groq
  /xai-[A-Za-z0-9]{40,}/g, // xAI
  /pplx-[A-Za-z0-9]{40,}/g, // Perplexity
  /shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}/g, // Shopify
  /dop_v1_[a-f0-9]{64}/g, // DigitalOcean
  /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, // JWT
  /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY(?: BLOCK)?-----[\s\S]*?-----END (?:[A-Z]+ )?PRIVATE KEY(?: BLOCK)?-----/g,
  /(?<=\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)[^\s@/]{3,}(?=@)/g, // password in a URL
];

/**
 * A literal that every match of `KNOWN_SECRETS` contains (its issuer prefix; `://` for a password
 * in a URL): a text without any of them skips those patterns after one scan.
 */
export const KNOWN_PREFIX =
  /sk-|AKIA|ASIA|ABIA|ACCA|gh[pousr]_|github_pat_|xox[abposr]-|AIza|glpat-|[srp]k_(?:live|test)_|whsec_|SG\.|hf_|npm_|gsk_|xai-|pplx-|shp(?:at|ca|pa|ss)_|dop_v1_|eyJ|-----BEGIN |:\/\//;

const TOKEN = /(?<![A-Za-z0-9+/_.-])[A-Za-z0-9+/_-]{20,}={0,2}(?![A-Za-z0-9+/_=-])/g;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Options of the secret detector. */
export interface SecretOptions {
  /** Minimum Shannon entropy (bits per character) of an unknown token to count as a secret. */
  readonly minEntropy: number;
  /** Minimum length of an unknown token. */
  readonly minLength: number;
}

/**
 * API keys and secrets: known prefixes first, then unknown tokens of at least `minLength`
 * characters that mix at least three classes (lower, upper, digits, `+/_=-`), hold at least two
 * digits, switch class often (words run long in one class) and reach `minEntropy` bits per
 * character. UUIDs, paths, identifiers such as `getUserById2024`, generated lowercase names
 * (`web-7d4b9c8f6d-x2kqz`), labelled digests (`sha512-...`) and base64 of files (a PNG) stay out.
 */
export function detectSecrets(text: string, options: SecretOptions): PiiMatch[] {
  const out: PiiMatch[] = [];
  detectKnownSecrets(text, out);
  detectUnknownSecrets(text, options, out);
  return out;
}

const ALNUM = /[A-Za-z0-9]/;

/** The known-prefix half of `detectSecrets`: appends its matches to `out`. */
export function detectKnownSecrets(text: string, out: PiiMatch[]): void {
  if (!KNOWN_PREFIX.test(text)) return;
  for (const re of KNOWN_SECRETS) {
    for (const m of text.matchAll(re)) {
      if (!ALNUM.test(text[m.index - 1] ?? ''))
        out.push({ type: 'secret', start: m.index, end: m.index + m[0].length });
    }
  }
}

/** The unknown-token half of `detectSecrets` (entropy and shape rules): appends its matches to `out`. */
export function detectUnknownSecrets(text: string, options: SecretOptions, out: PiiMatch[]): void {
  for (const m of text.matchAll(TOKEN)) {
    if (/^(?:sha(?:1|224|256|384|512)|md5)-/i.test(m[0])) continue;
    if (DIGEST_BEFORE.test(text.slice(Math.max(0, m.index - 8), m.index))) continue;
    if (looksRandom(m[0], options)) out.push({ type: 'secret', start: m.index, end: m.index + m[0].length });
  }
}

/**
 * Base64 of a file (PNG, JPEG, GIF, PDF, ZIP, WebP, gzip), recognised by the encoding of its magic
 * bytes: data, not a credential, however random it looks.
 */
const FILE_BASE64 = /^(?:iVBORw0KGgo|\/9j\/|R0lGOD|JVBERi0|UEsDB|UklGR|H4sI)/;
/** A digest labelled with its algorithm (`sha512-...` in lockfiles, `sha256:...` in image digests): public, not secret. */
const DIGEST_BEFORE = /(?:sha(?:1|224|256|384|512)|md5)[-:]$/i;

function looksRandom(token: string, options: SecretOptions): boolean {
  if (token.length < options.minLength || UUID.test(token) || FILE_BASE64.test(token)) return false;
  // Generated names (k8s pods, containers, branches) are lowercase pieces joined by - or _;
  // random credentials mix cases.
  if (!/[A-Z+/=]/.test(token) && /^[a-z0-9]+(?:[-_][a-z0-9]+)+$/.test(token)) return false;
  const lower = /[a-z]/.test(token);
  const upper = /[A-Z]/.test(token);
  const digits = token.replace(/\D/g, '').length;
  const symbols = /[+/_=-]/.test(token);
  if (Number(lower) + Number(upper) + Number(digits > 0) + Number(symbols) < 3 || digits < 2) return false;
  // A path or a kebab/snake identifier splits into word-like pieces; a random token does not.
  const pieces = token.split(/[/_-]/).filter((p) => p.length > 0);
  if (pieces.length >= 3 && pieces.every((p) => /^[A-Za-z]*\d{0,4}$/.test(p))) return false;
  // Words (camelCase, PascalCase) come in long runs of one character class; random text does not.
  const runs = token.match(/[A-Z]?[a-z]+|[A-Z]+|\d+/g) ?? [];
  const meanRun = runs.reduce((n, r) => n + r.length, 0) / Math.max(1, runs.length);
  if (meanRun >= 3) return false;
  return shannonEntropy(token) >= options.minEntropy;
}
