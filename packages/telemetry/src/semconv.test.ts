import { describe, expect, it } from 'vitest';
import * as semconv from './semconv';

/**
 * The names and bucket advice below are copied by hand from the GenAI semantic conventions v1.41.1
 * (`model/gen-ai/*.yaml` and `docs/gen-ai/gen-ai-metrics.md` at tag v1.41.1), independently of
 * `semconv.ts`, so a typo there fails here.
 */
const SPEC_BUCKETS_SECONDS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
const SPEC_BUCKETS_TOKENS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

describe('semconv names and advice match the GenAI conventions v1.41.1', () => {
  it('uses the conventions attribute names', () => {
    expect({
      operation: semconv.ATTR_GEN_AI_OPERATION_NAME,
      provider: semconv.ATTR_GEN_AI_PROVIDER_NAME,
      requestModel: semconv.ATTR_GEN_AI_REQUEST_MODEL,
      responseModel: semconv.ATTR_GEN_AI_RESPONSE_MODEL,
      responseId: semconv.ATTR_GEN_AI_RESPONSE_ID,
      finishReasons: semconv.ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
      inputTokens: semconv.ATTR_GEN_AI_USAGE_INPUT_TOKENS,
      outputTokens: semconv.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
      cacheRead: semconv.ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
      maxTokens: semconv.ATTR_GEN_AI_REQUEST_MAX_TOKENS,
      temperature: semconv.ATTR_GEN_AI_REQUEST_TEMPERATURE,
      stream: semconv.ATTR_GEN_AI_REQUEST_STREAM,
      ttfc: semconv.ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
      input: semconv.ATTR_GEN_AI_INPUT_MESSAGES,
      output: semconv.ATTR_GEN_AI_OUTPUT_MESSAGES,
      tokenType: semconv.ATTR_GEN_AI_TOKEN_TYPE,
      address: semconv.ATTR_SERVER_ADDRESS,
      port: semconv.ATTR_SERVER_PORT,
      errorType: semconv.ATTR_ERROR_TYPE,
      userId: semconv.ATTR_USER_ID,
    }).toEqual({
      operation: 'gen_ai.operation.name',
      provider: 'gen_ai.provider.name',
      requestModel: 'gen_ai.request.model',
      responseModel: 'gen_ai.response.model',
      responseId: 'gen_ai.response.id',
      finishReasons: 'gen_ai.response.finish_reasons',
      inputTokens: 'gen_ai.usage.input_tokens',
      outputTokens: 'gen_ai.usage.output_tokens',
      cacheRead: 'gen_ai.usage.cache_read.input_tokens',
      maxTokens: 'gen_ai.request.max_tokens',
      temperature: 'gen_ai.request.temperature',
      stream: 'gen_ai.request.stream',
      ttfc: 'gen_ai.response.time_to_first_chunk',
      input: 'gen_ai.input.messages',
      output: 'gen_ai.output.messages',
      tokenType: 'gen_ai.token.type',
      address: 'server.address',
      port: 'server.port',
      errorType: 'error.type',
      userId: 'user.id',
    });
    expect([semconv.GEN_AI_TOKEN_TYPE_INPUT, semconv.GEN_AI_TOKEN_TYPE_OUTPUT]).toEqual(['input', 'output']);
  });

  it('uses the conventions metric names and bucket advice', () => {
    expect([
      semconv.METRIC_GEN_AI_CLIENT_OPERATION_DURATION,
      semconv.METRIC_GEN_AI_CLIENT_TOKEN_USAGE,
      semconv.METRIC_GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK,
    ]).toEqual([
      'gen_ai.client.operation.duration',
      'gen_ai.client.token.usage',
      'gen_ai.client.operation.time_to_first_chunk',
    ]);
    expect(semconv.DURATION_BUCKETS).toEqual(SPEC_BUCKETS_SECONDS);
    expect(semconv.TIME_TO_FIRST_CHUNK_BUCKETS).toEqual(SPEC_BUCKETS_SECONDS);
    expect(semconv.TOKEN_USAGE_BUCKETS).toEqual(SPEC_BUCKETS_TOKENS);
  });
});
