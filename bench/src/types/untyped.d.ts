// Minimal declarations for peers that ship no types, covering only what the benchmarks call.

declare module 'opossum' {
  interface OpossumOptions {
    timeout?: number | false;
    errorThresholdPercentage?: number;
    resetTimeout?: number;
    volumeThreshold?: number;
    rollingCountTimeout?: number;
    rollingCountBuckets?: number;
  }
  class CircuitBreaker<T = unknown> {
    constructor(action: (...args: unknown[]) => Promise<T>, options?: OpossumOptions);
    fire(...args: unknown[]): Promise<T>;
    readonly opened: boolean;
    shutdown(): void;
  }
  export default CircuitBreaker;
}

declare module 'autocannon' {
  interface Histogram {
    average: number;
    mean: number;
    p50: number;
    p90: number;
    p97_5: number;
    p99: number;
    min: number;
    max: number;
  }
  interface Result {
    requests: Histogram & { total: number; sent: number };
    latency: Histogram & { p95?: number };
    throughput: Histogram;
    errors: number;
    timeouts: number;
    non2xx: number;
    '2xx': number;
    duration: number;
  }
  interface Options {
    url: string;
    connections?: number;
    duration?: number;
    amount?: number;
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    pipelining?: number;
    timeout?: number;
  }
  function autocannon(options: Options): Promise<Result>;
  export default autocannon;
}
