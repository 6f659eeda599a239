import fc from 'fast-check';
import { countTokens } from 'gpt-tokenizer';
import { describe, expect, it } from 'vitest';
import { TokenEstimator, isOpenAiFamily } from './token-estimate';

describe('TokenEstimator', () => {
  it('counts OpenAI-family prompts with the BPE tokenizer plus chat framing', () => {
    const est = new TokenEstimator().estimate({
      model: 'openai:gpt-4o',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Count the tokens of this sentence, please.' },
      ],
    });
    expect(est.method).toBe('tokenizer');
    expect(est.tokens).toBe(
      countTokens('You are terse.') + countTokens('Count the tokens of this sentence, please.') + 2 * 4 + 3,
    );
  });

  it('counts special-token text in a prompt as plain text instead of throwing', () => {
    const text = 'Ignore this: <|endoftext|><|im_start|>system';
    const est = new TokenEstimator().estimate({ model: 'gpt-4o', messages: [{ role: 'user', content: text }] });
    expect(est.tokens).toBe(countTokens(text, { disallowedSpecial: new Set() }) + 4 + 3);
    expect(() => countTokens(text)).toThrow('Disallowed special token');
    const long = `${'a long system prompt '.repeat(20)}<|endoftext|>`;
    const cached = new TokenEstimator();
    expect(cached.estimate({ model: 'gpt-4o', messages: [{ role: 'system', content: long }] }).tokens).toBe(
      countTokens(long, { disallowedSpecial: new Set() }) + 4 + 3,
    );
  });

  it('recognises the OpenAI family by model id', () => {
    expect(['gpt-4o', 'o3-mini', 'openai:gpt-5', 'chatgpt-4o-latest'].every(isOpenAiFamily)).toBe(true);
    expect(['claude-sonnet-4', 'gemini-2.5-pro', 'llama-3-70b'].some(isOpenAiFamily)).toBe(false);
  });

  it('estimates other models at 4 characters a token, then calibrates from the actual counts', () => {
    const estimator = new TokenEstimator();
    const req = { model: 'claude-sonnet-4', messages: [{ role: 'user' as const, content: 'x'.repeat(4000) }] };
    expect(estimator.estimate(req).tokens).toBe(1000 + 7);
    for (let i = 0; i < 30; i++) estimator.observe(req.model, 4000, 1600); // the model really uses 2.5 chars/token
    expect(estimator.ratio(req.model)).toBeCloseTo(2.5, 2);
    expect(estimator.estimate(req).tokens).toBeCloseTo(1600 + 7, -1);
  });

  it('property: the estimate never shrinks when a message grows', () => {
    const estimator = new TokenEstimator();
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.constantFrom('gpt-4o', 'claude-3-haiku'), (a, b, model) => {
        const one = estimator.estimate({ model, messages: [{ role: 'user', content: a }] }).tokens;
        const two = estimator.estimate({ model, messages: [{ role: 'user', content: a + b }] }).tokens;
        return model.startsWith('gpt') ? two >= one - 1 : two >= one;
      }),
    );
  });

  it('remembers the counts of long texts, boundedly, and estimates exactly as the tokenizer whether a text is new, repeated or evicted', () => {
    const estimator = new TokenEstimator();
    const system = 'You are a careful assistant; answer in British English. '.repeat(20);
    const texts = [
      system,
      ...Array.from({ length: 100 }, (_, i) => `Document ${i}: ${'lorem ipsum dolor '.repeat(20 + i)}`),
    ];
    for (let round = 0; round < 2; round++) {
      for (const t of texts) {
        const req = {
          model: 'gpt-4o',
          messages: [
            { role: 'system' as const, content: system },
            { role: 'user' as const, content: t },
          ],
        };
        expect(estimator.estimate(req).tokens).toBe(countTokens(system) + countTokens(t) + 2 * 4 + 3);
        expect(estimator.cachedTexts).toBeLessThanOrEqual(64);
      }
    }
    expect(estimator.cachedTexts).toBe(64);
    // Short texts are counted, never kept.
    const short = new TokenEstimator();
    short.estimate({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello there' }] });
    expect(short.cachedTexts).toBe(0);
  });

  it('property: with the count cache, estimates equal the tokenizer count for any texts, repeated or not', () => {
    const estimator = new TokenEstimator();
    const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ minLength: 256, maxLength: 600 }));
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 4 }), fc.boolean(), (contents, again) => {
        const req = { model: 'gpt-4o', messages: contents.map((content) => ({ role: 'user' as const, content })) };
        const want = contents.reduce((n, t) => n + (t ? countTokens(t) : 0), 0) + contents.length * 4 + 3;
        expect(estimator.estimate(req).tokens).toBe(want);
        if (again) expect(estimator.estimate(req).tokens).toBe(want);
      }),
    );
  });
});
