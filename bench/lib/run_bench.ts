// The common frame of a benchmark script: run main(), report a failure with its stack,
// and always clean up (processes by PID, temp dirs) — on success, on error, and on
// SIGINT/SIGTERM (exit 130).

export const log = (s: string): void => void process.stderr.write(`${s}\n`);

export async function runBench(main: () => Promise<void>, cleanup: () => Promise<unknown>): Promise<void> {
  let interrupted = false;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      if (interrupted) return;
      interrupted = true;
      log(`${sig}: stopping servers and removing temp dirs`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  try {
    await main();
  } catch (e) {
    process.exitCode = 1;
    log(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  } finally {
    await cleanup();
  }
}
