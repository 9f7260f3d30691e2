// The raftis command: parse flags and RAFTIS_* variables, start the node, and stop
// cleanly on SIGTERM/SIGINT (stop accepting, finish in-flight writes, sync, exit 0).

import { ConfigError, infoRequest, parseConfig, usage } from './config.ts';
import { startServer } from './server.ts';
import { RAFTIS_VERSION } from './version.ts';

async function main(): Promise<void> {
  const info = infoRequest(process.argv.slice(2));
  if (info === 'help') return void process.stdout.write(usage());
  if (info === 'version') return void process.stdout.write(`raftis v=${RAFTIS_VERSION} node=${process.version}\n`);
  let config;
  try {
    config = parseConfig(process.argv.slice(2), process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`raftis: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  let server;
  try {
    server = await startServer(config);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      // The message names the address that failed (the RESP port or the HTTP port).
      process.stderr.write(`raftis: cannot listen: ${(e as Error).message}\n`);
      process.exit(1);
    }
    throw e;
  }
  process.stdout.write(`raftis ${config.nodeId} listening on ${config.bind.join(',')}:${server.port} (data in ${config.dir})\n`);
  let signalled = false;
  const stop = (signal: string): void => {
    if (signalled) return;
    signalled = true;
    server.log.info('shutting down', { signal });
    server.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        server.log.error('shutdown failed', { error: String(e) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

await main();
