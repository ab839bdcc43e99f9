/** The embedded store (SQLite, WAL): one writer (record), any number of readers (report). */

export { decodeSnapshot, encodeSnapshot } from './codec.ts';
export { hasSqliteHeader, isCorruption, moveAside, readFailure } from './damage.ts';
export { acquireStoreLock, lockPathFor, type StoreLock } from './lock.ts';
export { notAStoreFile, realStorePath } from './path.ts';
export { type CaptureRow, type LoadCurve, type ProcessTotal, type ProcPoint, type SamplePoint, type Session, StoreReader } from './reader.ts';
export { enforceRetention, liveBytes, type RetentionPolicy, type RetentionResult } from './retention.ts';
export { SCHEMA_VERSION, STORE_ID } from './schema.ts';
export { CONTEXT_MS, type SessionInfo, StoreWriter } from './writer.ts';
