// Prints one plain closing line ("N passed, N failed, N skipped") after vitest's own summary, so CI logs state the
// count in a runner-neutral form and skipped suites (a missing component) are visible at a glance.
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>) {
    let passed = 0, failed = 0, skipped = 0;
    for (const m of modules)
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
      }
    // a file that failed to load, or whose hooks failed while its tests were skipped, is a failure too
    for (const m of modules) if (m.state() === 'failed' && ![...m.children.allTests()].some((t) => t.result().state === 'failed')) failed++;
    console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
  }
}
