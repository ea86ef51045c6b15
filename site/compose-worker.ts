/**
 * The compose thread (compose-thread.ts starts it): writes one file from its
 * pieces when asked, so that a big file of other files' bytes (the 64 MB
 * reproducible.json of Debian's size) is copied while the render's own
 * thread goes on. It loads pieces.ts and nothing else: it is ready long
 * before it is needed.
 */
import { parentPort } from 'node:worker_threads';
import { writePieces, type Piece } from './pieces.js';

export interface ComposeRequest {
  tmp: string;
  pieces: Piece[];
}

export type ComposeReply = { size: number } | { error: string };

parentPort?.once('message', (req: ComposeRequest) => {
  let reply: ComposeReply;
  try {
    reply = { size: writePieces(req.tmp, req.pieces) };
  } catch (err) {
    reply = { error: err instanceof Error ? err.message : String(err) };
  }
  parentPort?.postMessage(reply);
});
