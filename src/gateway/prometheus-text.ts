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
      const series = new SeriesTable(labelNames, (labels) => ({ labels, value: 0 }));
      // An unlabelled counter exists from the start; a labelled one from its first increment.
      if (labelNames.length === 0) series.of({});
      add(name, help, 'counter', () => series.all.map(({ labels, value }) => sample(name, labels, value)));
      return {
        inc(labels = {}, by = 1) {
          series.of(labels).value += by;
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
      const series = new SeriesTable(labelNames, (labels) => ({ labels, counts: buckets.map(() => 0), sum: 0, count: 0 }));
      add(name, help, 'histogram', () =>
        series.all.flatMap(({ labels, counts, sum, count }) => {
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
          const entry = series.of(labels);
          const bucket = buckets.findIndex((bound) => value <= bound);
          if (bucket !== -1) entry.counts[bucket] = (entry.counts[bucket] ?? 0) + 1;
          entry.sum += value;
          entry.count += 1;
        },
      };
    },
    render: () => `${renderers.map((render) => render()).join('\n\n')}\n`,
  };
}

/**
 * The series of one metric, found by their label values one level at a time (a map per label):
 * no key is built per observation, and each value is a string Node or the gateway already holds,
 * its hash computed once. `all` lists them in the order they were made, as they are rendered.
 */
class SeriesTable<Series> {
  readonly all: Series[] = [];
  readonly #root = new Map<string, unknown>();
  readonly #labelNames: readonly string[];
  readonly #create: (labels: Labels) => Series;

  constructor(labelNames: readonly string[], create: (labels: Labels) => Series) {
    this.#labelNames = labelNames;
    this.#create = create;
  }

  /** The series of `labels`, made on first use. */
  of(labels: Labels): Series {
    const names = this.#labelNames;
    let level = this.#root;
    for (let index = 0; index < names.length - 1; index++) {
      const value = labels[names[index] as string] ?? '';
      let next = level.get(value) as Map<string, unknown> | undefined;
      if (next === undefined) {
        next = new Map();
        level.set(value, next);
      }
      level = next;
    }
    const last = names.length === 0 ? '' : (labels[names[names.length - 1] as string] ?? '');
    let series = level.get(last) as Series | undefined;
    if (series === undefined) {
      series = this.#create(ordered(names, labels));
      level.set(last, series);
      this.all.push(series);
    }
    return series;
  }
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
