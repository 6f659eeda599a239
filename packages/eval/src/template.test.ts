import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { placeholders, renderTemplate, splitTemplate } from './template';

describe('splitTemplate', () => {
  it('separates YAML front matter from the body', () => {
    expect(splitTemplate('---\nmaxTokens: 50\n---\nHello {{name}}\n')).toEqual({
      frontMatter: 'maxTokens: 50',
      body: 'Hello {{name}}\n',
    });
  });

  it('treats a file without front matter, or with --- later on, as all body', () => {
    expect(splitTemplate('Hello\n---\nx: 1\n---\n')).toEqual({
      frontMatter: undefined,
      body: 'Hello\n---\nx: 1\n---\n',
    });
  });

  it('accepts an empty front matter block', () => {
    expect(splitTemplate('---\n---\nHello')).toEqual({ frontMatter: '', body: 'Hello' });
    expect(splitTemplate('---\r\n---\r\nHello').body).toBe('Hello');
  });

  it('accepts CRLF line ends', () => {
    expect(splitTemplate('---\r\na: 1\r\n---\r\nbody').body).toBe('body');
  });
});

describe('renderTemplate', () => {
  it('fills every placeholder, with or without spaces inside the braces', () => {
    expect(renderTemplate('Hi {{ name }}, {{name}}! {{n}} items', { name: 'Ada', n: 3 })).toEqual({
      ok: true,
      text: 'Hi Ada, Ada! 3 items',
    });
  });

  it('names every missing variable instead of rendering', () => {
    expect(renderTemplate('{{a}} {{b}} {{c}} {{a}}', { b: 'x' })).toEqual({ ok: false, missing: ['a', 'c'] });
  });

  it('inserts values as they are, never expanding placeholders inside a value', () => {
    expect(renderTemplate('{{a}}', { a: '{{b}}', b: 'no' })).toEqual({ ok: true, text: '{{b}}' });
  });

  it('does not treat an inherited property such as toString as a value', () => {
    expect(renderTemplate('{{toString}}', {})).toEqual({ ok: false, missing: ['toString'] });
  });

  it('leaves no placeholder behind and keeps the text around them (property)', () => {
    const name = fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}$/);
    const plain = fc.string().filter((s) => !s.includes('{') && !s.includes('}'));
    fc.assert(
      fc.property(fc.array(fc.tuple(plain, name, plain), { minLength: 1, maxLength: 5 }), (parts) => {
        const text = parts.map(([before, n, after]) => `${before}{{${n}}}${after}`).join('');
        const vars = Object.fromEntries(parts.map(([, n, v]) => [n, v]));
        const out = renderTemplate(text, vars);
        expect(out.ok).toBe(true);
        if (out.ok) {
          expect(placeholders(out.text)).toEqual([]);
          expect(out.text).toBe(parts.map(([before, n, after]) => `${before}${vars[n]}${after}`).join(''));
        }
      }),
    );
  });
});
