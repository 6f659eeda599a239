import {
  type Completion,
  type GuardrailAction,
  type Middleware,
  type RandomSource,
  type RequestContext,
  RelError,
  type StreamChunk,
  systemRandom,
} from '@rel/core';
import { z } from 'zod';
import { createPiiDetector, PiiDetectorOptionsSchema } from '../pii/detect-pii';
import type { PiiMatch } from '../pii/pii-types';
import { replaceMatches, replacement } from '../pii/redact-pii';
import { canaryLeaked, canaryNeedles, plantCanary, revealsAny } from './canary';
import { maxMatchLength } from './regex-length';
import { isSpace } from './is-space';
import { recordGuardrail, worstAction } from './record-verdict';

/** A guard's decision on a text. `text` replaces the examined text when the action is `redact`. */
export interface Verdict {
  readonly action: 'pass' | 'warn' | 'redact' | 'block';
  readonly categories?: readonly string[];
  readonly score?: number;
  readonly text?: string;
}

/**
 * A pluggable output classifier (a moderation model, a topic filter...). It sees the text about to
 * be released (the whole answer for a completion, one segment of a stream) and, in `before`, what
 * the caller has already received.
 */
export type OutputClassifier = (text: string, info: { final: boolean; before: string }) => Verdict | Promise<Verdict>;

/** Options of `outputPolicy` that are data (functions are passed beside them). */
export const OutputPolicyOptionsSchema = z.strictObject({
  /** Denied phrases (case-insensitive, any whitespace between words) and patterns. */
  deny: z.array(z.union([z.string().min(1), z.instanceof(RegExp)])).default([]),
  /** A canary token to look for, or `true` to plant a fresh one in every request's system prompt. */
  canary: z.union([z.string().min(8), z.literal(true)]).optional(),
  /** What PII in the answer does: `block`, `redact` (typed placeholder) or `warn`; off when absent. */
  pii: z.enum(['block', 'redact', 'warn']).optional(),
  /** Detector options for `pii`. */
  piiOptions: PiiDetectorOptionsSchema.partial().optional(),
  /**
   * Characters of a stream held back until the text after them is known. A denied match or PII
   * value up to this long never reaches the caller, whatever the chunking. Raised automatically to
   * the longest phrase, the canary and the longest match of every bounded pattern (see
   * `maxMatchLength`); a phrase is also held until as many non-space characters as it has follow,
   * so it is caught with any run of whitespace between its words. A pattern with an unbounded
   * quantifier (`+`, `*`, `{n,}`) is guaranteed only for matches up to this length: a longer match
   * split across chunks can be missed, its beginning released (and out of sight) before its end
   * arrives. Bound such patterns (`\s{1,8}` rather than `\s+`) or raise this option.
   */
  holdBackChars: z.number().int().min(1).max(4096).default(64),
  /** With a classifier, a stream releases text in segments of at least this many characters. */
  classifierMinChars: z.number().int().min(1).default(256),
  /** The name recorded in verdicts and events. */
  name: z.string().min(1).default('output-policy'),
});
/** Options of `outputPolicy`, as written by callers. */
export type OutputPolicyOptions = z.input<typeof OutputPolicyOptionsSchema> & {
  classifier?: OutputClassifier;
  /** Randomness for planted canaries (default `systemRandom`). */
  random?: RandomSource;
};

interface Outcome {
  action: GuardrailAction;
  categories: Set<string>;
  latencyMs: number;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Checks the model's answer before the caller sees it: denied phrases and patterns, a leaked
 * system-prompt canary, PII, and an optional classifier, each verdict `pass`, `warn`, `redact` or
 * `block`. Streams are checked incrementally: the last `holdBackChars` characters are held back
 * until what follows them is known, so a blocked phrase split across chunks is never emitted; on
 * block the iterator throws `guardrail_blocked` (stage `output`) instead. One verdict per answer is
 * recorded and emitted. Tool-call arguments pass unchecked.
 * @throws ZodError naming a bad option; RelError `guardrail_blocked` when an answer is blocked.
 * @example
 * const handler = compose(outputPolicy({ deny: ['internal use only', /\bAPI[-_ ]?KEY\b/i], canary: true, pii: 'redact' }))(provider);
 */
export function outputPolicy(options: OutputPolicyOptions = {}): Middleware {
  const { classifier, random = systemRandom, ...data } = options;
  const o = OutputPolicyOptionsSchema.parse(data);
  const deny = o.deny.map((d) =>
    typeof d === 'string'
      ? new RegExp(d.trim().split(/\s+/).map(escapeRegExp).join('\\s+'), 'giu')
      : new RegExp(d.source, d.flags.includes('g') ? d.flags : `${d.flags}g`),
  );
  // A phrase's regex has no anchor or lookaround: a match in part of a window is one in the window.
  const isPhrase = o.deny.map((d) => typeof d === 'string');
  const phrases = o.deny.filter((d): d is string => typeof d === 'string');
  const longestLiteral = Math.max(0, ...phrases.map((d) => d.length));
  // A phrase matches with any whitespace between its words, so its length is unbounded; its
  // non-space characters are not: holding back that many non-space characters is enough.
  const phraseNonSpace = Math.max(0, ...phrases.map((d) => d.replace(/\s+/g, '').length));
  const patternBound = Math.max(
    0,
    ...o.deny.map((d) => (typeof d === 'string' ? 0 : maxMatchLength(d))).filter(Number.isFinite),
  );
  const detect = o.pii ? createPiiDetector(o.piiOptions ?? {}) : undefined;
  const canaryLength = typeof o.canary === 'string' ? o.canary.length : 27;
  const holdBack = Math.max(o.holdBackChars, longestLiteral, patternBound, o.canary ? canaryLength : 0);

  const blockOn = (text: string, canary: string | undefined, categories: Set<string>): boolean => {
    let blocked = false;
    for (const re of deny) {
      re.lastIndex = 0;
      if (re.test(text)) {
        categories.add('deny');
        blocked = true;
      }
    }
    if (canary && canaryLeaked(text, canary)) {
      categories.add('canary_leak');
      blocked = true;
    }
    return blocked;
  };

  /**
   * `blockOn(window, ...)` for a stream's window whose text from `fresh` on arrived since the last
   * check of the window's earlier text (a suffix of the previous window, found clean). A match of a
   * phrase or of an ASCII canary that includes new text starts within its length before `fresh`, so
   * those are searched from there; patterns, which may have anchors or lookarounds, and a non-ASCII
   * canary (whose lowercasing may depend on context) are searched in the whole window as before.
   */
  const blockOnFresh = (window: string, fresh: number, needles: Needles | undefined, categories: Set<string>) => {
    let blocked = false;
    const phraseFrom = fresh === 0 ? 0 : nonSpaceStart(window, fresh, phraseNonSpace, 0);
    for (let i = 0; i < deny.length; i++) {
      const re = deny[i] as RegExp;
      re.lastIndex = isPhrase[i] ? phraseFrom : 0;
      if (re.test(window)) {
        categories.add('deny');
        blocked = true;
      }
    }
    if (needles) {
      const from = needles.ascii ? Math.max(0, fresh - (needles.list[0] as string).length) : 0;
      if (revealsAny((from === 0 ? window : window.slice(from)).toLowerCase(), needles.list)) {
        categories.add('canary_leak');
        blocked = true;
      }
    }
    return blocked;
  };

  const applyPii = (text: string, matches: readonly PiiMatch[], outcome: Outcome): string | 'block' => {
    if (!o.pii || matches.length === 0) return text;
    for (const m of matches) outcome.categories.add(`pii:${m.type}`);
    if (o.pii === 'block') return 'block';
    if (o.pii === 'warn') {
      outcome.action = worstAction(outcome.action, 'warn');
      return text;
    }
    outcome.action = worstAction(outcome.action, 'redact');
    return replaceMatches(text, matches, (m, v) => replacement('redact', m.type, v));
  };

  const applyClassifier = async (text: string, final: boolean, before: string, outcome: Outcome) => {
    if (!classifier) return text;
    const verdict = await classifier(text, { final, before });
    for (const c of verdict.categories ?? []) outcome.categories.add(c);
    if (verdict.action === 'block') return 'block' as const;
    outcome.action = worstAction(outcome.action, verdict.action);
    return verdict.action === 'redact' ? (verdict.text ?? '[REDACTED]') : text;
  };

  const finish = (ctx: RequestContext, outcome: Outcome, blocked: boolean): void => {
    const action = blocked ? 'block' : outcome.action;
    const categories = [...outcome.categories].sort();
    recordGuardrail(ctx, { name: o.name, stage: 'output', action, categories, latencyMs: outcome.latencyMs });
    if (blocked) {
      throw new RelError(
        { kind: 'guardrail_blocked', stage: 'output', guardrail: o.name, categories },
        { cause: new Error(`output blocked: ${categories.join(', ')}`) },
      );
    }
  };

  /**
   * A stream's chunks as the policy releases them: an iterator rather than an async generator, so
   * a chunk costs one promise (the source's) and, without a classifier, no await. The same as the
   * generator it replaces: a text chunk is checked with the window and what is safe is released;
   * the finish releases the rest, then the verdict is recorded when the finish chunk is read; a
   * block (or any failure of a check) closes the source, then throws; an error of the source
   * ends the stream; `return()` closes the source once it was read.
   */
  class ScreenedStream implements AsyncIterableIterator<StreamChunk> {
    readonly #source: AsyncIterable<StreamChunk>;
    readonly #ctx: RequestContext;
    readonly #outcome: Outcome;
    readonly #needles: Needles | undefined;
    #it: AsyncIterator<StreamChunk> | undefined;
    /** The source ended, failed or was closed: every read is done. */
    #ended = false;
    /** The wait of the `next()` in progress. */
    #resolve: ((result: IteratorResult<StreamChunk>) => void) | undefined;
    #reject: ((error: unknown) => void) | undefined;
    /** The finish chunk to return (after the text it released), the verdict not yet recorded. */
    #finishing: StreamChunk | undefined;
    /** A finish chunk went by. */
    #finished = false;
    /** The window: the last `holdBack` released characters, then the pending text from `#start`. */
    #window = '';
    #start = 0;
    /** Where the text not yet checked begins in `#window`. */
    #fresh = 0;
    /** What the caller received, for the classifier. */
    #before = '';

    constructor(source: AsyncIterable<StreamChunk>, ctx: RequestContext, outcome: Outcome, canary: string | undefined) {
      this.#source = source;
      this.#ctx = ctx;
      this.#outcome = outcome;
      this.#needles = canary ? needlesOf(canary) : undefined;
    }

    [Symbol.asyncIterator](): AsyncIterableIterator<StreamChunk> {
      return this;
    }

    next(): Promise<IteratorResult<StreamChunk>> {
      const finishing = this.#finishing;
      if (finishing !== undefined) {
        this.#finishing = undefined;
        return Promise.resolve(this.#deliverFinish(finishing));
      }
      if (this.#ended) return Promise.resolve(DONE);
      return new Promise<IteratorResult<StreamChunk>>((resolve, reject) => {
        this.#resolve = resolve;
        this.#reject = reject;
        this.#read();
      });
    }

    return(value?: unknown): Promise<IteratorResult<StreamChunk>> {
      const it = this.#it;
      const wasEnded = this.#ended;
      this.#ended = true;
      this.#finishing = undefined;
      const result: IteratorResult<StreamChunk> = { done: true, value };
      if (wasEnded || it?.return === undefined) return Promise.resolve(result);
      return Promise.resolve(it.return()).then(() => result);
    }

    /** Reads the source's next chunk for the `next()` in progress. */
    #read(): void {
      const it = (this.#it ??= this.#source[Symbol.asyncIterator]());
      let read: Promise<IteratorResult<StreamChunk>>;
      try {
        read = it.next();
      } catch (error) {
        this.#onError(error);
        return;
      }
      read.then(this.#onRead, this.#onError);
    }

    readonly #onError = (error: unknown): void => {
      this.#ended = true;
      this.#settle(undefined, error);
    };

    readonly #onRead = (read: IteratorResult<StreamChunk>): void => {
      let kind: Read;
      let out: string | Promise<string>;
      try {
        if (read.done) {
          this.#ended = true;
          // The stream ended without a finish: release what is left if it is clean, for the next
          // layer (collectStream) to report the interruption.
          if (this.#finished || this.#window.length === this.#start) {
            this.#settle(DONE);
            return;
          }
          kind = Read.End;
          out = this.#release(true);
        } else {
          const chunk = read.value;
          if (chunk.type === 'text-delta') {
            this.#window += chunk.text;
            kind = Read.Text;
            out = this.#release(false);
          } else if (chunk.type === 'finish') {
            this.#finished = true;
            this.#finishing = chunk;
            kind = Read.Finish;
            out = this.#release(true);
          } else {
            this.#settle({ done: false, value: chunk });
            return;
          }
        }
      } catch (error) {
        this.#fail(error);
        return;
      }
      if (typeof out === 'string') this.#released(kind, out);
      else out.then((text) => this.#released(kind, text), this.#fail);
    };

    /** Settles the `next()` in progress with what a release gave, or reads on when it gave nothing. */
    #released(kind: Read, out: string): void {
      if (out === 'block') {
        try {
          finish(this.#ctx, this.#outcome, true);
        } catch (error) {
          this.#fail(error);
          return;
        }
      }
      const text: IteratorResult<StreamChunk> | undefined = out
        ? { done: false, value: { type: 'text-delta', text: out } }
        : undefined;
      if (kind === Read.Text) {
        if (text) this.#settle(text);
        else this.#read();
        return;
      }
      if (kind === Read.End) {
        this.#settle(text ?? DONE);
        return;
      }
      const chunk = this.#finishing as StreamChunk;
      if (text) {
        this.#settle(text);
        return;
      }
      this.#finishing = undefined;
      this.#settle(this.#deliverFinish(chunk));
    }

    #deliverFinish(chunk: StreamChunk): IteratorResult<StreamChunk> {
      finish(this.#ctx, this.#outcome, false);
      return { done: false, value: chunk };
    }

    #settle(result: IteratorResult<StreamChunk> | undefined, error?: unknown): void {
      const resolve = this.#resolve;
      const reject = this.#reject;
      this.#resolve = undefined;
      this.#reject = undefined;
      if (result !== undefined) resolve?.(result);
      else reject?.(error);
    }

    /**
     * A check failed (a block, a check that throws): with the source still open it is closed
     * first, as leaving a `for await` loop does, then the `next()` in progress rejects.
     */
    readonly #fail = (error: unknown): void => {
      this.#finishing = undefined;
      const it = this.#it;
      if (this.#ended || it?.return === undefined) {
        this.#ended = true;
        this.#settle(undefined, error);
        return;
      }
      this.#ended = true;
      const rethrow = () => this.#settle(undefined, error);
      try {
        Promise.resolve(it.return()).then(rethrow, rethrow);
      } catch {
        rethrow();
      }
    };

    /** Checks the window and releases what is safe: the text, '' for nothing, or 'block'. */
    #release(final: boolean): string | Promise<string> {
      const started = performance.now();
      let out: string | Promise<string>;
      try {
        out = this.#screen(final);
      } catch (error) {
        this.#outcome.latencyMs += performance.now() - started;
        throw error;
      }
      if (typeof out === 'string') {
        this.#outcome.latencyMs += performance.now() - started;
        return out;
      }
      return out.finally(() => {
        this.#outcome.latencyMs += performance.now() - started;
      });
    }

    #screen(final: boolean): string | Promise<string> {
      const outcome = this.#outcome;
      const window = this.#window;
      const start = this.#start;
      if (blockOnFresh(window, this.#fresh, this.#needles, outcome.categories)) return 'block';
      this.#fresh = window.length;
      const pendingLength = window.length - start;
      let cut = final ? pendingLength : Math.max(0, pendingLength - holdBack);
      if (!final && phraseNonSpace > 0) {
        cut = Math.min(cut, nonSpaceStart(window, window.length, phraseNonSpace, start) - start);
      }
      if (!final && classifier && cut < o.classifierMinChars) cut = 0;
      let matches: PiiMatch[] = [];
      if (detect) {
        const found = detect(window)
          .filter((m) => m.start >= start)
          .map((m) => ({ ...m, start: m.start - start, end: m.end - start }));
        if (o.pii === 'block' && found.length > 0) {
          for (const m of found) outcome.categories.add(`pii:${m.type}`);
          return 'block';
        }
        for (const m of found) if (m.start < cut && m.end > cut) cut = m.start;
        matches = found.filter((m) => m.end <= cut);
      }
      if (cut === 0) return '';
      const raw = window.slice(start, start + cut);
      if (start + cut > holdBack) {
        const drop = start + cut - holdBack;
        this.#window = window.slice(drop);
        this.#fresh -= drop;
        this.#start = holdBack;
      } else this.#start = start + cut;
      const redacted = applyPii(raw, matches, outcome);
      if (redacted === 'block' || !classifier) return redacted;
      return applyClassifier(redacted, final, this.#before, outcome).then((out) => {
        if (out !== 'block') this.#before += out;
        return out;
      });
    }
  }

  return (next) => async (req, ctx) => {
    let request = req;
    let canary = typeof o.canary === 'string' ? o.canary : undefined;
    if (o.canary === true) {
      const planted = plantCanary(req.messages, { random });
      request = { ...req, messages: planted.messages };
      canary = planted.canary;
    }
    const response = await next(request, ctx);
    const outcome: Outcome = { action: 'pass', categories: new Set(), latencyMs: 0 };

    if (response.type === 'completion') {
      const started = performance.now();
      const raw = response.message.content ?? '';
      let text: string | 'block' = raw;
      if (blockOn(raw, canary, outcome.categories)) text = 'block';
      if (text !== 'block' && detect) text = applyPii(text, detect(text), outcome);
      if (text !== 'block' && classifier) text = await applyClassifier(text, true, '', outcome);
      outcome.latencyMs = performance.now() - started;
      finish(ctx, outcome, text === 'block');
      if (text === raw || response.message.content === null) return response;
      return { ...response, message: { ...response.message, content: text as string } } satisfies Completion;
    }

    return { ...response, chunks: new ScreenedStream(response.chunks, ctx, outcome, canary) };
  };
}

/** What a read of the source was, for what its release settles. */
enum Read {
  Text = 0,
  Finish = 1,
  End = 2,
}

const DONE: IteratorResult<StreamChunk> = Object.freeze({ done: true, value: undefined });

/** What reveals a request's canary, and whether it is ASCII (so lowercasing is per character). */
interface Needles {
  readonly list: readonly string[];
  readonly ascii: boolean;
}

function needlesOf(canary: string): Needles {
  const list = canaryNeedles(canary);
  return { list, ascii: /^[\x00-\x7f]*$/.test(list[0] as string) };
}

/**
 * The largest `i >= floor` such that `text.slice(i, end)` holds at least `count` non-whitespace
 * characters (`floor` when none does).
 */
function nonSpaceStart(text: string, end: number, count: number, floor: number): number {
  let seen = 0;
  for (let i = end - 1; i >= floor; i--) {
    if (!isSpace(text.charCodeAt(i))) seen++;
    if (seen >= count) return i;
  }
  return floor;
}
