export { createGateway } from './app';
export type { Gateway, GatewayOptions, GatewayOtelProviders } from './app';
export { GatewayConfigSchema, ConfigError, parseConfig, loadConfig, budgetConfigOf, routeName } from './config';
export type { GatewayConfig, GatewayConfigInput, RouteConfig, ModelAliasConfig } from './config';
export { KeyRing, hashKey } from './auth';
export type { Caller } from './auth';
export {
  ChatCompletionRequestSchema,
  MAX_TOKENS_CEILING,
  parseChatRequest,
  toChatCompletion,
  ChunkWriter,
  toErrorBody,
} from './openai-wire';
export type { ChatCompletionRequest } from './openai-wire';
export { startHttpServer } from './http-server';
export type { GatewayApp, RunningGateway } from './http-server';
export { buildPipeline } from './pipeline';
export type { Pipeline, PipelineDeps } from './pipeline';
export { setupOtel } from './otel';
export type { Otel } from './otel';
export { createStore, storeReady } from './store';
