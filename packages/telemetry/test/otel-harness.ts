import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { type MetricData, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

/** The SDK's own reader, collected on demand (no timers). */
class CollectingReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/**
 * Real OpenTelemetry SDK providers with in-memory exporters, for asserting what was exported.
 */
export function otelHarness() {
  const spanExporter = new InMemorySpanExporter();
  const spanProcessor = new SimpleSpanProcessor(spanExporter);
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [spanProcessor] });
  const reader = new CollectingReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const logExporter = new InMemoryLogRecordExporter();
  const loggerProvider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: logExporter })] });
  const lines: string[] = [];
  return {
    tracerProvider,
    meterProvider,
    loggerProvider,
    jsonLines: { write: (line: string) => void lines.push(line) },
    /** The JSON lines written so far, parsed. */
    jsonRecords: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
    rawLines: lines,
    async spans() {
      await spanProcessor.forceFlush();
      return spanExporter.getFinishedSpans();
    },
    async metrics(): Promise<Map<string, MetricData>> {
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length) throw new AggregateError(errors);
      const byName = new Map<string, MetricData>();
      for (const scope of resourceMetrics.scopeMetrics) for (const m of scope.metrics) byName.set(m.descriptor.name, m);
      return byName;
    },
    async logs() {
      await loggerProvider.forceFlush();
      return logExporter.getFinishedLogRecords();
    },
    async shutdown() {
      await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown(), loggerProvider.shutdown()]);
    },
  };
}

export type OtelHarness = ReturnType<typeof otelHarness>;
