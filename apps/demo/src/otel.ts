import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchLogRecordProcessor,
  ConsoleLogRecordExporter,
  InMemoryLogRecordExporter,
  type LogRecordProcessor,
  LoggerProvider,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import {
  AggregationTemporality,
  ConsoleMetricExporter,
  type IMetricReader,
  MeterProvider,
  MetricReader,
  PeriodicExportingMetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';

/** A metric reader the demo collects on demand (cumulative, as a Prometheus scrape would see it). */
class OnDemandReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** The demo's OpenTelemetry SDK: in-memory exporters it reads for the summary, plus any the OTEL_* variables ask for. */
export interface DemoOtel {
  readonly tracerProvider: BasicTracerProvider;
  readonly meterProvider: MeterProvider;
  readonly loggerProvider: LoggerProvider;
  /** Which extra exporters are on, e.g. `['traces:console', 'metrics:otlp']`. */
  readonly exporters: readonly string[];
  /** Every finished span so far (flushes first). */
  spans(): Promise<readonly ReadableSpan[]>;
  /** A collection of every metric so far. */
  metrics(): Promise<ResourceMetrics>;
  /** Every log record emitted so far. */
  logRecords(): ReturnType<InMemoryLogRecordExporter['getFinishedLogRecords']>;
  shutdown(): Promise<void>;
}

/**
 * Builds the SDK without registering it globally. In-memory exporters are always on; the standard
 * variables add more: `OTEL_TRACES_EXPORTER`, `OTEL_METRICS_EXPORTER`, `OTEL_LOGS_EXPORTER`
 * (comma lists of `console`, `otlp`, `none`; unset means none here, unlike the SDK default, so
 * the demo never waits on a collector that is not there), with the OTLP exporters reading
 * `OTEL_EXPORTER_OTLP_ENDPOINT` / `_HEADERS` themselves, and `OTEL_SERVICE_NAME`.
 * @example const otel = createDemoOtel(process.env); const spans = await otel.spans();
 */
export function createDemoOtel(env: Readonly<Record<string, string | undefined>>): DemoOtel {
  const resource = resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || 'rel-demo' });
  const wanted = (signal: 'TRACES' | 'METRICS' | 'LOGS') =>
    new Set(
      (env[`OTEL_${signal}_EXPORTER`] ?? '')
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter((s) => s === 'console' || s === 'otlp'),
    );
  const exporters: string[] = [];

  const spanMemory = new InMemorySpanExporter();
  const spanProcessors: SpanProcessor[] = [new SimpleSpanProcessor(spanMemory)];
  const traces = wanted('TRACES');
  if (traces.has('console')) spanProcessors.push(new SimpleSpanProcessor(new ConsoleSpanExporter()));
  if (traces.has('otlp')) spanProcessors.push(new BatchSpanProcessor(new OTLPTraceExporter()));
  for (const t of traces) exporters.push(`traces:${t}`);
  const tracerProvider = new BasicTracerProvider({ resource, spanProcessors });

  const reader = new OnDemandReader();
  const readers: IMetricReader[] = [reader];
  const metrics = wanted('METRICS');
  const interval = Number(env.OTEL_METRIC_EXPORT_INTERVAL) || 5_000;
  if (metrics.has('console'))
    readers.push(
      new PeriodicExportingMetricReader({ exporter: new ConsoleMetricExporter(), exportIntervalMillis: interval }),
    );
  if (metrics.has('otlp'))
    readers.push(
      new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter(), exportIntervalMillis: interval }),
    );
  for (const m of metrics) exporters.push(`metrics:${m}`);
  const meterProvider = new MeterProvider({ resource, readers });

  const logMemory = new InMemoryLogRecordExporter();
  const logProcessors: LogRecordProcessor[] = [new SimpleLogRecordProcessor({ exporter: logMemory })];
  const logs = wanted('LOGS');
  if (logs.has('console'))
    logProcessors.push(new SimpleLogRecordProcessor({ exporter: new ConsoleLogRecordExporter() }));
  if (logs.has('otlp')) logProcessors.push(new BatchLogRecordProcessor({ exporter: new OTLPLogExporter() }));
  for (const l of logs) exporters.push(`logs:${l}`);
  const loggerProvider = new LoggerProvider({ resource, processors: logProcessors });

  return {
    tracerProvider,
    meterProvider,
    loggerProvider,
    exporters,
    async spans() {
      await tracerProvider.forceFlush();
      return spanMemory.getFinishedSpans();
    },
    async metrics() {
      const { resourceMetrics } = await reader.collect();
      return resourceMetrics;
    },
    logRecords: () => logMemory.getFinishedLogRecords(),
    async shutdown() {
      await Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown(), loggerProvider.shutdown()]);
    },
  };
}
