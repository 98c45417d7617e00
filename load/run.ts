/**
 * `npm run load -- <scenario> [options]`: runs one Artillery scenario of load/scenarios against the
 * local stack (or a cluster), injects the scenario's faults at fixed times through the stack CLI,
 * restores the stack afterwards, checks what `ensure` cannot, and writes a report with charts to
 * load/reports/<scenario>-<timestamp>/. Exits 0 when every promise held, 1 when one was broken (the
 * message says which), 2 on bad usage.
 *
 *   --form ci|full          the scenario's short (CI) or long form (default full)
 *   --list                  list the scenarios with their forms and durations
 *   --out DIR               report folder (default load/reports/<scenario>-<timestamp>)
 *   --cluster               allow a non-loopback target; then also:
 *   --target URL            the load balancer, e.g. https://phoenix.example.internal
 *   --api-key KEY           (or env PHOENIX_API_KEY)
 *   --ca FILE               PEM to trust for the target's certificate (NODE_EXTRA_CA_CERTS)
 *   --pushgateway URL       where Artillery pushes its metrics (job "artillery"); none: not pushed
 *   --prometheus URL        for the checks that read the services' metrics; none: those are skipped
 *   --rate-factor X         multiply every phase's arrival rate (the forms are sized for the local
 *                           stack on two cores; a cluster takes more), e.g. 4
 *   --rebuild DIR           evaluate the checks and write the report again for a finished run
 *
 * Against a cluster the faults are not injected: the driver prints each one's kubectl equivalent at
 * its time for an operator to run, and the checks that need the local stack's monitor are skipped.
 * The local stack is chosen like the stack CLI's: PHOENIX_PORT_BASE, PHOENIX_STACK_DIR.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as prettier from 'prettier';
import { PROMETHEUS_CHECKS, runChecks, type CheckContext } from './lib/checks.ts';
import { FaultRunner, kubectlEquivalent, type FaultRecord } from './lib/faults.ts';
import { Monitor } from './lib/monitor.ts';
import { Prometheus } from './lib/prometheus.ts';
import { buildReport } from './lib/report.ts';
import {
  ensureLine,
  phaseEvent,
  readRequestLog,
  readRun,
  type CheckResult,
  type EnsureResult,
  type PhaseTime,
  type RunMeta,
} from './lib/results.ts';
import { faultVerb, loadScenario, scenarioNames, type ScenarioFile } from './lib/scenario-file.ts';
import { assertAllowed, localTarget, ROOT, type StackStatus, type Target } from './lib/target.ts';

class UsageError extends Error {}

const t0 = Date.now();
const say = (msg: string) =>
  process.stderr.write(
    `load: ${msg}${/^(ok|FAIL)/.test(msg) ? '' : ` [${((Date.now() - t0) / 1000).toFixed(1)} s]`}\n`,
  );
const ARTILLERY = path.join(ROOT, 'node_modules', 'artillery', 'bin', 'run');
/** Artillery's own start-up (about 10 s on a busy 2-core machine) and shut-down, beyond the phases. */
const ARTILLERY_OVERHEAD_S = 120;

function timestamp(d = new Date()): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

interface Options {
  scenario: ScenarioFile;
  form: string;
  out: string;
  cluster: boolean;
  target?: string;
  apiKey?: string;
  ca?: string;
  pushgateway?: string;
  prometheus?: string;
  rateFactor: number;
}

function parse(argv: string[]): Options | 'list' | { rebuild: string } {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      form: { type: 'string', default: 'full' },
      list: { type: 'boolean', default: false },
      out: { type: 'string' },
      cluster: { type: 'boolean', default: false },
      target: { type: 'string' },
      'api-key': { type: 'string' },
      ca: { type: 'string' },
      pushgateway: { type: 'string' },
      prometheus: { type: 'string' },
      rebuild: { type: 'string' },
      'rate-factor': { type: 'string', default: '1' },
    },
  });
  if (values.list) return 'list';
  if (values.rebuild) return { rebuild: path.resolve(values.rebuild) };
  const [name] = positionals;
  if (!name) throw new UsageError(`name a scenario: ${scenarioNames().join(', ')}`);
  const scenario = loadScenario(name);
  if (!scenario.forms.includes(values.form)) {
    throw new UsageError(`${name} has no form ${values.form}; it has ${scenario.forms.join(', ')}`);
  }
  if (!values.cluster && values.target) {
    assertAllowed(values.target, 'the target', false);
  }
  if (values.cluster && !values.target) throw new UsageError('--cluster needs --target URL');
  const rateFactor = Number(values['rate-factor']);
  if (!(rateFactor > 0 && rateFactor <= 100))
    throw new UsageError('--rate-factor must be a number in (0, 100]');
  return {
    scenario,
    form: values.form,
    out: path.resolve(values.out ?? path.join(ROOT, 'load', 'reports', `${name}-${timestamp()}`)),
    cluster: values.cluster,
    target: values.target,
    apiKey: values['api-key'] ?? process.env.PHOENIX_API_KEY,
    ca: values.ca,
    pushgateway: values.pushgateway,
    prometheus: values.prometheus,
    rateFactor,
  };
}

function list(): void {
  for (const name of scenarioNames()) {
    const s = loadScenario(name);
    const forms = s.forms.map((f) => `${f} ${s.duration(f)} s`).join(', ');
    process.stdout.write(`${name.padEnd(28)} ${forms}\n`);
  }
}

interface ArtilleryRun {
  exitCode: number | null;
  phases: PhaseTime[];
  ensure: EnsureResult[];
  version?: string;
}

/** Runs Artillery, following its console for phase starts and the ensure verdict, bounded in time. */
function runArtillery(
  o: Options,
  target: Target,
  runId: string,
  onFirstPhase: () => void,
): Promise<ArtilleryRun> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PHOENIX_TARGET: target.url,
    PHOENIX_API_KEY: target.apiKey,
    PHOENIX_PUSHGATEWAY: target.pushgateway ?? '',
    PHOENIX_LOAD_RUN_DIR: o.out,
    PHOENIX_RUN_ID: runId,
    // The Pushgateway job of publish-metrics' Prometheus reporter: one stable name for every run.
    WORKER_ID: 'artillery',
    ARTILLERY_DISABLE_TELEMETRY: 'true',
    ...(target.ca ? { NODE_EXTRA_CA_CERTS: target.ca } : {}),
  };
  delete env.ARTILLERY_CLOUD_API_KEY;
  const overrides: Record<string, unknown> = {};
  if (!target.pushgateway) overrides['plugins'] = { 'publish-metrics': [] };
  if (o.rateFactor !== 1) {
    const scale = (v: number | undefined) =>
      v === undefined ? undefined : Math.max(1, Math.round(v * o.rateFactor));
    overrides['phases'] = o.scenario.phases(o.form).map((p) => ({
      ...p,
      arrivalRate: scale(p.arrivalRate),
      rampTo: scale(p.rampTo),
      arrivalCount: scale(p.arrivalCount),
    }));
  }
  const args = [
    ARTILLERY,
    'run',
    '--environment',
    o.form,
    '--output',
    path.join(o.out, 'artillery.json'),
    ...(Object.keys(overrides).length ? ['--overrides', JSON.stringify({ config: overrides })] : []),
    o.scenario.file,
  ];
  const log = createWriteStream(path.join(o.out, 'artillery.log'));
  const phases: PhaseTime[] = [];
  const ensure: EnsureResult[] = [];
  const version = (
    JSON.parse(readFileSync(path.join(ROOT, 'node_modules', 'artillery', 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
  let inChecks = false;
  const limitMs = (o.scenario.duration(o.form) + ARTILLERY_OVERHEAD_S) * 1000;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => {
      say(`Artillery ran past its bound of ${limitMs / 1000} s: stopping it`);
      child.kill('SIGINT');
      setTimeout(() => child.kill('SIGKILL'), 15000).unref();
    }, limitMs);
    let buffered = '';
    const onLine = (line: string) => {
      const ev = phaseEvent(line);
      if (ev?.kind === 'started') {
        if (phases.length === 0) onFirstPhase();
        phases.push({ name: ev.name, index: ev.index, start: Date.now() });
        say(`phase ${ev.name} started`);
      } else if (ev?.kind === 'completed') {
        const p = phases.find((x) => x.index === ev.index);
        if (p) p.end = Date.now();
      }
      if (/^\s*Checks:\s*$/.test(line)) inChecks = true;
      else if (inChecks) {
        const e = ensureLine(line);
        if (e) ensure.push(e);
      }
    };
    const feed = (chunk: Buffer) => {
      log.write(chunk);
      buffered += chunk.toString('utf8');
      let i: number;
      while ((i = buffered.indexOf('\n')) >= 0) {
        onLine(buffered.slice(0, i));
        buffered = buffered.slice(i + 1);
      }
    };
    child.stdout.on('data', feed);
    child.stderr.on('data', feed);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (buffered) onLine(buffered);
      log.end();
      resolve({ exitCode: code, phases, ensure, version });
    });
  });
}

/** Requests sent before the first phase (Artillery's `before` hook, a warm-up) get a phase of their own. */
function withWarmUp(phases: PhaseTime[], dir: string): PhaseTime[] {
  const first = readRequestLog(dir).requests[0];
  if (!first || !phases[0] || first.t >= phases[0].start - 500) return phases;
  return [{ name: 'before hook', index: -1, start: first.t, end: phases[0].start }, ...phases];
}

/** GET /v1/sessions/{id} through the load balancer, trusting only the given CA. */
function sessionReader(target: Target) {
  const agent = new https.Agent({
    keepAlive: true,
    maxSockets: 16,
    ...(target.ca ? { ca: readFileSync(target.ca) } : {}),
  });
  const base = new URL(target.url);
  const get = (id: string) =>
    new Promise<{ status: number; body: string }>((resolve) => {
      const req = https.request(
        {
          host: base.hostname,
          port: base.port,
          path: `/v1/sessions/${encodeURIComponent(id)}`,
          agent,
          timeout: 10000,
          headers: { authorization: `Bearer ${target.apiKey}` },
        },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString('utf8')));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => resolve({ status: 0, body: '' }));
      req.end();
    });
  return { get, close: () => agent.destroy() };
}

/** Through the load balancer, each pool answers a task that reaches it (breakers closed again). */
async function poolsAnswer(target: Target): Promise<void> {
  const agent = new https.Agent({ keepAlive: false, ...(target.ca ? { ca: readFileSync(target.ca) } : {}) });
  const base = new URL(target.url);
  const task = (body: unknown) =>
    new Promise<number>((resolve) => {
      const req = https.request(
        {
          host: base.hostname,
          port: base.port,
          method: 'POST',
          path: '/v1/tasks',
          agent,
          timeout: 15000,
          headers: { authorization: `Bearer ${target.apiKey}`, 'content-type': 'application/json' },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(0));
      req.end(JSON.stringify(body));
    });
  const probes = [
    { agent: 'git', action: 'log', input: { repo: 'phoenix-orch', limit: 1 }, cache: 'bypass' },
    { agent: 'obsidian', action: 'list', input: { path: '' }, cache: 'bypass' },
    { agent: 'llm', action: 'models', input: {} },
  ];
  const deadline = Date.now() + 45000;
  await Promise.all(
    probes.map(async (p) => {
      let ok = 0;
      // Three in a row: once breakers have closed everywhere, each orchestrator answers.
      while (ok < 3) {
        if (Date.now() > deadline)
          throw new Error(`the ${p.agent} pool does not answer through the load balancer`);
        ok = (await task(p)) === 200 ? ok + 1 : 0;
        if (ok < 3) await new Promise((r) => setTimeout(r, 300));
      }
    }),
  ).finally(() => agent.destroy());
}

async function main(argv: string[]): Promise<number> {
  const parsed = parse(argv);
  if (parsed === 'list') {
    list();
    return 0;
  }
  if ('rebuild' in parsed) {
    const meta = readRun(parsed.rebuild).meta;
    const local = meta.target.kind === 'local' ? await localTarget().catch(() => undefined) : undefined;
    return evaluate(parsed.rebuild, loadScenario(meta.scenario), local?.target, meta.target.kind === 'local');
  }
  const o = parsed;
  let target: Target;
  let status: StackStatus | undefined;
  if (o.cluster) {
    if (!o.apiKey) throw new UsageError('--cluster needs --api-key (or env PHOENIX_API_KEY)');
    target = {
      kind: 'cluster',
      url: o.target!,
      apiKey: o.apiKey,
      ca: o.ca,
      pushgateway: o.pushgateway,
      prometheus: o.prometheus,
    };
    for (const [what, url] of [
      ['the target', target.url],
      ['the Pushgateway', target.pushgateway],
      ['Prometheus', target.prometheus],
    ] as const) {
      if (url) assertAllowed(url, what, true);
    }
  } else {
    ({ target, status } = await localTarget());
  }

  mkdirSync(o.out, { recursive: true });
  const runId = `${o.scenario.name.slice(0, 12)}-${Date.now().toString(36)}`;
  const faultLog = path.join(o.out, 'faults.jsonl');
  writeFileSync(faultLog, '');
  const faults = o.scenario.faults(o.form);
  const runner = new FaultRunner(faultLog);
  if (status) await runner.prepare(status);
  const monitor = status ? new Monitor(status, path.join(o.out, 'monitor.jsonl')) : undefined;
  say(
    `${o.scenario.name} (${o.form} form, ${o.scenario.duration(o.form)} s of load) against ${target.url}; ` +
      `report in ${path.relative(process.cwd(), o.out) || '.'}`,
  );

  const started = Date.now();
  const notes: string[] = [];
  const timers: NodeJS.Timeout[] = [];
  let chain: Promise<void> = Promise.resolve();
  let aborted: Error | undefined;
  monitor?.start();
  const onFirstPhase = () => {
    for (const step of faults) {
      timers.push(
        setTimeout(() => {
          // Faults run one after another: a slow one (a restart) delays the next, and the log says so.
          chain = chain.then(async () => {
            if (aborted) return;
            if (!status) {
              say(`now, on the cluster: ${kubectlEquivalent(step)}`);
              const now = new Date().toISOString();
              const rec: FaultRecord = {
                time: now,
                done: now,
                at: step.at,
                verb: faultVerb(step),
                target: 'cluster',
                ok: true,
                detail: 'announced for an operator, not injected',
                kubectl: kubectlEquivalent(step),
              };
              runner.records.push(rec);
              return;
            }
            say(`t+${step.at}s: ${faultVerb(step)} ${JSON.stringify(step).slice(0, 100)}`);
            try {
              await runner.run(step);
            } catch (err) {
              aborted = err as Error;
              say(`fault failed: ${aborted.message}`);
            }
          });
        }, step.at * 1000),
      );
    }
  };

  let art: ArtilleryRun;
  try {
    art = await runArtillery(o, target, runId, onFirstPhase);
  } finally {
    for (const t of timers) clearTimeout(t);
    await chain;
  }
  const ended = Date.now();
  if (aborted) notes.push(`a fault could not be injected: ${aborted.message}`);
  if (art.phases.length === 0) notes.push('Artillery never started a phase (see artillery.log)');

  let surprises: string[] = [];
  if (status) {
    say('restoring the stack');
    const restored = await runner.restore();
    surprises = restored.surprises;
    try {
      const down = restored.status.processes.filter((p) => !p.healthy).map((p) => p.name);
      if (down.length) throw new Error(`not healthy after the restore: ${down.join(', ')}`);
      await poolsAnswer(target);
    } catch (err) {
      surprises.push((err as Error).message);
    }
  }
  await monitor?.stop();
  notes.push(...surprises);
  say('evaluating');

  const meta: RunMeta = {
    scenario: o.scenario.name,
    description: o.scenario.description,
    form: o.form,
    runId,
    target: { kind: target.kind, url: target.url },
    started,
    ended,
    artilleryExitCode: art.exitCode,
    artilleryVersion: art.version,
    phases: withWarmUp(art.phases, o.out),
    ensure: art.ensure,
    notes,
  };
  writeFileSync(path.join(o.out, 'run.json'), JSON.stringify(meta, null, 2) + '\n');
  if (!status) writeFileSync(faultLog, runner.records.map((r) => JSON.stringify(r)).join('\n') + '\n');

  return evaluate(o.out, o.scenario, target, status !== undefined);
}

/** Checks and report from what a run left in `dir` (also `--rebuild DIR` on a finished run). */
async function evaluate(
  dir: string,
  scenario: ScenarioFile,
  target: Target | undefined,
  local: boolean,
): Promise<number> {
  const data = readRun(dir);
  const { meta } = data;
  const prometheus = target?.prometheus ? new Prometheus(target.prometheus) : undefined;
  const checksToRun = scenario.checks(meta.form);
  // The services' metrics of the run's last seconds reach Prometheus at its next scrape.
  if (prometheus && Object.keys(checksToRun).some((k) => PROMETHEUS_CHECKS.has(k.replace(/#.*$/, '')))) {
    await prometheus.waitScrapedAfter(meta.ended);
  }
  const reader = target ? sessionReader(target) : undefined;
  const ctx: CheckContext = { data, prometheus, getSession: reader?.get };
  let checks: CheckResult[] = await runChecks(ctx, checksToRun);
  reader?.close();
  if (!local) {
    // Without the local stack's monitor, the checks about what it saw cannot be evaluated.
    checks = checks.map((c) =>
      /out of rotation|breaker opens/.test(c.name)
        ? { ...c, ok: true, summary: `skipped without the local stack's monitor: ${c.summary}` }
        : c,
    );
  }
  const report = buildReport({ data, checks, notes: meta.notes }, dir);
  // Formatted as the repository formats Markdown, so `prettier --check` passes on kept reports.
  const mdFile = path.join(dir, 'report.md');
  const options = (await prettier.resolveConfig(mdFile)) ?? {};
  writeFileSync(mdFile, await prettier.format(report.markdown, { ...options, parser: 'markdown' }));
  writeFileSync(path.join(dir, 'checks.json'), JSON.stringify({ ok: report.ok, checks }, null, 2) + '\n');

  const rel = path.relative(process.cwd(), path.join(dir, 'report.md'));
  for (const e of meta.ensure) say(`${e.ok ? 'ok  ' : 'FAIL'} ensure: ${e.check}`);
  for (const c of checks) say(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.summary}`);
  for (const n of meta.notes ?? []) say(`FAIL ${n}`);
  if (!report.ok) {
    say(`${scenario.name}: PROMISE BROKEN (see ${rel})`);
    return 1;
  }
  say(`${scenario.name}: every promise held (${rel})`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    say(err instanceof Error ? err.message : String(err));
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
