export { FakeClock } from './fake-clock';
export { storeConformanceCases, type StoreConformanceTarget, type ConformanceCase } from './store-conformance';
export { overlappingCalls } from './overlapping-calls';
