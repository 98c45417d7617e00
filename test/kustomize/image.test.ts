/**
 * The one image (Dockerfile, .dockerignore) and what the workloads run from it. There is no Docker
 * engine here, so the build context is worked out from .dockerignore, and the image's runtime layout
 * (package.json, the production dependencies only, the compiled dist/) is rebuilt in a temporary
 * folder, where each service starts the way its pods start it, answers its probes and stops on SIGTERM.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startRedis, freePort, type RedisServer } from '../../harness/redis-server.ts';
import { isIgnored, parseDockerignore } from './build-context.ts';
import { containerEnv } from './pod-env.ts';
import { BUILD_NAMES, ROOT, build, workloads, type Workload } from './render.ts';

const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
  devDependencies: Record<string, string>;
};
const SERVICES = ['git-agent', 'llm-router', 'obsidian-agent', 'orchestrator'];

/** `ARG NAME=value` defaults of the Dockerfile. */
const args = Object.fromEntries(
  [...dockerfile.matchAll(/^ARG ([A-Z_]+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]),
);
/** Each stage: its base (ARG references resolved) and its instructions. */
const stages = dockerfile
  .split(/^(?=FROM )/m)
  .filter((s) => s.startsWith('FROM '))
  .map((text) => {
    const [, from, name] = /^FROM (\S+)(?: AS (\S+))?$/m.exec(text)!;
    return {
      from: from!.replace(/\$\{([A-Z_]+)\}/g, (_, a: string) => args[a] ?? `<unset ${a}>`),
      name,
      text,
    };
  });
const stage = (name: string) => {
  const s = stages.find((x) => x.name === name);
  if (!s) throw new Error(`no stage ${name}`);
  return s;
};

describe('the Dockerfile', () => {
  test('every base image is pinned by digest; the node tag is the Node version the project runs', () => {
    const external = stages.filter((s) => !stages.some((t) => t.name === s.from));
    expect(external.length).toBeGreaterThan(0);
    for (const s of external) expect(s.from).toMatch(/^[a-z0-9./-]+:[\w.-]+@sha256:[0-9a-f]{64}$/);
    expect(args.NODE_IMAGE).toMatch(
      new RegExp(`^node:${pkg.devDependencies.node!.replaceAll('.', '\\.')}-bookworm-slim@sha256:`),
    );
    expect(args.RUNTIME_IMAGE).toMatch(/^gcr\.io\/distroless\/nodejs24-debian12:nonroot@sha256:/);
    expect(stage('runtime').from).toBe(args.RUNTIME_IMAGE);
  });

  test('the build stage compiles with the documented build command; the runtime runs compiled code only', () => {
    expect(pkg.scripts.build).toBe('tsc -p tsconfig.build.json');
    expect(stage('build').text).toContain(`RUN ./node_modules/.bin/${pkg.scripts.build}`);
    const tsconfig = JSON.parse(readFileSync(path.join(ROOT, 'tsconfig.build.json'), 'utf8')) as {
      compilerOptions: Record<string, unknown>;
      include: string[];
    };
    expect(tsconfig.compilerOptions).toMatchObject({
      noEmit: false,
      rewriteRelativeImportExtensions: true,
      outDir: 'dist',
      rootDir: '.',
    });
    expect(tsconfig.include).toEqual(['platform', 'services']);
    expect(stage('deps').text).toMatch(/npm ci --omit=dev/);
    const runtime = stage('runtime').text;
    expect(runtime).toMatch(/^COPY --from=deps \/app\/node_modules \.\/node_modules$/m);
    expect(runtime).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
    // "type": "module" makes the compiled .js files ES modules.
    expect(runtime).toMatch(/^COPY package\.json \.\/$/m);
    expect(runtime).not.toMatch(/^COPY (?!--from).*services/m);
    expect(runtime).toMatch(
      /^ENTRYPOINT \["\/nodejs\/bin\/node", "--no-experimental-strip-types", "--enable-source-maps"\]$/m,
    );
    expect(runtime).toMatch(/^USER 65532:65532$/m);
  });

  test('the git agent finds git and prlimit, which bounds every git process (it will not start without)', () => {
    const git = stage('git').text;
    expect(git).toMatch(/apt-get install -y --no-install-recommends git util-linux/);
    expect(git).toMatch(/for bin in \/usr\/bin\/git \/usr\/bin\/prlimit; do/);
    expect(stage('runtime').text).toMatch(/^COPY --from=git \/out\/ \/$/m);
  });

  test('the commit the image is built from reaches the services (GIT_COMMIT, for *_build_info)', () => {
    expect(args.GIT_COMMIT).toBe('unknown');
    expect(stage('runtime').text).toMatch(/^ARG GIT_COMMIT=unknown\nENV GIT_COMMIT=\$\{GIT_COMMIT\}$/m);
  });

  test('the build context holds exactly what the image copies, and nothing else', () => {
    const patterns = parseDockerignore(readFileSync(path.join(ROOT, '.dockerignore'), 'utf8'));
    const tracked = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
      cwd: ROOT,
      encoding: 'utf8',
    })
      .split('\n')
      .filter(Boolean);
    // What lies around in a developer's checkout, ignored by git but not by Docker unless told.
    const junk = [
      'node_modules/express/index.js',
      'dist/services/orchestrator/main.js',
      '.stack/logs/orchestrator-1.log',
      '.git/HEAD',
      '.env',
      'coverage/lcov.info',
      'load/reports/spike/report.md',
    ];
    for (const j of junk) expect({ [j]: isIgnored(patterns, j) }).toEqual({ [j]: true });
    const context = tracked.filter((f) => !isIgnored(patterns, f)).sort();
    const copied = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'];
    expect(context).toEqual([...copied, ...tracked.filter((f) => /^(platform|services)\//.test(f))].sort());
    // Every COPY from the context names something the context holds.
    for (const m of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const source of m[1]!.split(/\s+/)) {
        expect({ [source]: context.some((f) => f === source || f.startsWith(`${source}/`)) }).toEqual({
          [source]: true,
        });
      }
    }
    expect(context.filter((f) => f.startsWith('services/')).length).toBeGreaterThan(20);
  });
});

describe('what the workloads run', () => {
  const prod = build('production');
  const fromImage = (w: Workload) => w.pod.containers.filter((c) => /phoenix-orch/.test(c.image));

  test('every workload on the image starts the compiled entry point of a service that exists', () => {
    const entries = new Set<string>();
    for (const name of BUILD_NAMES) {
      for (const w of workloads(build(name))) {
        for (const c of fromImage(w)) {
          expect(c.command).toBeUndefined(); // the image's ENTRYPOINT, with its flags, stays
          entries.add(c.args[0]);
        }
      }
    }
    expect([...entries].sort()).toEqual(SERVICES.map((s) => `dist/services/${s}/main.js`));
    for (const s of SERVICES) expect(existsSync(path.join(ROOT, 'services', s, 'main.ts'))).toBe(true);
  });

  test('the runtime flags refuse TypeScript: an entry point left as .ts would fail at once', () => {
    const run = spawnSync(
      process.execPath,
      ['--no-experimental-strip-types', 'services/orchestrator/main.ts'],
      { cwd: ROOT, encoding: 'utf8', timeout: 20000, env: { PATH: process.env.PATH } },
    );
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/ERR_UNKNOWN_FILE_EXTENSION/);
  });

  describe('the compiled services, from a production-only install', () => {
    let app: string;
    let redis: RedisServer;
    beforeAll(async () => {
      app = mkdtempSync(path.join(os.tmpdir(), 'phoenix-image-'));
      // /app of the image: package.json, node_modules (production only), dist (npm run build).
      cpSync(path.join(ROOT, 'package.json'), path.join(app, 'package.json'));
      execFileSync(
        process.execPath,
        [
          path.join(ROOT, 'node_modules/typescript/bin/tsc'),
          '-p',
          'tsconfig.build.json',
          '--outDir',
          path.join(app, 'dist'),
        ],
        { cwd: ROOT, stdio: 'pipe', timeout: 120000 },
      );
      const listed = spawnSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 60000,
      }).stdout.split('\n');
      const modules = path.join(ROOT, 'node_modules');
      for (const dir of listed.filter((d) => d.startsWith(modules + path.sep))) {
        cpSync(dir, path.join(app, 'node_modules', path.relative(modules, dir)), {
          recursive: true,
          // Nested dependencies are listed (and copied) on their own line.
          filter: (src) => !path.relative(dir, src).split(path.sep).includes('node_modules'),
        });
      }
      redis = await startRedis();
    }, 180000);
    afterAll(async () => {
      await redis?.close();
      if (app) rmSync(app, { recursive: true, force: true });
    });

    test('the compiled build info finds the image\u2019s package.json (the version of *_build_info)', () => {
      const version = execFileSync(
        process.execPath,
        ['-e', "import('./dist/services/kit/build-info.js').then((m) => console.log(m.packageVersion()))"],
        { cwd: app, encoding: 'utf8', timeout: 20000 },
      ).trim();
      expect(version).toBe(
        (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version,
      );
    });

    test('no development dependency is installed', () => {
      expect(existsSync(path.join(app, 'node_modules/express/package.json'))).toBe(true);
      for (const dev of ['typescript', 'jest', 'artillery', '@swc/core', 'kubernetes-models'])
        expect({ [dev]: existsSync(path.join(app, 'node_modules', dev)) }).toEqual({ [dev]: false });
    });

    test.each(SERVICES)(
      '%s starts as its pods start it, answers its probes, and stops on SIGTERM',
      async (service) => {
        const w = workloads(prod).find(
          (x) => fromImage(x)[0]?.args[0] === `dist/services/${service}/main.js`,
        )!;
        const c = fromImage(w)[0];
        const port = await freePort();
        const data = path.join(app, 'data', service);
        mkdirSync(data, { recursive: true });
        // The pod's environment as the rendered manifests give it, with the cluster's addresses
        // swapped for this machine's: one real Redis, an LLM provider address that refuses.
        const env: Record<string, string> = {
          ...containerEnv(prod, w, c.name),
          HOST: '127.0.0.1',
          PORT: String(port),
          REDIS_URL: `redis://127.0.0.1:${redis.port}`,
          SESSION_REPLICA_ACKS: '0',
          AGENT_ADVERTISE_URL: `http://127.0.0.1:${port}`,
          GIT_REPOS_ROOT: data,
          OBSIDIAN_VAULT_PATH: data,
          LLM_PROVIDERS: JSON.stringify([
            {
              name: 'local',
              type: 'openai',
              base_url: 'http://127.0.0.1:9/v1',
              api_key_env: 'OPENAI_API_KEY',
              models: ['m'],
            },
          ]),
          // The drain itself is tested elsewhere; here it would only add 5 s per service.
          SHUTDOWN_DRAIN_DELAY_MS: '200',
          PATH: process.env.PATH!,
        };
        delete env.REDIS_SENTINELS;
        delete env.REDIS_PASSWORD;
        const child = spawn(
          process.execPath,
          ['--no-experimental-strip-types', '--enable-source-maps', ...c.args],
          {
            cwd: app,
            env,
            stdio: ['ignore', 'ignore', 'pipe'],
          },
        );
        let stderr = '';
        child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
        const exited = new Promise<number | string>((resolve) =>
          child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
        );
        try {
          const probe = async (p: string) =>
            (await fetch(`http://127.0.0.1:${port}${p}`).catch(() => undefined))?.status;
          for (const p of [c.livenessProbe.httpGet.path, c.readinessProbe.httpGet.path] as string[]) {
            let status: number | undefined;
            for (let i = 0; i < 300 && status !== 200 && child.exitCode === null; i += 1) {
              status = await probe(p);
              if (status !== 200) await sleep(100);
            }
            expect({ probe: p, status, stderr }).toEqual({ probe: p, status: 200, stderr: '' });
          }
          child.kill('SIGTERM');
          const giveUp = new AbortController();
          const code = await Promise.race([
            exited,
            sleep(40000, 'still running', { signal: giveUp.signal }).catch(() => 'aborted'),
          ]);
          giveUp.abort();
          expect(code).toBe(0);
        } finally {
          if (child.exitCode === null) child.kill('SIGKILL');
        }
      },
      60000,
    );
  });
});

describe('the image and the project folders', () => {
  const dockerignore = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8');

  test('the image holds every project folder the entry points import', () => {
    const folders = new Set<string>();
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      folders.add(path.relative(ROOT, file).split(path.sep)[0]!);
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:from|import)\s+'(\.{1,2}\/[^']+)'/g)) {
        visit(path.resolve(path.dirname(file), m[1]!));
      }
    };
    for (const s of ['git-agent', 'llm-router', 'obsidian-agent', 'orchestrator'])
      visit(path.join(ROOT, 'services', s, 'main.ts'));
    for (const folder of folders) {
      expect([folder, dockerignore.includes(`!${folder}/`)]).toEqual([folder, true]);
      expect([folder, dockerfile.includes(`COPY ${folder} ./${folder}`)]).toEqual([folder, true]);
    }
    expect([...folders].sort()).toEqual(['platform', 'services']);
  });
});
