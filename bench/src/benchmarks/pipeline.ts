export async function pipelineBench(): Promise<string> {
  throw new Error('not yet');
}
