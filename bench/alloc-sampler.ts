// Loaded into a hop's process by `profile.js --alloc` (node --import): V8's sampling heap profiler,
// counting what is collected too (allocation, not what stays live), started and stopped by SIGUSR2
// so that only the measured calls are counted. The profile goes to $LIFELINE_ALLOC_PROFILE.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const out = process.env['LIFELINE_ALLOC_PROFILE'];
if (out !== undefined) {
  const session = new Session();
  session.connect();
  let sampling = false;
  process.on('SIGUSR2', () => {
    if (!sampling) {
      sampling = true;
      session.post('HeapProfiler.startSampling', {
        samplingInterval: 512,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      });
      return;
    }
    sampling = false;
    session.post('HeapProfiler.stopSampling', (error, result) => {
      if (error === null) writeFileSync(out, JSON.stringify(result.profile));
    });
  });
}
