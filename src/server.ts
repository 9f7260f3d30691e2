// Wires one raftis node: the Raft driver with its log and state, the command
// dispatcher, and the RESP listener; exposes what local commands ask of the server.
// Owns start and graceful stop; knows no command semantics itself.

import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config.ts';
import { ConfigError, redisConfigView } from './config.ts';
import { ClusterLink, type ClusterLinkOptions } from './replication/cluster_link.ts';
import { noObservers } from './observe.ts';
import { nodeId as toNodeId } from '../consensus/index.ts';
import { Dispatcher } from './commands/dispatch.ts';
import type { RaftInfo, ServerContext } from './commands/server_context.ts';
import { createLog, levelOf, type Log } from './log.ts';
import { RespServer, type Session } from './net/index.ts';
import { RaftNode } from './replication/node.ts';
import { startAdmin, type AdminServer } from './admin/index.ts';

export interface RunningServer {
  readonly port: number;
  /** The HTTP API's port, null without --http-port. */
  readonly httpPort: number | null;
  readonly node: RaftNode;
  readonly link: ClusterLink | null;
  readonly log: Log;
  stop(): Promise<void>;
}

export async function startServer(config: Config, log: Log = createLog(config.nodeId, levelOf(config.loglevel))): Promise<RunningServer> {
  const startedAtMs = Date.now();
  // Bind first, so the port (possibly 0 = any) is known before the node announces it.
  const firstBind = config.bind[0] ?? '127.0.0.1';
  const announceHost = config.announceHost ?? (firstBind === '0.0.0.0' || firstBind === '::' ? '127.0.0.1' : firstBind);
  const runId = randomBytes(20).toString('hex');
  let dispatcher: Dispatcher | null = null;
  if (config.nats.length === 0 && config.bootstrap.filter((id) => id !== config.nodeId).length > 0) {
    throw new ConfigError('a cluster (--bootstrap with other nodes, or --join) needs --nats to reach its peers');
  }
  const link =
    config.nats.length > 0
      ? new ClusterLink({
          nodeId: config.nodeId,
          clusterId: config.clusterId,
          servers: config.nats,
          dir: config.dir,
          logger: log,
          faultInjection: config.enableFaultInjection,
          auth: natsAuth(config),
        })
      : null;
  // Installed by the admin module's metrics when --http-port is set; no-ops otherwise.
  const observers = noObservers();
  // Sentinel clients learn of a new leader as they would from a real sentinel; the last
  // known leader with an address is the "old master" of the next switch.
  let lastMasterAddr: string | null = null;
  const publishSwitch = (leader: string | null): void => {
    if (leader === null || dispatcher === null) return;
    const addr = node.nodeAddresses().find((a) => a.id === leader)?.resp;
    if (addr === undefined || addr === lastMasterAddr) return;
    const split = (a: string): string => `${a.slice(0, a.lastIndexOf(':'))} ${a.slice(a.lastIndexOf(':') + 1)}`;
    const message = `${config.clusterId} ${split(lastMasterAddr ?? addr)} ${split(addr)}`;
    lastMasterAddr = addr;
    dispatcher.pubsub.publish(Buffer.from('+switch-master'), Buffer.from(message));
  };
  const node = new RaftNode({
    observe: observers,
    onLeaderChange: (_previous, leader) => publishSwitch(leader),
    join: config.join,
    send: link ? (m) => link.send(m) : undefined,
    forward: link ? (to, seq, payload, retry) => link.forward(to, seq, payload, retry) : undefined,
    dir: config.dir,
    nodeId: config.nodeId,
    bootstrap: config.bootstrap.length > 0 ? config.bootstrap : undefined,
    fsync: config.appendfsync === 'always' ? 'always' : 'none',
    snapshotEntries: config.snapshotEntries,
    rowCacheBytes: config.rowCacheMb * 1024 * 1024,
    tickMs: config.tickMs,
    logger: log,
    lookup: (name) => dispatcher?.lookup(name),
  });
  let net: RespServer | null = null;
  let port = config.port;
  const ctx: ServerContext = {
    startedAtMs,
    runId,
    get config() {
      return redisConfigView(config, port);
    },
    requirePass: config.requirepass,
    get tcpPort() {
      return port;
    },
    sessions: (): Iterable<Session> => net?.sessions() ?? [],
    netStats: () => {
      const s = net?.stats;
      return {
        connected_clients: s?.connectedClients ?? 0,
        total_connections_received: s?.totalConnectionsReceived ?? 0,
        total_commands_processed: s?.totalCommandsProcessed ?? 0,
        instantaneous_ops_per_sec: s?.instantaneousOpsPerSec ?? 0,
        total_net_input_bytes: s?.totalNetInputBytes ?? 0,
        total_net_output_bytes: s?.totalNetOutputBytes ?? 0,
        rejected_connections: s?.rejectedConnections ?? 0,
        blocked_clients: node.blockedClients,
      };
    },
    raftInfo: (): RaftInfo => {
      const st = node.raft.status();
      return {
        nodeId: st.id,
        role: st.learner ? 'learner' : st.role,
        term: st.term,
        leader: st.leader,
        commitIndex: st.commit,
        appliedIndex: st.applied,
        lastLogIndex: st.lastIndex,
        firstLogIndex: st.firstIndex,
        voters: st.config.voters,
        learners: st.config.learners,
        peers: st.peers.map((p) => ({ id: p.id, match: p.match, mode: p.mode })),
        logFsyncs: node.logFsyncs,
        stateCommits: node.stateCommits,
      };
    },
    persistence: () => ({
      lastSaveMs: node.lastSave.ms,
      lastSaveOk: node.lastSave.ok,
      saveInProgress: node.snapshotInProgress,
      changesSinceSave: Math.max(0, node.raft.log.applied - node.lastSave.index),
      lastSnapshotIndex: node.wal.snapshot().index,
    }),
    keyspace: () => node.ks,
    stateBytes: () => {
      try {
        return statSync(join(config.dir, 'state.db')).size;
      } catch {
        return 0;
      }
    },
    save: () => node.snapshot(),
    bgsave: () => {
      if (node.snapshotInProgress) return false;
      void node.snapshot();
      return true;
    },
    commandStats: () => dispatcher?.stats ?? new Map(),
    raftAdmin: {
      changeMembership: (kind, nodeId) => node.changeMembership(kind, nodeId),
      transferLeadership: (nodeId) => node.transferLeadership(nodeId),
      fault: (action, peers) => {
        if (!config.enableFaultInjection || link === null) {
          return { type: 'error', message: 'ERR fault injection is off (start the node with --enable-fault-injection in a cluster)' };
        }
        if (action === 'heal') link.transport.heal();
        else {
          const ids = peers.map(toNodeId);
          link.transport.dropTo(ids);
          link.transport.dropFrom(ids);
        }
        return { type: 'simple', value: 'OK' };
      },
      transportState: () => link?.state() ?? 'none',
      nodeAddresses: () => node.nodeAddresses(),
    },
  };
  dispatcher = new Dispatcher(node, ctx);
  dispatcher.observe = observers;
  link?.attach(node);
  node.start();
  // The node serves (and reports no leader) while NATS connects; the transport retries forever.
  link?.start().catch((e: unknown) => log.warn('cluster transport stopped', { error: String(e) }));
  net = new RespServer(
    {
      host: config.bind,
      port: config.port,
      maxClients: config.maxclients,
      idleTimeoutSeconds: config.timeout,
      requirePassSet: config.requirepass !== null,
    },
    dispatcher,
    log,
  );
  const addr = await net.listen();
  port = addr.port;
  let admin: AdminServer | null = null;
  if (config.httpPort !== null) {
    try {
      admin = await startAdmin({ hosts: config.bind, port: config.httpPort, server: ctx, executor: dispatcher, log, clusterMode: link !== null, observers });
    } catch (e) {
      await net.close({ graceMs: 0 });
      await node.close();
      await link?.close();
      throw e;
    }
  }
  node.announceAt({ resp: `${announceHost}:${port}`, http: admin === null ? '' : `${announceHost}:${admin.port}` });
  // A node that leads (a single node always does at once) is ready only once its clients
  // can learn its address; a cluster member announces when it first sees a leader.
  if (node.raft.role.kind === 'leader') await node.announced(2000);
  log.info('ready to accept connections', { port, dir: config.dir, role: node.raft.role.kind });
  let stopping: Promise<void> | null = null;
  return {
    port,
    httpPort: admin?.port ?? null,
    node,
    link,
    log,
    stop: () => {
      stopping ??= (async () => {
        await net?.close({ graceMs: 5000 });
        await admin?.close();
        await node.close();
        await link?.close();
        log.info('stopped');
      })();
      return stopping;
    },
  };
}

/** NATS credentials and TLS from the --nats-* flags (user:pass in the URL works too). */
function natsAuth(c: Config): NonNullable<ClusterLinkOptions['auth']> {
  const tls = c.natsTlsCa || c.natsTlsCert || c.natsTlsKey ? { caFile: c.natsTlsCa ?? undefined, certFile: c.natsTlsCert ?? undefined, keyFile: c.natsTlsKey ?? undefined } : undefined;
  return {
    ...(c.natsUser !== null ? { user: c.natsUser } : {}),
    ...(c.natsPass !== null ? { pass: c.natsPass } : {}),
    ...(c.natsToken !== null ? { token: c.natsToken } : {}),
    ...(c.natsCreds !== null ? { credsFile: c.natsCreds } : {}),
    ...(tls ? { tls } : {}),
  };
}
