// A custom assertion: the reply was not cut short and is long enough to be helpful.
export function assert(output, ctx) {
  if (ctx.completion.finishReason !== 'stop') {
    return { pass: false, message: `reply cut short (finish reason ${ctx.completion.finishReason})` };
  }
  const words = output.trim().split(/\s+/).filter(Boolean).length;
  const min = Number(ctx.options.minWords ?? 10);
  if (words < min) return { pass: false, message: `reply has ${words} words, fewer than ${min}` };
  if (!/[.!?]$/.test(output.trim())) return { pass: false, message: 'reply does not end a sentence' };
  return true;
}
