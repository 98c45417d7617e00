/**
 * Writes every generated alerting file from alerts/config.ts: the Prometheus rule file, its drill-mode
 * twin, the PrometheusRule and ConfigMap rule file for kustomize/, and the promtool unit tests made
 * from the cases in test/alerts/cases/.
 *
 *   node alerts/generate.ts           write them
 *   node alerts/generate.ts --check   exit 1 naming every file that is missing or stale
 *
 * Output depends only on the repository (and GRAFANA_URL, which platform/dashboards.ts reads for the
 * dashboard links: leave it unset for the committed files).
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { config } from './config.ts';
import { renderAll } from './render.ts';
import { renderTestFiles, TESTS_DIR } from '../test/alerts/render.ts';

const root = resolve(import.meta.dirname, '..');
/** Folders whose every file is generated here: a file no longer produced is stale too. */
const OWNED_DIRS = ['alerts/generated', TESTS_DIR];

async function current(path: string): Promise<string | undefined> {
  try {
    return await readFile(join(root, path), 'utf8');
  } catch {
    return undefined;
  }
}

async function leftovers(files: Map<string, string>): Promise<string[]> {
  const extra: string[] = [];
  for (const dir of OWNED_DIRS) {
    const names = await readdir(join(root, dir)).catch(() => [] as string[]);
    for (const name of names) if (!files.has(`${dir}/${name}`)) extra.push(`${dir}/${name}`);
  }
  return extra;
}

const files = new Map([...(await renderAll(config)), ...(await renderTestFiles(config))]);
const check = process.argv.includes('--check');
const stale: string[] = [];
for (const [path, content] of files) {
  if ((await current(path)) === content) continue;
  stale.push(path);
  if (!check) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
}
const extra = await leftovers(files);
if (!check) for (const path of extra) await rm(join(root, path));

if (check) {
  if (stale.length || extra.length) {
    for (const path of stale) console.error(`stale: ${path}`);
    for (const path of extra) console.error(`not generated any more: ${path}`);
    console.error('Run `npm run alerts:generate` and commit the result.');
    process.exit(1);
  }
  console.log(`${files.size} generated alerting files are up to date.`);
} else {
  console.log(
    `${stale.length} of ${files.size} files written${extra.length ? `, ${extra.length} removed` : ''}.`,
  );
}
