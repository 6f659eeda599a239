/** Instrumentation scope name of every tracer, meter and logger this package asks for. */
export const SCOPE_NAME = '@rel/telemetry';
/** Instrumentation scope version (the package version). */
export const SCOPE_VERSION = '0.1.0';
