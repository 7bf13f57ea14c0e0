import type { FullResult, Reporter, TestCase, TestResult } from "@playwright/test/reporter";

/** Ends the run with a plain "N passed, N failed" line that CI can read. */
export default class SummaryReporter implements Reporter {
  private passed = 0;
  private failed = 0;
  private skipped = 0;

  onTestEnd(test: TestCase, result: TestResult): void {
    if (result.retry < test.retries && result.status !== "passed") return;
    if (result.status === "passed") this.passed++;
    else if (result.status === "skipped") this.skipped++;
    else this.failed++;
  }

  onEnd(result: FullResult): void {
    if (result.status !== "passed" && this.failed === 0) this.failed = 1; // e.g. the server did not start
    const skipped = this.skipped ? `, ${this.skipped} skipped` : "";
    console.log(`\n${this.passed} passed, ${this.failed} failed${skipped}`);
  }

  printsToStdio(): boolean {
    return false;
  }
}
