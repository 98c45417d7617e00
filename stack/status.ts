/** What runs where: the document `stack status --json` prints, for people, tests and load drivers. */
import { existsSync } from 'node:fs';
import { sentinelPrimary } from './control.ts';
import { HOST, type Layout } from './layout.ts';
import { apiKey, lbCaFile } from './local-configs.ts';
import { checkHealth, isRunning, readState } from './supervisor.ts';

export async function stackStatus(l: Layout) {
  const state = readState(l);
  const processes = await Promise.all(
    Object.values(state?.processes ?? {}).map(async (p) => {
      const running = isRunning(p.pid, p.command);
      return {
        name: p.name,
        role: p.role,
        pid: running ? p.pid : null,
        port: p.port,
        running,
        healthy: running && (await checkHealth(p.health)),
        log: p.log,
      };
    }),
  );
  const primaryPort = processes.length ? await sentinelPrimary(l) : undefined;
  return {
    up: processes.length > 0 && processes.every((p) => p.healthy),
    lb: `https://localhost:${l.ports.lbHttps}`,
    lb_ca_cert: lbCaFile(l),
    lb_stats: `http://${HOST}:${l.ports.lbStats}/stats`,
    prometheus: `http://${HOST}:${l.ports.prometheus}`,
    alertmanager: `http://${HOST}:${l.ports.alertmanager}`,
    pushgateway: `http://${HOST}:${l.ports.pushgateway}`,
    alert_receiver: `http://${HOST}:${l.ports.alertReceiver}/notifications`,
    api_key: existsSync(l.apiKeyFile) ? apiKey(l) : null,
    redis_sentinels: l.ports.sentinel.map((p) => `${HOST}:${p}`),
    redis_primary: primaryPort
      ? processes.find((p) => p.role === 'redis' && p.port === primaryPort)?.name
      : null,
    state_dir: l.dir,
    fault_log: l.faultLog,
    processes,
  };
}

export type StackStatus = Awaited<ReturnType<typeof stackStatus>>;
