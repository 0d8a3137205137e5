/**
 * Fault injection for crash tests: `ATELIER_FAULT=<point>` kills the process (SIGKILL, no
 * cleanup) when it reaches `faultPoint('<point>')`. Unset, a fault point costs one comparison.
 */
export function faultPoint(name: string): void {
  if (process.env.ATELIER_FAULT === name) process.kill(process.pid, 'SIGKILL');
}
