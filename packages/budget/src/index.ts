export { budget } from './budget-middleware';
export { BudgetPolicy } from './budget-policy';
export type { BudgetOptions, BudgetDecision, Reservation, Settlement, LimitStatus } from './budget-policy';
export type { BudgetAlert } from './alerts';
export {
  BudgetConfigSchema,
  LimitsSchema,
  TierSchema,
  OrgSchema,
  UserSchema,
  PriceSchema,
  LIMIT_NAMES,
} from './config';
export type { BudgetConfig, ParsedBudgetConfig, Limits, Price, FailMode, LimitName } from './config';
export { priceUsage, createPricer } from './pricing';
export type { Pricer, PricerOptions, BudgetLogger } from './pricing';
export { TokenEstimator, isOpenAiFamily } from './token-estimate';
export type { TokenEstimate } from './token-estimate';
export { resolveScopes } from './scopes';
export type { ResolvedScope } from './scopes';
