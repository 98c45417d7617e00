/** The labels of a series as a selector's matchers: `{job: "a", instance: "b"}` -> `job="a", instance="b"`. */
export function matchers(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(', ');
}

/** The same series in another installation of the bundle: its own namespace, the same cluster. */
export const OTHER_NAMESPACE = 'phoenix-staging';

/** `metric{labels}` with `namespace="phoenix-staging"`: one more installation beside the default one. */
export function inOtherNamespace(series: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(series).map(([selector, values]) => [
      selector.replace(/\}$/, `, namespace="${OTHER_NAMESPACE}"}`),
      values,
    ]),
  );
}
