/** Store-and-forward inboxes: the relay's state machine, clients' checks, formats, the MerkleQueue. */

export * from './client.ts';
export * from './inbox.ts';
export * from './merkle-queue.ts';
export * from './wire.ts';
