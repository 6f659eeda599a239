import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchLogRecordProcessor,
  ConsoleLogRecordExporter,
  type LogRecordProcessor,
  LoggerProvider,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import {
  ConsoleMetricExporter,
  type IMetricReader,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { GatewayConfig } from './config';

/** The OpenTelemetry SDK objects of one gateway, handed to `createTelemetry`. */
export interface Otel {
  /** Absent when no span exporter is configured: spans then stay non-recording and cost nothing. */
  readonly tracerProvider: BasicTracerProvider | undefined;
  readonly meterProvider: MeterProvider;
  /** Absent when no log exporter is configured (the JSON lines on stdout are separate). */
  readonly loggerProvider: LoggerProvider | undefined;
  /** The Prometheus text exposition of every metric, when `telemetry.prometheus` is on. */
  readonly prometheus: (() => Promise<string>) | undefined;
  /** Exports what is buffered and stops every exporter. */
  shutdown(): Promise<void>;
}

/**
 * Builds the SDK for the app (not registered globally, so several gateways can live in one
 * process): console and OTLP-over-HTTP exporters when configured, and a Prometheus reader that
 * never opens a port of its own; `prometheus()` serializes its collection for our `/metrics`.
 * @param env where `telemetry.otlp.headersFromEnv` are read.
 * @example const otel = setupOtel(config.telemetry, process.env); await otel.prometheus?.();
 */
export function setupOtel(config: GatewayConfig['telemetry'], env: Record<string, string | undefined>): Otel {
  const resource = resourceFromAttributes({ 'service.name': config.serviceName });
  const otlp = config.otlp;
  const headers = otlp
    ? Object.fromEntries(Object.entries(otlp.headersFromEnv ?? {}).map(([k, name]) => [k, env[name] ?? '']))
    : {};
  const base = otlp?.endpoint.replace(/\/+$/, '');

  const spanProcessors: SpanProcessor[] = [];
  if (config.console) spanProcessors.push(new SimpleSpanProcessor(new ConsoleSpanExporter()));
  if (base) spanProcessors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: `${base}/v1/traces`, headers })));
  const tracerProvider = spanProcessors.length > 0 ? new BasicTracerProvider({ resource, spanProcessors }) : undefined;

  const readers: IMetricReader[] = [];
  let prometheusReader: PrometheusExporter | undefined;
  if (config.prometheus) {
    prometheusReader = new PrometheusExporter({ preventServerStart: true });
    readers.push(prometheusReader);
  }
  if (config.console) {
    readers.push(
      new PeriodicExportingMetricReader({ exporter: new ConsoleMetricExporter(), exportIntervalMillis: 60_000 }),
    );
  }
  if (base && otlp) {
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: `${base}/v1/metrics`, headers }),
        exportIntervalMillis: otlp.exportIntervalMs,
      }),
    );
  }
  const meterProvider = new MeterProvider({ resource, readers });

  const logProcessors: LogRecordProcessor[] = [];
  if (config.console) logProcessors.push(new SimpleLogRecordProcessor({ exporter: new ConsoleLogRecordExporter() }));
  if (base)
    logProcessors.push(
      new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `${base}/v1/logs`, headers }) }),
    );
  const loggerProvider =
    logProcessors.length > 0 ? new LoggerProvider({ resource, processors: logProcessors }) : undefined;

  const serializer = new PrometheusSerializer();
  const reader = prometheusReader;
  return {
    tracerProvider,
    meterProvider,
    loggerProvider,
    prometheus: reader
      ? async () => {
          const { resourceMetrics } = await reader.collect();
          return serializer.serialize(resourceMetrics);
        }
      : undefined,
    async shutdown() {
      await Promise.allSettled([tracerProvider?.shutdown(), meterProvider.shutdown(), loggerProvider?.shutdown()]);
    },
  };
}
