export { createGateway } from './app';
export type { Gateway, GatewayOptions, GatewayOtelProviders, Generation } from './app';
export { AdminKey, MIN_ADMIN_KEY_LENGTH, serveAdmin } from './admin';
export type {
  AdminControls,
  AdminServeOptions,
  AdminState,
  BreakerView,
  ConfigVersion,
  FeatureView,
  ReloadResult,
} from './admin';
export { adminControls } from './admin-controls';
export type { AdminControlDeps } from './admin-controls';
export { FEATURE_MODES_KEY, FeatureModes, forcedDegrade, forcedAnswerOf } from './feature-modes';
export type { FeatureMode, FeatureModesOptions } from './feature-modes';
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
export type { GatewayApp, RunningGateway, RequestScope, Rejection } from './http-server';
export { buildPipeline } from './pipeline';
export type { Pipeline, PipelineDeps, RouteBreaker } from './pipeline';
export { setupOtel } from './otel';
export type { Otel } from './otel';
export { createStore, storeReady } from './store';
