// Configuration: redis-server style flags (`--port 6380 --dir ./data`) and raftis
// flags, each also as a RAFTIS_* environment variable (flags win). Bad values fail
// fast with a message naming the flag. Pure: takes argv and env, returns a value.

export interface Config {
  readonly port: number;
  readonly bind: readonly string[];
  readonly dir: string;
  readonly requirepass: string | null;
  readonly maxclients: number;
  readonly timeout: number;
  readonly nodeId: string;
  readonly clusterId: string;
  readonly nats: readonly string[];
  readonly bootstrap: readonly string[];
  readonly join: boolean;
  readonly httpPort: number | null;
  readonly loglevel: 'debug' | 'verbose' | 'notice' | 'warning';
  readonly appendfsync: 'always' | 'no';
  readonly snapshotEntries: number;
  /** Bound of the in-memory copy of recently used key rows, in MiB (0 = off). */
  readonly rowCacheMb: number;
  readonly tickMs: number;
  /** Lets tests drop transport messages to and from chosen peers (RAFT FAULT). */
  readonly enableFaultInjection: boolean;
  readonly natsUser: string | null;
  readonly natsPass: string | null;
  readonly natsToken: string | null;
  readonly natsCreds: string | null;
  readonly natsTlsCa: string | null;
  readonly natsTlsCert: string | null;
  readonly natsTlsKey: string | null;
  /** Host clients use to reach this node (default: the first --bind address, 127.0.0.1 for a wildcard). */
  readonly announceHost: string | null;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Parser = (raw: string, flag: string) => unknown;

const int = (min: number, max: number): Parser => (raw, flag) => {
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(`invalid value for --${flag}: '${raw}' (expected an integer ${min}-${max})`);
  const v = Number(raw);
  if (v < min || v > max) throw new ConfigError(`invalid value for --${flag}: ${raw} (expected ${min}-${max})`);
  return v;
};
const list: Parser = (raw) => raw.split(/[\s,]+/).filter((s) => s !== '');
const str: Parser = (raw) => raw;
const oneOf = (...xs: string[]): Parser => (raw, flag) => {
  if (!xs.includes(raw)) throw new ConfigError(`invalid value for --${flag}: '${raw}' (expected one of ${xs.join(', ')})`);
  return raw;
};
const bool: Parser = (raw, flag) => {
  if (['yes', 'true', '1', ''].includes(raw)) return true;
  if (['no', 'false', '0'].includes(raw)) return false;
  throw new ConfigError(`invalid value for --${flag}: '${raw}' (expected yes or no)`);
};
const id: Parser = (raw, flag) => {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(raw)) throw new ConfigError(`invalid value for --${flag}: '${raw}' (letters, digits, '-' and '_', at most 64)`);
  return raw;
};

interface Flag {
  readonly key: keyof Config;
  readonly parse: Parser;
  readonly def: unknown;
  /** One line for --help. */
  readonly help: string;
}

const FLAGS: Readonly<Record<string, Flag>> = {
  port: { key: 'port', parse: int(0, 65535), def: 6379, help: 'port for RESP clients (0: any free port)' },
  bind: { key: 'bind', parse: list, def: ['127.0.0.1'], help: 'addresses to listen on, comma or space separated' },
  dir: { key: 'dir', parse: str, def: './data', help: 'data directory (Raft log, state.db, snapshots)' },
  requirepass: { key: 'requirepass', parse: (r) => (r === '' ? null : r), def: null, help: 'password clients must AUTH with (empty: none)' },
  maxclients: { key: 'maxclients', parse: int(1, 1_000_000), def: 10000, help: 'most clients connected at once' },
  timeout: { key: 'timeout', parse: int(0, 2_147_483_647), def: 0, help: 'close a client idle this many seconds (0: never)' },
  'node-id': { key: 'nodeId', parse: id, def: 'n1', help: 'the id of this node in the cluster' },
  'cluster-id': { key: 'clusterId', parse: id, def: 'raftis', help: 'the name of the cluster (in NATS subjects; the Sentinel master name)' },
  nats: { key: 'nats', parse: list, def: [], help: 'NATS server URLs; none runs a single node without NATS' },
  bootstrap: { key: 'bootstrap', parse: list, def: [], help: 'node ids of the initial voters, when starting a new cluster' },
  join: { key: 'join', parse: bool, def: false, help: 'start empty and wait to be added to a running cluster (RAFT ADD)' },
  'http-port': { key: 'httpPort', parse: int(0, 65535), def: null, help: 'port of the HTTP API, /health, /metrics and the dashboard (default: none)' },
  loglevel: { key: 'loglevel', parse: oneOf('debug', 'verbose', 'notice', 'warning'), def: 'notice', help: 'debug, verbose, notice or warning' },
  appendfsync: { key: 'appendfsync', parse: oneOf('always', 'no'), def: 'always', help: 'always: fsync the log before replying; no: leave it to the OS' },
  'snapshot-entries': { key: 'snapshotEntries', parse: int(100, 1_000_000_000), def: 100_000, help: 'take a snapshot after this many applied entries' },
  'row-cache-mb': { key: 'rowCacheMb', parse: int(0, 1_000_000), def: 32, help: 'memory for recently used key rows, MiB (0: off)' },
  'tick-ms': { key: 'tickMs', parse: int(1, 10_000), def: 50, help: 'Raft tick, ms: a heartbeat every tick, an election after 10-20 silent ones' },
  'enable-fault-injection': { key: 'enableFaultInjection', parse: bool, def: false, help: 'allow RAFT FAULT (tests only)' },
  'announce-host': { key: 'announceHost', parse: str, def: null, help: 'host other nodes and clients use to reach this node' },
  'nats-user': { key: 'natsUser', parse: str, def: null, help: 'NATS user name' },
  'nats-pass': { key: 'natsPass', parse: str, def: null, help: 'NATS password' },
  'nats-token': { key: 'natsToken', parse: str, def: null, help: 'NATS token' },
  'nats-creds': { key: 'natsCreds', parse: str, def: null, help: 'NATS credentials file' },
  'nats-tls-ca': { key: 'natsTlsCa', parse: str, def: null, help: 'CA file for NATS over TLS' },
  'nats-tls-cert': { key: 'natsTlsCert', parse: str, def: null, help: 'client certificate file for NATS over TLS' },
  'nats-tls-key': { key: 'natsTlsKey', parse: str, def: null, help: 'client key file for NATS over TLS' },
};

export const envName = (flag: string): string => `RAFTIS_${flag.toUpperCase().replace(/-/g, '_')}`;

/** What the command line asks for besides running: `--help`/`-h` or `--version`/`-v` (as redis-server takes them). */
export function infoRequest(argv: readonly string[]): 'help' | 'version' | null {
  if (argv.length !== 1) return null;
  if (argv[0] === '--help' || argv[0] === '-h') return 'help';
  if (argv[0] === '--version' || argv[0] === '-v') return 'version';
  return null;
}

/** The text `--help` prints: every flag with its variable, default and purpose. */
export function usage(): string {
  const rows = Object.entries(FLAGS).map(([flag, f]) => {
    const shown = typeof f.def === 'boolean' ? (f.def ? 'yes' : 'no') : Array.isArray(f.def) ? f.def.join(',') : String(f.def);
    const def = f.def === null || shown === '' ? '' : ` (default ${shown})`;
    return `  --${flag.padEnd(23)} ${envName(flag).padEnd(30)} ${f.help}${def}`;
  });
  return [
    'usage: raftis [--flag value]...   (npm start -- [--flag value]...)',
    '       raftis --help | --version',
    '',
    'Each flag may also be given as the environment variable beside it; a flag wins.',
    'Without --nats, raftis runs a single node; see docs/operations.md.',
    '',
    ...rows,
    '',
  ].join('\n');
}

export function parseConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Config {
  const out: Record<string, unknown> = {};
  for (const [flag, f] of Object.entries(FLAGS)) {
    const raw = env[envName(flag)];
    out[f.key] = raw === undefined ? f.def : f.parse(raw, flag);
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new ConfigError(`unexpected argument '${a}' (flags look like --port 6380)`);
    const [name, inline] = a.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const f = FLAGS[name];
    if (!f) throw new ConfigError(`unknown flag --${name} (raftis --help lists them)`);
    let raw = inline;
    if (raw === undefined) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) {
        if (f.parse !== bool) throw new ConfigError(`--${name} needs a value`);
        raw = 'yes';
      } else {
        raw = next;
        i++;
      }
    }
    out[f.key] = f.parse(raw, name);
  }
  return out as unknown as Config;
}

/** CONFIG GET's view: Redis parameter names with their effective values. */
export function redisConfigView(c: Config, port: number): Map<string, string> {
  return new Map([
    ['port', String(port)],
    ['bind', c.bind.join(' ')],
    ['dir', c.dir],
    ['requirepass', c.requirepass ?? ''],
    ['maxclients', String(c.maxclients)],
    ['timeout', String(c.timeout)],
    ['databases', '16'],
    ['save', ''],
    ['appendonly', 'yes'],
    ['appendfsync', c.appendfsync === 'always' ? 'always' : 'no'],
    ['maxmemory', '0'],
    ['maxmemory-policy', 'noeviction'],
    ['loglevel', c.loglevel],
    ['tcp-keepalive', '300'],
    ['proto-max-bulk-len', String(512 * 1024 * 1024)],
    ['client-query-buffer-limit', String(1024 * 1024 * 1024)],
    ['cluster-enabled', 'no'],
    ['replica-read-only', 'yes'],
    ['slave-read-only', 'yes'],
    ['notify-keyspace-events', ''],
    ['lua-time-limit', '5000'],
    ['cluster-id', c.clusterId],
    ['node-id', c.nodeId],
  ]);
}
