// Concurrent ioredis clients against a real raftis process, recording every
// operation's call and return; the history must be linearizable (checked by the
// same checker the Raft simulation uses). Pipelined clients included: per-client
// order and read-your-writes must hold on the wire, not only in the core.

import test from 'ava';
import { Redis } from 'ioredis';
import { checkKv, type KvInput, type KvOutput, type Operation } from '../support/linearizability.ts';
import { Prng } from '../support/prng.ts';
import { startRaftis } from '../support/processes.ts';

const KEYS = ['a', 'b', 'c'];
const CLIENTS = 6;
const OPS_PER_CLIENT = 250;
const PIPELINE = 4;
/** Pipelined ops are all concurrent for the checker: fewer clients keep its search small. */
const PIPELINED_CLIENTS = 3;
const clock = (): number => performance.now();

async function runOp(r: Redis, input: KvInput): Promise<KvOutput> {
  switch (input.kind) {
    case 'get':
      return { value: await r.get(input.key) };
    case 'put':
      await r.set(input.key, input.value);
      return { ok: true };
    case 'delete':
      await r.del(input.key);
      return { ok: true };
    case 'append':
      await r.append(input.key, input.value);
      return { ok: true };
    default: {
      const never: never = input;
      throw new Error(`unknown op ${JSON.stringify(never)}`);
    }
  }
}

function randomInput(rng: Prng, client: number, n: number): KvInput {
  const key = KEYS[rng.int(KEYS.length)]!;
  const value = `c${client}n${n};`;
  const r = rng.int(10);
  if (r < 4) return { kind: 'get', key };
  if (r < 6) return { kind: 'put', key, value };
  if (r < 9) return { kind: 'append', key, value };
  return { kind: 'delete', key };
}

test('concurrent clients produce a linearizable history (one op in flight per client)', async (t) => {
  const server = await startRaftis(t, { appendfsync: 'always' });
  const history: Operation[] = [];
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      const r = new Redis({ port: server.port, lazyConnect: true, maxRetriesPerRequest: 0 });
      await r.connect();
      const rng = new Prng(1000 + c);
      for (let n = 0; n < OPS_PER_CLIENT; n++) {
        const input = randomInput(rng, c, n);
        const call = clock();
        const output = await runOp(r, input);
        history.push({ clientId: c, input, call, return: clock(), output });
      }
      r.disconnect();
    }),
  );
  const result = checkKv(history, { timeoutMs: 60_000 });
  t.is(result.kind, 'ok', result.kind === 'illegal' ? result.explanation : JSON.stringify(result));
});

test('pipelining clients produce a linearizable history', async (t) => {
  const server = await startRaftis(t, { appendfsync: 'always' });
  const history: Operation[] = [];
  await Promise.all(
    Array.from({ length: PIPELINED_CLIENTS }, async (_, c) => {
      const r = new Redis({ port: server.port, lazyConnect: true, maxRetriesPerRequest: 0 });
      await r.connect();
      const rng = new Prng(2000 + c);
      for (let batch = 0; batch < OPS_PER_CLIENT / PIPELINE; batch++) {
        // PIPELINE operations in flight at once on one connection, each with its own return time.
        const inputs = Array.from({ length: PIPELINE }, (_, i) => randomInput(rng, c, batch * PIPELINE + i));
        const call = clock();
        const done = await Promise.all(inputs.map((input) => runOp(r, input).then((output) => ({ output, ret: clock() }))));
        inputs.forEach((input, i) => history.push({ clientId: c * 100 + i, input, call, return: done[i]!.ret, output: done[i]!.output }));
      }
      r.disconnect();
    }),
  );
  const result = checkKv(history, { timeoutMs: 60_000 });
  t.is(result.kind, 'ok', result.kind === 'illegal' ? result.explanation : JSON.stringify(result));
});
