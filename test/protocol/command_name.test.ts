// The command name of a request: lowercased, at most 64 bytes, and the same answer whether
// or not it is the name converted last (the memo compares bytes, never buffers).

import test from 'ava';
import { commandName, COMMAND_NAME_BYTES_MAX } from '../../protocol/index.ts';

const b = (text: string): Buffer => Buffer.from(text, 'latin1');

test('names are lowercased; each answer is the name of its own bytes, however they alternate', (t) => {
  const names = ['SET', 'set', 'get', 'GET', 'GETDEL', 'SeT', 'XADD', 'xadd', 'S', '', 'sex', 'set', 'sey', 'SET\xc9', 'CLIENT', 'clienT'];
  for (let round = 0; round < 3; round++) {
    for (const name of round === 1 ? [...names].reverse() : names) {
      t.is(commandName(b(name)), name.toLowerCase(), name);
      t.is(commandName(b(name)), name.toLowerCase(), `${name} again`);
    }
  }
});

test('a buffer reused with other bytes gets the new name', (t) => {
  const buf = b('SET');
  t.is(commandName(buf), 'set');
  buf[2] = 0x58; // 'X'
  t.is(commandName(buf), 'sex');
  const view = b('xxGETyy').subarray(2, 5);
  t.is(commandName(view), 'get');
});

test('long names: over 16 bytes compared afresh, over 64 cut to 64', (t) => {
  const long = 'A'.repeat(20);
  t.is(commandName(b(long)), 'a'.repeat(20));
  t.is(commandName(b(`${long.slice(0, 19)}B`)), `${'a'.repeat(19)}b`);
  t.is(commandName(b('Z'.repeat(100))), 'z'.repeat(COMMAND_NAME_BYTES_MAX));
});
