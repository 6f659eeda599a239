export async function gatewayBench(): Promise<string> {
  throw new Error('not yet');
}
