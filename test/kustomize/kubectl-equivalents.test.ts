/**
 * The kubectl equivalents of the load tests' faults (load/README.md, and the lines the driver prints
 * against a cluster) must work on the cluster's images: the services run distroless (no shell, no
 * kill) and a container's PID 1 ignores SIGSTOP/SIGCONT (and any signal it has no handler for) sent
 * from its own PID namespace. So no line may exec `kill` in a container, exec is only for the Redis
 * image's redis-cli, and a signal comes from a node debug pod.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { kubectlEquivalent } from '../../load/lib/faults.ts';
import type { FaultStep } from '../../load/lib/scenario-file.ts';
import { ROOT } from './render.ts';

/** One step of every verb, with the names a scenario uses. */
const STEPS: FaultStep[] = [
  { at: 1, kill: 'orchestrator-2' },
  { at: 1, kill: 'orchestrator-2', signal: 'SIGTERM' },
  { at: 1, kill: 'redis-primary' },
  { at: 1, kill: 'role:obsidian-agent' },
  { at: 1, restart: 'killed' },
  { at: 1, restart: 'role:obsidian-agent' },
  { at: 1, 'rolling-restart': 'orchestrators' },
  { at: 1, failover: true },
  ...[
    'orchestrator-1',
    'git-agent-1',
    'llm-router-2',
    'obsidian-agent-1',
    'redis-primary',
    'load-balancer',
  ].flatMap((name): FaultStep[] => [
    { at: 1, pause: name },
    { at: 1, resume: name },
    { at: 1, drain: name },
    { at: 1, undrain: name },
  ]),
  { at: 1, simulator: 'all', behaviour: { error_rate: 0.5 } },
  { at: 1, 'simulator-restore': 'all' },
];

/** Every kubectl command in load/README.md: inline code and lines of code blocks. */
function readmeCommands(): string[] {
  const text = readFileSync(path.join(ROOT, 'load/README.md'), 'utf8');
  const inline = [...text.matchAll(/`(kubectl [^`]+)`/g)].map((m) => m[1]!);
  const blocks = [...text.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].flatMap((m) =>
    m[1]!.split('\n').filter((l) => /\bkubectl\b/.test(l)),
  );
  return [...inline, ...blocks];
}

/** Why a command cannot work on the cluster's images, or undefined. */
function problem(command: string): string | undefined {
  for (const exec of command.matchAll(/\bkubectl\b[^`$)]*?\bexec\b([^`$)]*?)\s--\s+(\S+)/g)) {
    const [, target, program] = exec;
    if (program === 'kill' || /\bkill\b/.test(program!)) return 'execs kill in a container';
    if (program !== 'redis-cli') return `execs ${program} (only the Redis image has programs to run)`;
    if (!/redis-(\d|N)\s+-c\s+(sentinel|redis)\b/.test(target!))
      return `execs redis-cli outside a Redis container`;
  }
  if (/\bkubectl\b[^`]*\bdebug\b(?![^`]*\bnode\/)/.test(command))
    return 'debugs a pod: an ephemeral container shares PID 1s namespace and cannot signal it';
  return undefined;
}

test('no kubectl line in load/README.md execs kill, and each one can run on the images', () => {
  const commands = readmeCommands();
  expect(commands.length).toBeGreaterThan(8);
  expect(commands.map((c) => ({ c, problem: problem(c) })).filter((x) => x.problem)).toEqual([]);
});

test('neither does any line the driver prints for a fault against a cluster', () => {
  const lines = STEPS.map((s) => kubectlEquivalent(s));
  for (const line of lines) expect(line).not.toBe('');
  expect(lines.map((c) => ({ c, problem: problem(c) })).filter((x) => x.problem)).toEqual([]);
  // Pausing uses a node debug pod and signals the role's own process.
  expect(kubectlEquivalent({ at: 1, pause: 'orchestrator-2' })).toMatch(
    /^kubectl debug node\/.* --profile=sysadmin .* -- pkill -STOP -f dist\/services\/orchestrator\/main\.js$/,
  );
  expect(kubectlEquivalent({ at: 1, resume: 'redis-primary' })).toMatch(/-- pkill -CONT -f redis-server$/);
});

test('the check itself catches what does not work', () => {
  expect(problem('kubectl -n phoenix-orch exec <pod> -- kill -STOP 1')).toMatch(/kill/);
  expect(problem('kubectl -n phoenix-orch exec orchestrator-x -- sh -c "kill 1"')).toMatch(/sh/);
  expect(
    problem('kubectl -n phoenix-orch debug -it <pod> --target=orchestrator --image=busybox -- kill -STOP 1'),
  ).toMatch(/PID 1/);
  expect(
    problem('kubectl -n phoenix-orch exec redis-0 -c sentinel -- redis-cli -p 26379 ping'),
  ).toBeUndefined();
});
