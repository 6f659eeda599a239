/** `cluster-key-slot` ships no types: its default export is the Redis Cluster slot of a key. */
declare module 'cluster-key-slot' {
  /** The slot (0 to 16383) of `key`, its first non-empty `{hash tag}` alone if it has one. */
  export default function calculateSlot(key: string | Buffer): number;
}
