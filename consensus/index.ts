// The public surface of the consensus library. Everything a driver or a test needs
// is exported from here; files inside consensus/ import each other directly.

export * from './types.ts';
export { Raft } from './raft.ts';
export type { Ready, SoftState, Status, PeerStatus, ProposeResult, ProposeRefusal, RoleKind } from './ready.ts';
export { sendableBeforePersist } from './ready.ts';
export type { RaftOptions, Prng, Logger, ReadMode } from './options.ts';
export { createPrng, silentLogger } from './options.ts';
export type { LogStorage, InitialState } from './storage.ts';
export { MemoryStorage, entryBytes } from './storage.ts';
export {
  applyConfigChange,
  bootstrapLog,
  configOf,
  decodeConfigChange,
  encodeConfigChange,
  emptyConfig,
  isLearner,
  isMember,
  isVoter,
} from './config.ts';
