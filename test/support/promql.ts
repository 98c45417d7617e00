/**
 * PromQL read with Prometheus's own grammar (`@prometheus-io/lezer-promql`, the parser of the Prometheus
 * web UI), for the tests that look inside rule and panel expressions: the metrics an expression reads,
 * its selectors and their matchers, its range windows, and which labels its result is sure to keep.
 */
import { parser } from '@prometheus-io/lezer-promql';

type Tree = ReturnType<typeof parser.parse>;
type Node = Tree['topNode'];

export class PromQLSyntaxError extends Error {}

/**
 * Grafana's range variables as durations PromQL parses, each its own so that a selector's range tells
 * them apart again (grafanaRange()). Template variables (`$namespace`) sit inside label values, which
 * the parser takes as they are.
 */
const GRAFANA_RANGES: Record<string, string> = {
  __rate_interval: '1001s',
  __interval: '1002s',
  __range: '1003s',
};

function fromGrafana(expr: string): string {
  return expr.replace(
    /\$\{?(__rate_interval|__interval|__range)\}?/g,
    (_m, name: string) => GRAFANA_RANGES[name]!,
  );
}

/** `$__rate_interval` for a parsed range where the expression had it, and so on. */
function grafanaRange(window: string): string {
  const name = Object.entries(GRAFANA_RANGES).find(([, d]) => d === window)?.[0];
  return name ? `$${name}` : window;
}

/**
 * The syntax tree of one expression (a rule's, or a panel's with Grafana's variables); throws naming the
 * position of the first syntax error.
 */
export function parsePromQL(raw: string): { top: Node; text: (n: Node) => string } {
  const expr = fromGrafana(raw);
  const tree = parser.parse(expr);
  tree.iterate({
    enter(n) {
      if (n.type.isError) throw new PromQLSyntaxError(`syntax error at ${n.from} in ${JSON.stringify(expr)}`);
    },
  });
  return { top: tree.topNode, text: (n) => expr.slice(n.from, n.to) };
}

function children(n: Node): Node[] {
  const out: Node[] = [];
  for (let c = n.firstChild; c; c = c.nextSibling) out.push(c);
  return out;
}

function descendants(n: Node, name: string): Node[] {
  const out: Node[] = [];
  const walk = (x: Node) => {
    if (x.name === name) out.push(x);
    for (const c of children(x)) walk(c);
  };
  walk(n);
  return out;
}

export interface Matcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

export interface Selector {
  /** The metric name, or `''` for a selector by matchers only. */
  metric: string;
  matchers: Matcher[];
  /** The selector as written. */
  text: string;
  /**
   * For a range selector: its range (Grafana's range variables as written, `$__rate_interval`) and the
   * function it is passed to (`rate`, `max_over_time`, ...).
   */
  range?: { window: string; fn: string };
}

const unquote = (literal: string): string =>
  JSON.parse(literal.startsWith("'") ? `"${literal.slice(1, -1)}"` : literal);

function rangeOf(n: Node, text: (n: Node) => string): Selector['range'] {
  const matrix = n.parent;
  if (matrix?.name !== 'MatrixSelector') return undefined;
  const duration = children(matrix).find((c) => c.name !== 'VectorSelector')!;
  const call = matrix.parent?.parent;
  const fn = call?.name === 'FunctionCall' ? text(children(call)[0]!) : '';
  return { window: grafanaRange(text(duration)), fn };
}

function selectorOf(n: Node, text: (n: Node) => string): Selector {
  const id = children(n).find((c) => c.name === 'Identifier');
  const matchers = [...descendants(n, 'UnquotedLabelMatcher'), ...descendants(n, 'QuotedLabelMatcher')].map(
    (m) => {
      const parts = children(m);
      const name = parts.find((c) => c.name === 'LabelName' || c.name === 'QuotedLabelName')!;
      const op = parts.find((c) => c.name === 'MatchOp')!;
      const value = parts.find((c) => c.name === 'StringLiteral')!;
      const label = name.name === 'QuotedLabelName' ? unquote(text(name)) : text(name);
      return { label, op: text(op) as Matcher['op'], value: unquote(text(value)) };
    },
  );
  const byName = matchers.find((m) => m.label === '__name__' && m.op === '=');
  const range = rangeOf(n, text);
  return {
    metric: id ? text(id) : (byName?.value ?? ''),
    matchers,
    text: text(n),
    ...(range ? { range } : {}),
  };
}

/** Every vector selector of an expression (those inside range selectors and subqueries included). */
export function selectors(expr: string): Selector[] {
  const { top, text } = parsePromQL(expr);
  return descendants(top, 'VectorSelector').map((n) => selectorOf(n, text));
}

/** The metric names an expression reads (recording-rule names included). */
export function metricNames(expr: string): Set<string> {
  return new Set(selectors(expr).flatMap((s) => (s.metric ? [s.metric] : [])));
}

// ---------------------------------------------------------------------------------------------------
// Which labels an expression's result keeps

/**
 * The labels every series of a result carries: all of its inputs' labels but some (`all`), exactly a
 * set (`only`, after `by`, `on`, `absent`), or none at all for a scalar.
 */
export type Labels = { all: true; minus: Set<string> } | { all: false; only: Set<string> } | 'scalar';

const ALL: Labels = { all: true, minus: new Set() };
const only = (labels: Iterable<string>): Labels => ({ all: false, only: new Set(labels) });

export function has(labels: Labels, label: string): boolean {
  if (labels === 'scalar') return false;
  return labels.all ? !labels.minus.has(label) : labels.only.has(label);
}

function minus(l: Labels, drop: Iterable<string>): Labels {
  if (l === 'scalar') return l;
  const d = [...drop];
  return l.all
    ? { all: true, minus: new Set([...l.minus, ...d]) }
    : only([...l.only].filter((x) => !d.includes(x)));
}

function plus(l: Labels, add: Iterable<string>): Labels {
  if (l === 'scalar') return l;
  const a = [...add];
  return l.all
    ? { all: true, minus: new Set([...l.minus].filter((x) => !a.includes(x))) }
    : only([...l.only, ...a]);
}

/** Labels both results are sure to have (the branches of `or`). */
function intersect(a: Labels, b: Labels): Labels {
  if (a === 'scalar') return b;
  if (b === 'scalar') return a;
  if (a.all && b.all) return { all: true, minus: new Set([...a.minus, ...b.minus]) };
  if (a.all) return minus(b, a.minus);
  if (b.all) return minus(a, b.minus);
  return only([...a.only].filter((x) => b.only.has(x)));
}

/** Keeps only `labels` of l (a one-to-one match `on (...)`). */
function keep(l: Labels, labels: string[]): Labels {
  if (l === 'scalar') return l;
  return only(labels.filter((x) => has(l, x)));
}

/** Functions whose result has no labels, or is a scalar. */
const LABEL_FREE = new Set([
  'vector',
  'time',
  'pi',
  'scalar',
  'day_of_month',
  'day_of_week',
  'day_of_year',
  'days_in_month',
  'hour',
  'minute',
  'month',
  'year',
]);

/**
 * The labels the result of an expression keeps, by Prometheus's own rules: aggregations keep their
 * `by` labels (or drop their `without` ones), a one-to-one binary operation `on (...)` keeps only those
 * labels, `or` keeps what both sides have, `absent()` has the equality matchers of its selector, and
 * functions keep the labels of their vector argument (`histogram_quantile` drops `le`). A selector keeps
 * every label of its series, except one of a recording rule in `opts.recorded`, which has that rule's.
 */
export interface LabelOptions {
  /** Recording rules' series, whose labels are their rule's (recordedLabels()). */
  recorded?: ReadonlyMap<string, Labels>;
  /**
   * Labels to count as kept by `absent()` although it cannot carry them: a `cluster` is unknown where
   * no series exists. Used to check that the other branches keep them.
   */
  absentAlso?: readonly string[];
}

export function resultLabels(expr: string, opts: LabelOptions = {}): Labels {
  const recorded = opts.recorded ?? new Map<string, Labels>();
  const { top, text } = parsePromQL(expr);
  const labelsOf = (list: Node | undefined) =>
    list ? children(list).map((c) => (c.name === 'QuotedLabelName' ? unquote(text(c)) : text(c))) : [];

  const visit = (n: Node): Labels => {
    const kids = children(n);
    switch (n.name) {
      case 'PromQL':
      case 'ParenExpr':
      case 'UnaryExpr':
      case 'MatrixSelector':
      case 'SubqueryExpr':
      case 'OffsetExpr':
      case 'StepInvariantExpr':
        return visit(
          kids.find(
            (k) => !['UnaryOp', 'Offset', 'At', 'OffsetDurationExpr', 'DurationExpr'].includes(k.name),
          )!,
        );
      case 'VectorSelector':
        return recorded.get(selectorOf(n, text).metric) ?? ALL;
      case 'NumberDurationLiteral':
      case 'StringLiteral':
        return 'scalar';
      case 'FunctionCall': {
        const fn = text(kids[0]!);
        const args = children(kids[1]!);
        if (fn === 'absent' || fn === 'absent_over_time') {
          const sel = descendants(args[0]!, 'VectorSelector')[0]!;
          return only([
            ...selectorOf(sel, text)
              .matchers.filter((m) => m.op === '=' && m.label !== '__name__')
              .map((m) => m.label),
            ...(opts.absentAlso ?? []),
          ]);
        }
        if (fn === 'scalar' || fn === 'time' || fn === 'pi') return 'scalar';
        if (LABEL_FREE.has(fn) && args.length === 0) return only([]);
        if (fn === 'vector') return only([]);
        const vectorArgs = args.map(visit).filter((l) => l !== 'scalar');
        const first = vectorArgs[0] ?? 'scalar';
        if (fn === 'histogram_quantile') return minus(first, ['le']);
        if (fn === 'label_replace' || fn === 'label_join') return plus(first, [unquote(text(args[1]!))]);
        return first;
      }
      case 'AggregateExpr': {
        const op = text(kids[0]!);
        const modifier = kids.find((k) => k.name === 'AggregateModifier');
        const body = children(kids.find((k) => k.name === 'FunctionCallBody')!);
        const input = visit(body[body.length - 1]!);
        if (['topk', 'bottomk', 'limitk', 'limit_ratio'].includes(op)) return input;
        const extra = op === 'count_values' ? [unquote(text(body[0]!))] : [];
        if (!modifier) return only(extra);
        const mode = children(modifier)[0]!.name;
        const labels = labelsOf(children(modifier).find((c) => c.name === 'GroupingLabels'));
        return mode === 'By' ? only([...labels, ...extra]) : plus(minus(input, labels), extra);
      }
      case 'BinaryExpr': {
        const lhs = visit(kids[0]!);
        const rhs = visit(kids[kids.length - 1]!);
        const op = text(kids[1]!);
        if (lhs === 'scalar') return rhs;
        if (rhs === 'scalar') return lhs;
        if (op === 'or') return intersect(lhs, rhs);
        if (op === 'and' || op === 'unless') return lhs;
        const clause = kids.find((k) => k.name === 'MatchingModifierClause');
        if (!clause) return lhs;
        const parts = children(clause);
        const lists = parts.filter((p) => p.name === 'GroupingLabels');
        const matching = labelsOf(lists[0]);
        const include = labelsOf(lists[1]);
        if (parts.some((p) => p.name === 'GroupLeft')) return plus(lhs, include);
        if (parts.some((p) => p.name === 'GroupRight')) return plus(rhs, include);
        return parts[0]!.name === 'On' ? keep(lhs, matching) : minus(lhs, matching);
      }
      default:
        throw new Error(`resultLabels: no rule for ${n.name} in ${JSON.stringify(expr)}`);
    }
  };
  return visit(top);
}

/** Whether every series of the expression's result carries `label` (when its inputs do). */
export function keepsLabel(expr: string, label: string, opts?: LabelOptions): boolean {
  return has(resultLabels(expr, opts), label);
}

/** The labels of each recording rule's series, rules in evaluation order (a rule may read earlier ones). */
export function recordedLabels(rules: Iterable<{ record?: string; expr: string }>): Map<string, Labels> {
  const out = new Map<string, Labels>();
  for (const r of rules) if (r.record) out.set(r.record, resultLabels(r.expr, { recorded: out }));
  return out;
}
