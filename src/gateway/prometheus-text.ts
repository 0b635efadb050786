// The gateway's metrics in the Prometheus text exposition format (version 0.0.4): counters, gauges
// and histograms with labels, rendered in the order they were made. All `/metrics` needs, in place
// of prom-client and its three dependencies (3.2 MB that every install of the package carried, for
// a feature only `serve` has: issue 19). Its output is the text prom-client writes for the same
// observations (test/metrics-text.test.ts compares them).

type Labels = Readonly<Record<string, string>>;

/** A counter, by label values. */
interface Counter {
  inc(labels?: Labels, by?: number): void;
}

/** A value that goes up and down; `collect`, when given, sets it just before each rendering. */
interface Gauge {
  inc(by?: number): void;
  set(value: number): void;
}

/** Observations counted in cumulative buckets (`le`), with their sum and count, by label values. */
interface Histogram {
  observe(labels: Labels, value: number): void;
}

/** A set of metrics rendered together. */
export interface MetricsRegistry {
  counter(spec: { name: string; help: string; labelNames?: readonly string[] }): Counter;
  gauge(spec: { name: string; help: string; collect?: () => number }): Gauge;
  histogram(spec: { name: string; help: string; labelNames: readonly string[]; buckets: readonly number[] }): Histogram;
  /** Every metric, in the text format. */
  render(): string;
}

/** The content type of {@linkcode MetricsRegistry.render}'s text. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export function createMetricsRegistry(): MetricsRegistry {
  const renderers: (() => string)[] = [];
  const add = (name: string, help: string, type: string, samples: () => string[]) => {
    renderers.push(() => [`# HELP ${name} ${escaped(help)}`, `# TYPE ${name} ${type}`, ...samples()].join('\n'));
  };
  return {
    counter({ name, help, labelNames = [] }) {
      const series = new Map<string, { labels: Labels; value: number }>();
      // An unlabelled counter exists from the start; a labelled one from its first increment.
      if (labelNames.length === 0) series.set('', { labels: {}, value: 0 });
      add(name, help, 'counter', () => [...series.values()].map(({ labels, value }) => sample(name, labels, value)));
      return {
        inc(labels = {}, by = 1) {
          const key = seriesKey(labelNames, labels);
          const entry = series.get(key) ?? { labels: ordered(labelNames, labels), value: 0 };
          entry.value += by;
          series.set(key, entry);
        },
      };
    },
    gauge({ name, help, collect }) {
      let value = 0;
      add(name, help, 'gauge', () => {
        if (collect !== undefined) value = collect();
        return [sample(name, {}, value)];
      });
      return {
        inc(by = 1) {
          value += by;
        },
        set(next) {
          value = next;
        },
      };
    },
    histogram({ name, help, labelNames, buckets }) {
      const series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
      add(name, help, 'histogram', () =>
        [...series.values()].flatMap(({ labels, counts, sum, count }) => {
          let cumulative = 0;
          return [
            ...buckets.map((bound, index) => {
              cumulative += counts[index] ?? 0;
              return sample(`${name}_bucket`, { le: String(bound), ...labels }, cumulative);
            }),
            sample(`${name}_bucket`, { le: '+Inf', ...labels }, count),
            sample(`${name}_sum`, labels, sum),
            sample(`${name}_count`, labels, count),
          ];
        }),
      );
      return {
        observe(labels, value) {
          const key = seriesKey(labelNames, labels);
          const entry = series.get(key) ?? { labels: ordered(labelNames, labels), counts: buckets.map(() => 0), sum: 0, count: 0 };
          const bucket = buckets.findIndex((bound) => value <= bound);
          if (bucket !== -1) entry.counts[bucket] = (entry.counts[bucket] ?? 0) + 1;
          entry.sum += value;
          entry.count += 1;
          series.set(key, entry);
        },
      };
    },
    render: () => `${renderers.map((render) => render()).join('\n\n')}\n`,
  };
}

/** A series' key: its label values in order, each ended by NUL (which no label value holds). Built per observation: no array, no JSON. */
function seriesKey(labelNames: readonly string[], labels: Labels): string {
  let key = '';
  for (const name of labelNames) key += `${labels[name] ?? ''}\0`;
  return key;
}

/** The labels in the order of `labelNames`, as they are written out. */
function ordered(labelNames: readonly string[], labels: Labels): Labels {
  return Object.fromEntries(labelNames.filter((name) => labels[name] !== undefined).map((name) => [name, labels[name] as string]));
}

function sample(name: string, labels: Labels, value: number): string {
  const pairs = Object.entries(labels).map(([label, text]) => `${label}="${escaped(text).replaceAll('"', '\\"')}"`);
  return `${name}${pairs.length > 0 ? `{${pairs.join(',')}}` : ''} ${numberText(value)}`;
}

/** Backslashes and line feeds escaped, as the format wants in help texts and label values. */
function escaped(text: string): string {
  return text.replaceAll('\\', '\\\\').replaceAll('\n', '\\n');
}

function numberText(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf';
  return String(value);
}
