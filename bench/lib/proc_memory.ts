// Memory of processes this bench started, read from /proc/<pid>/status (Linux only):
// a sampler that polls VmRSS and RssAnon at a fixed interval, and the kernel's own
// peak (VmHWM), which it resets at the start (`clear_refs` 5) so a short spike between
// two samples is not missed. Reads only PIDs the caller passes; writes nothing else.
// Bounded: one timer, samples kept as running maxima, never a growing list.

import { readFileSync, writeFileSync } from 'node:fs';

export interface MemoryStatus {
  /** Resident set (anonymous + file-backed + shared), bytes. */
  readonly rssBytes: number;
  /** Anonymous resident memory (heap, SQLite page cache, buffers), bytes. */
  readonly anonBytes: number;
  /** Peak resident set since start or the last reset, bytes. */
  readonly hwmBytes: number;
}

export interface MemoryPeak {
  readonly pid: number;
  readonly samples: number;
  /** Largest VmRSS seen by the sampler. */
  readonly rssMaxBytes: number;
  readonly anonMaxBytes: number;
  /** VmHWM at the end: the kernel's peak since the reset, catches spikes between samples. */
  readonly hwmBytes: number;
  /** VmRSS at the start, to tell growth from what was resident already. */
  readonly rssStartBytes: number;
}

/** /proc/<pid>/status memory fields; null once the process is gone. */
export function readMemory(pid: number): MemoryStatus | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kb = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : NaN;
  };
  return { rssBytes: kb('VmRSS'), anonBytes: kb('RssAnon'), hwmBytes: kb('VmHWM') };
}

/** Resets the kernel's peak RSS of `pid` to its current RSS; false if not permitted. */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

export class MemorySampler {
  readonly #pid: number;
  readonly #timer: NodeJS.Timeout;
  readonly #rssStart: number;
  readonly #peakReset: boolean;
  #samples = 0;
  #rssMax = 0;
  #anonMax = 0;
  #last: MemoryStatus | null = null;

  /** Starts sampling `pid` every `intervalMs` (default 100 ms). */
  constructor(pid: number, intervalMs = 100) {
    this.#pid = pid;
    this.#peakReset = resetPeak(pid);
    this.#rssStart = readMemory(pid)?.rssBytes ?? NaN;
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), intervalMs);
  }

  #sample(): void {
    const m = readMemory(this.#pid);
    if (m === null) return;
    this.#last = m;
    this.#samples++;
    this.#rssMax = Math.max(this.#rssMax, m.rssBytes);
    this.#anonMax = Math.max(this.#anonMax, m.anonBytes);
  }

  /** Stops sampling and returns the peaks (VmHWM read now, or at the last sample if the process is gone). */
  stop(): MemoryPeak {
    clearInterval(this.#timer);
    this.#sample();
    const hwm = this.#peakReset ? (this.#last?.hwmBytes ?? NaN) : NaN;
    return {
      pid: this.#pid,
      samples: this.#samples,
      rssMaxBytes: this.#rssMax,
      anonMaxBytes: this.#anonMax,
      hwmBytes: Number.isNaN(hwm) ? this.#rssMax : Math.max(hwm, this.#rssMax),
      rssStartBytes: this.#rssStart,
    };
  }
}
