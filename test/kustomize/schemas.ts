/**
 * Schema checks of rendered objects with the kubernetes-models libraries: each apiVersion/kind maps to
 * its model class, whose `validate()` runs the JSON schema generated from the Kubernetes OpenAPI
 * document (or, for CRDs, from the CRD's own schema). Those schemas, like the API server's, accept
 * unknown fields; `unknownFields` adds the API server's strict field validation by walking each object
 * along the models' TypeScript declarations (the same generated schemas), so a misspelt field fails.
 */
import path from 'node:path';
import ts from 'typescript';
import { ROOT, type K8sObject } from './render.ts';

/** Module of the models of one apiVersion. */
function modelModule(apiVersion: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (group === 'monitoring.coreos.com') return `@kubernetes-models/prometheus-operator/${apiVersion}`;
  if (group === 'cert-manager.io') return `@kubernetes-models/cert-manager/${apiVersion}`;
  if (group === 'gateway.networking.k8s.io') return `@kubernetes-models/gateway-api/${apiVersion}`;
  return group ? `kubernetes-models/${group}/${version}` : `kubernetes-models/${version}`;
}

interface ModelClass {
  apiVersion: string;
  kind: string;
  new (data: unknown): { validate(): void };
}

/** The model class of an object's apiVersion and kind; an unknown one is an error, never a pass. */
export async function modelClass(o: Pick<K8sObject, 'apiVersion' | 'kind'>): Promise<ModelClass> {
  const spec = modelModule(o.apiVersion);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(spec)) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`no schema library for apiVersion ${o.apiVersion} (${spec}): ${(err as Error).message}`, {
      cause: err,
    });
  }
  const cls = mod[o.kind] as ModelClass | undefined;
  if (!cls || cls.kind !== o.kind || cls.apiVersion !== o.apiVersion) {
    throw new Error(`no model for ${o.apiVersion} ${o.kind} in ${spec}`);
  }
  return cls;
}

/** Validates one object against its schema; returns the problems (empty when valid). */
export async function schemaProblems(o: K8sObject): Promise<string[]> {
  const cls = await modelClass(o);
  try {
    new cls(withUnwrappedBase64(o)).validate();
    return [];
  } catch (err) {
    return [(err as Error).message];
  }
}

/**
 * kustomize wraps the base64 values of generated Secrets over several lines; the API server decodes
 * them with Go's base64 decoder, which skips newlines, while the schema's "byte" format does not.
 */
function withUnwrappedBase64(o: K8sObject): K8sObject {
  if (o.kind !== 'Secret' || !o.data) return o;
  const data = Object.fromEntries(
    Object.entries(o.data as Record<string, string>).map(([k, v]) => [k, v.replace(/[\r\n]/g, '')]),
  );
  return { ...o, data };
}

/** Declaration module (for the TypeScript program) of one kind. */
function declarationModule(o: Pick<K8sObject, 'apiVersion' | 'kind'>): string {
  return `${modelModule(o.apiVersion)}/${o.kind}`;
}

/**
 * Walks objects along the models' TypeScript interfaces and reports every field the interface does
 * not declare (what `kubectl apply --validate=strict` rejects).
 */
export function createUnknownFieldChecker(kinds: Array<Pick<K8sObject, 'apiVersion' | 'kind'>>) {
  const unique = [...new Map(kinds.map((k) => [`${k.apiVersion} ${k.kind}`, k])).values()];
  const fileName = path.join(ROOT, 'test', 'kustomize', '__kinds__.ts');
  const source = unique
    .map(
      (k, i) =>
        `import type { I${k.kind} as T${i} } from '${declarationModule(k)}';\nexport type K${i} = T${i};`,
    )
    .join('\n');
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) =>
    path.resolve(name) === fileName
      ? ts.createSourceFile(name, source, lang, true)
      : getSourceFile(name, lang, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => path.resolve(name) === fileName || fileExists(name);
  const program = ts.createProgram([fileName], options, host);
  const checker = program.getTypeChecker();
  const sf = program.getSourceFile(fileName)!;
  const problems = ts.getPreEmitDiagnostics(program, sf);
  if (problems.length > 0) {
    throw new Error(
      `model declarations not found: ${problems.map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' ')).join('; ')}`,
    );
  }
  const rootTypes = new Map<string, ts.Type>();
  let i = 0;
  for (const stmt of sf.statements) {
    if (ts.isTypeAliasDeclaration(stmt)) {
      const k = unique[i++]!;
      rootTypes.set(`${k.apiVersion} ${k.kind}`, checker.getTypeAtLocation(stmt.name));
    }
  }

  const isOpen = (t: ts.Type) =>
    (t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown | ts.TypeFlags.NonPrimitive)) !== 0 ||
    checker.getIndexInfosOfType(t).length > 0;

  function walk(value: unknown, type: ts.Type, at: string, out: string[]): void {
    if (value === null || typeof value !== 'object') return;
    type = checker.getNonNullableType(type);
    const members = type.isUnion() ? type.types : [type];
    if (Array.isArray(value)) {
      const arrays = members.filter((m) => checker.isArrayType(m) || checker.isTupleType(m));
      if (arrays.length === 0) return;
      const element = checker.getTypeArguments(arrays[0] as ts.TypeReference)[0];
      if (element) value.forEach((v, j) => walk(v, element, `${at}[${j}]`, out));
      return;
    }
    const objects = members.filter(
      (m) => (m.flags & ts.TypeFlags.Object) !== 0 && !checker.isArrayType(m) && !checker.isTupleType(m),
    );
    if (objects.length === 0 || members.some(isOpen)) {
      // A map (Record<string, X>): check its values when they are structured.
      const index = objects.flatMap((m) => checker.getIndexInfosOfType(m))[0];
      if (index) for (const [k, v] of Object.entries(value)) walk(v, index.type, `${at}.${k}`, out);
      return;
    }
    for (const [k, v] of Object.entries(value)) {
      const prop = objects.map((m) => m.getProperty(k)).find((p) => p !== undefined);
      if (!prop) {
        out.push(`${at}.${k}: unknown field`);
        continue;
      }
      walk(v, checker.getTypeOfSymbol(prop), `${at}.${k}`, out);
    }
  }

  return (o: K8sObject): string[] => {
    const type = rootTypes.get(`${o.apiVersion} ${o.kind}`);
    if (!type) throw new Error(`no declaration loaded for ${o.apiVersion} ${o.kind}`);
    const out: string[] = [];
    walk(o, type, `${o.kind}/${o.metadata.name}`, out);
    return out;
  };
}
