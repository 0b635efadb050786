// serve's /metrics text comes from a writer of its own (src/gateway/prometheus-text.ts), in place
// of prom-client (issue 19: 3.2 MB every install carried). prom-client stays a dev dependency as
// the reference: for the same observations, both write the same text.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { createMetricsRegistry, PROMETHEUS_CONTENT_TYPE } from '../src/gateway/prometheus-text.js';

describe('the Prometheus text writer', () => {
  it('writes what prom-client writes: counters with and without labels, gauges, histograms, escapes', async () => {
    const reference = new Registry();
    const registers = [reference];
    const ours = createMetricsRegistry();
    const help = 'Help with a \\ backslash\nand a second line';
    const buckets = [0.001, 0.01, 0.1, 1, 2.5];

    const refCounter = new Counter({ name: 'a_total', help, labelNames: ['upstream', 'status'], registers });
    const ourCounter = ours.counter({ name: 'a_total', help, labelNames: ['upstream', 'status'] });
    const refPlain = new Counter({ name: 'b_total', help: 'never incremented', registers });
    ours.counter({ name: 'b_total', help: 'never incremented' });
    const refUnused = new Counter({ name: 'c_total', help: 'labelled, never incremented', labelNames: ['reason'], registers });
    ours.counter({ name: 'c_total', help: 'labelled, never incremented', labelNames: ['reason'] });
    const refGauge = new Gauge({ name: 'd_open', help: 'a gauge', registers });
    const ourGauge = ours.gauge({ name: 'd_open', help: 'a gauge' });
    let collected = 7;
    new Gauge({
      name: 'e_open',
      help: 'a collected gauge',
      registers,
      collect() {
        this.set(collected);
      },
    });
    ours.gauge({ name: 'e_open', help: 'a collected gauge', collect: () => collected });
    const refHistogram = new Histogram({ name: 'f_seconds', help: 'a histogram', labelNames: ['upstream', 'method'], buckets, registers });
    const ourHistogram = ours.histogram({ name: 'f_seconds', help: 'a histogram', labelNames: ['upstream', 'method'], buckets });

    for (const [labels, by] of [
      [{ upstream: 'one', status: '200' }, 1],
      [{ upstream: 'one', status: '200' }, 2],
      [{ upstream: 'we"ird\\na\nme', status: '502' }, 1],
    ] as const) {
      refCounter.inc(labels, by);
      ourCounter.inc(labels, by);
    }
    for (const [labels, value] of [
      [{ upstream: 'one', method: 'POST' }, 0.001],
      [{ upstream: 'one', method: 'POST' }, 0.05],
      [{ upstream: 'one', method: 'POST' }, 3],
      [{ upstream: 'two', method: 'DELETE' }, 0.0003],
      [{ upstream: 'one', method: 'POST' }, 0.1 + 0.2],
    ] as const) {
      refHistogram.observe(labels, value);
      ourHistogram.observe(labels, value);
    }
    refGauge.inc(3);
    ourGauge.inc(3);
    refGauge.inc(-1);
    ourGauge.inc(-1);
    collected = 11;
    void refPlain;
    void refUnused;

    assert.equal(ours.render(), await reference.metrics());
    assert.equal(PROMETHEUS_CONTENT_TYPE, reference.contentType);
  });
});
